/*
 * json_out.c — see json_out.h.
 */
#include "core/json_out.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void cl_json_add_fields(cJSON *o, const void *base, const cl_json_field *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const cl_json_field *f = &fields[i];
        const char *p = (const char *)base + f->offset;
        switch (f->kind) {
        case CL_JF_CHARS:
            cJSON_AddStringToObject(o, f->name, p);
            break;
        case CL_JF_CSTR: {
            const char *s = *(const char *const *)(const void *)p;
            if (s)
                cJSON_AddStringToObject(o, f->name, s);
            else
                cJSON_AddNullToObject(o, f->name);
            break;
        }
        case CL_JF_INT:
            cJSON_AddNumberToObject(o, f->name, *(const int *)(const void *)p);
            break;
        case CL_JF_I64:
            cJSON_AddNumberToObject(o, f->name, (double)*(const int64_t *)(const void *)p);
            break;
        case CL_JF_BOOL:
            cJSON_AddBoolToObject(o, f->name, *(const int *)(const void *)p);
            break;
        }
    }
}

int cl_buf_put_json(cl_buf *b, cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    int rc = s ? cl_buf_puts(b, s) : -1;
    free(s);
    return rc;
}

int cl_json_print(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!s)
        return 1;
    printf("%s\n", s);
    free(s);
    return 0;
}
