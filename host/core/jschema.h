/*
 * jschema.h — validation of JSON values against the schema files in
 * sdk/schemas/ (a subset of JSON Schema 2020-12), so that what the SDK
 * documents for plugin authors and what the host checks are one source.
 *
 * Keywords understood: type (a name or a list), required, properties,
 * additionalProperties (a schema or a boolean), items, minItems, maxItems,
 * minLength, maxLength (in characters), minimum, maximum, enum (strings,
 * numbers), allOf, and $ref to another file of the same directory
 * ("promo_draft.schema.json"). Other keywords (title, description, $schema)
 * are ignored.
 */
#ifndef CL_CORE_JSCHEMA_H
#define CL_CORE_JSCHEMA_H

#include <cjson/cJSON.h>
#include <stddef.h>

/**
 * Check instance against <CLIPLOOP_SCHEMA_DIR>/<name>.schema.json.
 * Returns 0 when it conforms; 1 when it does not, with why naming the place
 * and the rule ("posts[2].script: at most 12 items, has 14"); -1 when the
 * schema cannot be read (why says which file). Schemas are read once and
 * kept for the life of the process; thread-safe.
 */
int cl_jschema_check(const char *name, const cJSON *instance, char *why, size_t whylen);

/** 1 when <CLIPLOOP_SCHEMA_DIR>/<name>.schema.json exists (the purpose has a schema). */
int cl_jschema_exists(const char *name);

/** Tests only: forget the schemas read so far. */
void cl_jschema_reset_for_tests(void);

#endif
