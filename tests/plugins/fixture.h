/*
 * fixture.h — shared bits of the loader's test-only plugins. Each fixture is
 * one small .so that exercises one acceptance or refusal rule of the loader
 * (host/plugins/loader.c); tests/unit/test_plugins.c asserts the outcome.
 */
#ifndef CL_TEST_FIXTURE_H
#define CL_TEST_FIXTURE_H

#include "cliploop_plugin.h"
#include <stdio.h>
#include <string.h>

/** An llm_provider callback that appends "ok". */
static inline int fixture_complete(void *self, cl_call *call, const cl_llm_request *req,
                                   cl_output *out, cl_llm_usage *usage, cl_error *err)
{
    (void)self; (void)call; (void)req; (void)out; (void)usage; (void)err;
    return CL_OK;
}

/** A manifest-only plugin whose init registers nothing and succeeds. */
static inline int fixture_init_ok(const cl_host_api *api, cl_plugin_ctx *ctx, cl_error *err)
{
    (void)api; (void)ctx; (void)err;
    return CL_OK;
}

#endif
