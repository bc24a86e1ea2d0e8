/*
 * builtin.c — diagnostic job kinds every worker runs. They exercise the
 * queue end to end (tests, smoke checks after a deploy) without touching a
 * plugin:
 *
 *   system.echo   result = the payload
 *   system.sleep  {"ms":N,"fail_attempts":K}: fails retryably while the
 *                 attempt number is <= K, otherwise sleeps N ms in short
 *                 slices (reporting progress, stopping when cancelled) and
 *                 returns {"slept_ms":N,"attempt":A}
 */
#include "jobs/jobs.h"
#include "core/json_out.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

static int echo_handler(const cl_job *job, cl_call *call, cl_buf *result, char *err, size_t errlen)
{
    if (cl_buf_puts(result, job->payload)) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    return 0;
}

/* Read an optional non-negative integer field; -1 when present but invalid. */
static int64_t int_field(const cJSON *obj, const char *name, int64_t def, int64_t max)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v)
        return def;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > (double)max ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return -1;
    return (int64_t)v->valuedouble;
}

#define SLEEP_SLICE_MS 50

static int sleep_handler(const cl_job *job, cl_call *call, cl_buf *result, char *err, size_t errlen)
{
    cJSON *p = cJSON_Parse(job->payload);
    int64_t ms = p ? int_field(p, "ms", 0, 86400000) : -1;
    int64_t fail_attempts = p ? int_field(p, "fail_attempts", 0, 1000) : -1;
    cJSON_Delete(p);
    if (ms < 0 || fail_attempts < 0) {
        snprintf(err, errlen,
                 "system.sleep payload must be an object with integer fields ms (0..86400000) and "
                 "fail_attempts (0..1000)");
        return -1;
    }
    if (job->attempt <= fail_attempts) {
        snprintf(err, errlen, "simulated failure on attempt %d (fail_attempts=%" PRId64 ")",
                 job->attempt, fail_attempts);
        return 1;
    }
    int64_t slept = 0;
    cl_job_report_progress(call, 0, ms);
    while (slept < ms) {
        if (atomic_load(&call->cancelled)) {
            snprintf(err, errlen, "cancelled after %" PRId64 " of %" PRId64 " ms", slept, ms);
            return 1;
        }
        int64_t slice = ms - slept < SLEEP_SLICE_MS ? ms - slept : SLEEP_SLICE_MS;
        struct timespec ts = {slice / 1000, (long)(slice % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0) {
        }
        slept += slice;
        cl_job_report_progress(call, slept, ms);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "slept_ms", (double)ms);
    cJSON_AddNumberToObject(o, "attempt", job->attempt);
    if (cl_buf_put_json(result, o) != 0) {
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    return 0;
}

int cl_jobs_register_builtin(void)
{
    if (cl_job_register("system.echo", echo_handler) || cl_job_register("system.sleep", sleep_handler))
        return -1;
    return 0;
}
