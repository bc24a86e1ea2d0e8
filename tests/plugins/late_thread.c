/* Starts a thread in init that registers a capability after init returned
 * (init does not wait for it): the host refuses the registration and lists it
 * under this plugin. Registers nothing itself. */
#include "fixture.h"

#include <pthread.h>
#include <time.h>

static const cl_host_api *api;
static cl_plugin_ctx *saved;

static void *register_later(void *arg)
{
    (void)arg;
    nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    cl_llm_provider p = {.base = {.kind = CL_CAP_LLM_PROVIDER, .id = "too_late"}, .complete = fixture_complete};
    CL_REGISTER(api, saved, &p);
    return NULL;
}

static int init(const cl_host_api *host, cl_plugin_ctx *ctx, cl_error *err)
{
    (void)err;
    api = host;
    saved = ctx;
    pthread_t t;
    if (pthread_create(&t, NULL, register_later, NULL) == 0)
        pthread_detach(t);
    return CL_OK;
}

static const cl_plugin_manifest manifest = CL_MANIFEST_INIT("late_thread", "1", NULL, init);
CL_PLUGIN_DEFINE(manifest)
