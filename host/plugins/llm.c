/*
 * llm.c — cl_llm_complete: provider lookup, the call wrapper and the
 * empty-answer rule in one place (see llm.h).
 */
#include "plugins/llm.h"

#include "core/buf.h"
#include "core/config.h"
#include "plugins/call.h"
#include "plugins/registry.h"

#include <stdlib.h>

int cl_llm_complete(cl_call *call, const char *provider_id, const cl_llm_request *req, char **answer,
                    size_t *len, cl_llm_usage *usage, cl_error *err)
{
    *answer = NULL;
    if (len)
        *len = 0;
    const char *id = provider_id && provider_id[0] ? provider_id : cl_cfg.llm_provider;
    const cl_llm_provider *p = (const cl_llm_provider *)cl_plugins_find(CL_CAP_LLM_PROVIDER, id);
    if (!p)
        return cl_error_set(err, CL_EUNSUPPORTED, "LLM_PROVIDER=%s is not a loaded llm_provider plugin",
                            id[0] ? id : "(unset)");
    cl_call local;
    if (!call) /* the HTTP request's call on a provider route: the client may go away */
        call = cl_call_current();
    if (!call) {
        cl_call_init(&local, NULL, NULL);
        call = &local;
    }
    if (usage)
        *usage = (cl_llm_usage){.size = sizeof *usage};
    cl_output out = {CL_BUF_INIT, 0};
    int rc = CL_CAP_CALL(p, err, complete, call, req, &out, usage, err);
    if (rc == CL_OK && !out.buf.len)
        rc = cl_error_set(err, CL_EMALFORMED, "%s: the model returned an empty answer", p->base.id);
    if (rc != CL_OK) {
        cl_buf_free(&out.buf);
        return rc;
    }
    if (len)
        *len = out.buf.len;
    *answer = cl_buf_steal(&out.buf);
    return CL_OK;
}
