/*
 * json_out.h — JSON written with cJSON, never by hand: a struct's fields into
 * an object from a table (a record → JSON writer is a list of
 * {name, kind, offset} instead of one cJSON_Add… call a field), and a cJSON
 * value appended to a buffer (job results) or printed as a line (commands).
 *
 *   static const cl_json_field fields[] = {CL_JSON_I64(cl_media_item, id), CL_JSON_CHARS(cl_media_item,
 * kind)}; cl_json_add_fields(o, item, fields, CL_JSON_NFIELDS(fields));
 *
 * Ownership: cl_json_add_fields allocates only the items it adds to o (o
 * owns them); cl_buf_put_json and cl_json_print take o and delete it.
 */
#ifndef CL_CORE_JSON_OUT_H
#define CL_CORE_JSON_OUT_H

#include "core/buf.h"

#include <cjson/cJSON.h>
#include <stddef.h>

typedef enum cl_json_kind {
    CL_JF_CHARS, /**< char name[N]: a string */
    CL_JF_CSTR,  /**< const char *name: a string, null when NULL */
    CL_JF_INT,   /**< int: a number */
    CL_JF_I64,   /**< int64_t: a number */
    CL_JF_BOOL,  /**< int: true when non-zero */
} cl_json_kind;

typedef struct cl_json_field {
    const char *name; /**< the JSON key */
    cl_json_kind kind;
    size_t offset; /**< offsetof the member */
} cl_json_field;

/** A field whose JSON key is the member's name, one macro a kind. */
// clang-format off
#define CL_JSON_FIELD(type, member, kind) {#member, kind, offsetof(type, member)}
// clang-format on
#define CL_JSON_CHARS(type, member) CL_JSON_FIELD(type, member, CL_JF_CHARS)
#define CL_JSON_CSTR(type, member) CL_JSON_FIELD(type, member, CL_JF_CSTR)
#define CL_JSON_INT(type, member) CL_JSON_FIELD(type, member, CL_JF_INT)
#define CL_JSON_I64(type, member) CL_JSON_FIELD(type, member, CL_JF_I64)
#define CL_JSON_BOOL(type, member) CL_JSON_FIELD(type, member, CL_JF_BOOL)
#define CL_JSON_NFIELDS(table) (sizeof(table) / sizeof *(table))

/** Add the n fields of the struct at base to o, in table order. */
void cl_json_add_fields(cJSON *o, const void *base, const cl_json_field *fields, size_t n);

/** Append o, printed compactly, to b and delete o. 0, or -1 when out of memory (o NULL counts). */
int cl_buf_put_json(cl_buf *b, cJSON *o);
/** Print o compactly as one line on stdout and delete o (a command's output). 0, or 1 when out of memory. */
int cl_json_print(cJSON *o);

#endif
