/*
 * profile.h — the project's structured business profile: which fields exist,
 * how each is validated and normalized, and the columns they map to. Pure
 * (no database), so the routes validate a whole request before writing
 * anything: bad input is a 422 naming every bad field, never a partial write.
 */
#ifndef CL_PROJECTS_PROFILE_H
#define CL_PROJECTS_PROFILE_H

#include <cjson/cJSON.h>
#include <stddef.h>

/** Which request is being validated. */
typedef enum cl_profile_mode {
    CL_PROFILE_CREATE = 1, /**< POST: name and project_type required; status not accepted */
    CL_PROFILE_UPDATE = 2, /**< PATCH: any subset; status accepted */
} cl_profile_mode;

#define CL_PROFILE_MAX_FIELDS 24

/**
 * A validated, normalized set of column assignments. names are static
 * column names from the field table (never from input); values are malloc'd
 * text in the form Postgres takes as a parameter (NULL means SQL NULL;
 * preferred_channels is an array literal such as "{instagram,whatsapp}").
 * Free with cl_profile_update_free.
 */
typedef struct cl_profile_update {
    size_t n;
    const char *names[CL_PROFILE_MAX_FIELDS];
    char *values[CL_PROFILE_MAX_FIELDS];
    int is_array[CL_PROFILE_MAX_FIELDS]; /**< 1 when the column is text[] */
} cl_profile_update;

/**
 * Validate a request body (a JSON object) for mode. On success returns 0
 * with *out filled. On a validation failure returns 1 and adds one message
 * per bad field to errors (a JSON object the caller owns: {"field":"message"});
 * nothing in *out needs freeing then beyond cl_profile_update_free, which is
 * always safe to call. Returns -1 when out of memory.
 */
int cl_profile_validate(const cJSON *body, cl_profile_mode mode, cl_profile_update *out,
                        cJSON *errors);

/** Free the values (safe on a zeroed or already freed update). */
void cl_profile_update_free(cl_profile_update *u);

/** The value assigned to column name in u: 1 found (*value may be NULL = SQL NULL), 0 not present. */
int cl_profile_update_get(const cl_profile_update *u, const char *name, const char **value);

/**
 * Check the fields onboarding needs before it can be marked done, against
 * the project as it will be after the update (merged: the project's current
 * JSON with u applied). Adds "Required to finish onboarding" style messages
 * to errors. Returns the number of missing fields.
 */
int cl_profile_check_complete(const cJSON *current, const cl_profile_update *u, cJSON *errors);

/**
 * Validate and normalize a website address (the website_url rule, also used
 * for the ingest request's "url"): trims, adds "https://" when no scheme is
 * given, requires http/https, a host, no credentials, no spaces, at most 2048
 * bytes. Returns 0 with a malloc'd URL in *out (caller frees), or 1 with a
 * static message in *msg.
 */
int cl_profile_normalize_url(const char *in, char **out, const char **msg);

#endif
