/* A good plugin with two capabilities:
 *   llm_provider "echo": appends "echo|<prompt>|<GOOD_GREETING>|<temp_dir>";
 *     the prompt "fail-silently" returns CL_EUPSTREAM without filling err;
 *     the prompt "config" appends "int=<GOOD_NUMBER, default 7>|bool=<GOOD_FLAG,
 *     default 1>"; the prompt "empty" answers nothing; the prompt "sleep" waits 10 s with the host's sleep() and
 *     returns what it returned (CL_ECANCELLED when the call is cancelled)
 *   renderer "noop" (serialized): reports progress 1/2 and 2/2, honours cancel,
 *     and checks that `self` comes back as registered. With work_dir
 *     "overlap-probe" it stays inside the call for 20 ms and fails with
 *     CL_EIO if another call of it is running at the same time.
 * It is written with the SDK's shorthand (CL_PLUGIN, clp_*); the other
 * fixtures keep their own api/ctx, the long way.
 */
#include "fixture.h"

#include <stdatomic.h>
#include <time.h>

static atomic_int inside;

static const char noop_self[] = "noop-self";

static int echo(void *self, cl_call *call, const cl_llm_request *req, cl_output *out,
                cl_llm_usage *usage, cl_error *err)
{
    (void)self; (void)call; (void)err;
    if (req->prompt && strcmp(req->prompt, "fail-silently") == 0)
        return CL_EUPSTREAM; /* err left empty: the host's wrapper names the failure */
    char line[2048];
    int n;
    if (req->prompt && strcmp(req->prompt, "empty") == 0)
        return CL_OK; /* answers nothing: cl_llm_complete makes that CL_EMALFORMED */
    if (req->prompt && strcmp(req->prompt, "sleep") == 0)
        return clp_sleep(call, 10000);
    if (req->prompt && strcmp(req->prompt, "config") == 0) {
        n = snprintf(line, sizeof line, "int=%lld|bool=%d", (long long)clp_config_int("NUMBER", 7),
                     clp_config_bool("FLAG", 1));
        return clp_output_append(out, line, (size_t)n);
    }
    const char *greeting = clp_config("GREETING");
    const char *tmp = clp_temp_dir();
    n = snprintf(line, sizeof line, "echo|%s|%s|%s", req->prompt ? req->prompt : "",
                     greeting ? greeting : "(null)", tmp ? tmp : "(null)");
    if (usage)
        snprintf(usage->model, sizeof usage->model, "echo-1");
    return clp_output_append(out, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static int noop_render(void *self, cl_call *call, const cl_render_request *req, cl_error *err)
{
    if (self != noop_self)
        return cl_error_set(err, CL_EINVAL, "self was not handed back");
    if (req->work_dir && strcmp(req->work_dir, "overlap-probe") == 0) {
        int was = atomic_fetch_add(&inside, 1);
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
        atomic_fetch_sub(&inside, 1);
        return was ? cl_error_set(err, CL_EIO, "called concurrently") : CL_OK;
    }
    clp_progress(call, 1, 2);
    if (clp_cancelled(call))
        return cl_error_set(err, CL_ECANCELLED, "cancelled");
    clp_progress(call, 2, 2);
    return CL_OK;
}

static int setup(cl_error *err)
{
    (void)err;
    cl_llm_provider llm = {.base = {.kind = CL_CAP_LLM_PROVIDER, .id = "echo",
                                    .description = "Echoes the prompt"},
                           .complete = echo};
    cl_renderer r = {.base = {.kind = CL_CAP_RENDERER, .id = "noop", .description = "Renders nothing",
                              .flags = CL_CAP_SERIALIZED, .self = (void *)noop_self},
                     .render = noop_render};
    int rc = clp_register(&llm);
    if (rc == CL_OK)
        rc = clp_register(&r);
    return rc;
}

CL_PLUGIN("good", "1.2.3", "GOOD", setup)
