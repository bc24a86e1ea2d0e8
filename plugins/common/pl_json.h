/*
 * pl_json.h — header-only helpers shared by the in-tree plugins that link
 * cJSON (a plugin's own private copy; cJSON never crosses the boundary).
 * Not part of the SDK: a third-party plugin needs only sdk/.
 */
#ifndef CL_PLUGINS_PL_JSON_H
#define CL_PLUGINS_PL_JSON_H

#include "cliploop_plugin.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

/**
 * Print o (consumed: deleted here) and append the text to the host's out.
 * CL_OK, or CL_ENOMEM with err filled.
 */
static inline int pl_out_json(cl_output *out, cl_error *err, cJSON *o)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    int rc = text ? clp_output_puts(out, text) : CL_ENOMEM;
    free(text);
    return rc == CL_OK ? CL_OK : cl_error_set(err, CL_ENOMEM, "out of memory");
}

/** A new object {key: value} (string value). */
static inline cJSON *pl_obj1(const char *key, const char *value)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, key, value);
    return o;
}

#endif
