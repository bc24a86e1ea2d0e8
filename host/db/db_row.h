/*
 * db_row.h — a result row read from a table of columns instead of one
 * PQgetvalue call (and one NULL check or copy) a column: into a cJSON object
 * (cl_db_row_add_json, rows → JSON replies) or into a struct (cl_db_row_read,
 * rows → records).
 *
 *   static const cl_db_json_col cols[] = {
 *       {"id", 0, CL_COL_NUM}, {"title", 1, CL_COL_STR_OR_NULL},
 *   };
 *   cl_db_row_add_json(o, r, row, cols, CL_DB_NCOLS(cols));
 *
 *   static const cl_db_row_field fields[] = {CL_ROW_I64(cl_cycle, id, 0), CL_ROW_CHARS(cl_cycle, status, 5)};
 *   cl_db_row_read(r, 0, &cycle, fields, CL_DB_NCOLS(fields));
 *
 * Ownership: r stays the caller's. cl_db_row_add_json allocates only the
 * cJSON items it adds to o (o owns them); cl_db_row_read's CL_ROW_STRDUP
 * members are malloc'd copies the struct's owner frees.
 */
#ifndef CL_DB_DB_ROW_H
#define CL_DB_DB_ROW_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stddef.h>

typedef enum cl_db_col_kind {
    CL_COL_NUM,          /**< a number (SQL NULL reads as 0) */
    CL_COL_NUM_OR_NULL,  /**< a number, null for SQL NULL */
    CL_COL_STR,          /**< the text (SQL NULL reads as "") */
    CL_COL_STR_OR_NULL,  /**< the text, null for SQL NULL */
    CL_COL_JSON_OR_NULL, /**< the parsed JSON text, null for SQL NULL or text that does not parse */
} cl_db_col_kind;

typedef struct cl_db_json_col {
    const char *key; /**< the JSON key */
    int col;         /**< the result column */
    cl_db_col_kind kind;
} cl_db_json_col;

#define CL_DB_NCOLS(table) (sizeof(table) / sizeof *(table))

/** Add the n columns of r's row to o, in table order. */
void cl_db_row_add_json(cJSON *o, const PGresult *r, int row, const cl_db_json_col *cols, size_t n);
/**
 * Add key to o: null when column null_col of r's row is SQL NULL, else an
 * object of the n columns. Returns that object (o owns it), NULL for null.
 */
cJSON *cl_db_row_add_object(cJSON *o, const char *key, const PGresult *r, int row, int null_col,
                            const cl_db_json_col *cols, size_t n);

typedef enum cl_db_row_kind {
    CL_DB_ROW_I64,    /**< int64_t member (strtoll) */
    CL_DB_ROW_INT,    /**< int member (atoi) */
    CL_DB_ROW_CHARS,  /**< char member[N]: the text, cut to N-1 bytes */
    CL_DB_ROW_STRDUP, /**< char *member: a malloc'd copy of the text */
} cl_db_row_kind;

typedef struct cl_db_row_field {
    int col; /**< the result column */
    cl_db_row_kind kind;
    size_t offset; /**< offsetof the member */
    size_t size;   /**< sizeof the member */
} cl_db_row_field;

/** The member from column col, one macro a kind. */
// clang-format off
#define CL_DB_ROW_FIELD(type, member, col, kind) {col, kind, offsetof(type, member), sizeof(((type *)0)->member)}
// clang-format on
#define CL_ROW_I64(type, member, col) CL_DB_ROW_FIELD(type, member, col, CL_DB_ROW_I64)
#define CL_ROW_INT(type, member, col) CL_DB_ROW_FIELD(type, member, col, CL_DB_ROW_INT)
#define CL_ROW_CHARS(type, member, col) CL_DB_ROW_FIELD(type, member, col, CL_DB_ROW_CHARS)
#define CL_ROW_STRDUP(type, member, col) CL_DB_ROW_FIELD(type, member, col, CL_DB_ROW_STRDUP)

/** Copy the n columns of r's row into the struct at base. 0, or -1 when a copy ran out of memory. */
int cl_db_row_read(const PGresult *r, int row, void *base, const cl_db_row_field *fields, size_t n);

#endif
