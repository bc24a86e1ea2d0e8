/*
 * db_row.c — see db_row.h.
 */
#include "db/db_row.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cl_db_row_add_json(cJSON *o, const PGresult *r, int row, const cl_db_json_col *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const cl_db_json_col *c = &cols[i];
        const char *v = PQgetvalue(r, row, c->col);
        int null = PQgetisnull(r, row, c->col);
        switch (c->kind) {
        case CL_COL_NUM_OR_NULL:
        case CL_COL_STR_OR_NULL:
            if (null) {
                cJSON_AddNullToObject(o, c->key);
                break;
            }
            if (c->kind == CL_COL_STR_OR_NULL)
                cJSON_AddStringToObject(o, c->key, v);
            else
                cJSON_AddNumberToObject(o, c->key, strtod(v, NULL));
            break;
        case CL_COL_NUM:
            cJSON_AddNumberToObject(o, c->key, strtod(v, NULL));
            break;
        case CL_COL_STR:
            cJSON_AddStringToObject(o, c->key, v);
            break;
        case CL_COL_JSON_OR_NULL: {
            cJSON *j = null ? NULL : cJSON_Parse(v);
            cJSON_AddItemToObject(o, c->key, j ? j : cJSON_CreateNull());
            break;
        }
        }
    }
}

cJSON *cl_db_row_add_object(cJSON *o, const char *key, const PGresult *r, int row, int null_col,
                            const cl_db_json_col *cols, size_t n)
{
    if (PQgetisnull(r, row, null_col)) {
        cJSON_AddNullToObject(o, key);
        return NULL;
    }
    cJSON *v = cJSON_AddObjectToObject(o, key);
    if (v)
        cl_db_row_add_json(v, r, row, cols, n);
    return v;
}

int cl_db_row_read(const PGresult *r, int row, void *base, const cl_db_row_field *fields, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const cl_db_row_field *f = &fields[i];
        const char *v = PQgetvalue(r, row, f->col);
        void *m = (char *)base + f->offset;
        switch (f->kind) {
        case CL_DB_ROW_I64:
            *(int64_t *)m = strtoll(v, NULL, 10);
            break;
        case CL_DB_ROW_INT:
            *(int *)m = atoi(v);
            break;
        case CL_DB_ROW_CHARS:
            snprintf(m, f->size, "%s", v);
            break;
        case CL_DB_ROW_STRDUP:
            if (!(*(char **)m = strdup(v)))
                rc = -1;
            break;
        }
    }
    return rc;
}
