/*
 * publish_mock.c — publisher "mock": an offline stand-in for a social
 * platform, used when MOCK_MODE=true and a project has no connected channel.
 * Registered with CL_CAP_MOCK, so a host with MOCK_MODE=false refuses it.
 *
 * It behaves like the container model of the real platform: create a
 * container (an id), report its status (IN_PROGRESS for PROCESSING_POLLS
 * polls, then FINISHED; PUBLISHED once published), publish it (a media id),
 * and give a permalink. State lives in files under the plugin's temp
 * directory (<storage>/tmp/publish_mock/), one per container, so it survives
 * a worker restart: a container that was published reports PUBLISHED, and
 * publishing it again returns the same media id instead of a second post.
 *
 * Test settings (section PUBLISH_MOCK, read on every call):
 *   PUBLISH_MOCK_FAIL=transient|rate_limit|permanent|auth|quota|container_error
 *       transient: CL_EUPSTREAM (HTTP 503); rate_limit: CL_ERATELIMIT with
 *       retry_after_ms 1000; permanent: CL_EINVAL with a platform-style
 *       message; auth: CL_EAUTH; quota: the quota call reports the limit
 *       reached; container_error: the container ends ERROR.
 *   PUBLISH_MOCK_FAIL_COUNT=N   only the first N calls of this process fail
 *       (0 or unset: every call)
 *   PUBLISH_MOCK_PROCESSING_POLLS=N   status polls that answer IN_PROGRESS (default 1)
 */
#include "cliploop_plugin.h"
#include "pl_json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_int failures_done;

/* The mock account's publishing quota: 25 posts a day, like Instagram's. */
#define MOCK_QUOTA_LIMIT 25
#define MOCK_QUOTA_WINDOW_S 86400

/* A rate limit says "retry in a second", like the platform. */
#define fail(err, code, http, ...) cl_error_set_http((err), (code), (http), (code) == CL_ERATELIMIT ? 1000 : 0, __VA_ARGS__)

/* The configured failure if it applies to this call (`step`), else NULL. */
static const char *injected(const char *step)
{
    const char *mode = clp_config("FAIL");
    if (!mode || !*mode)
        return NULL;
    int quota_mode = strcmp(mode, "quota") == 0, cerr = strcmp(mode, "container_error") == 0;
    if (quota_mode != (strcmp(step, "quota") == 0) || cerr != (strcmp(step, "status") == 0))
        return NULL;
    int limit = (int)clp_config_int("FAIL_COUNT", 0);
    if (limit > 0 && atomic_fetch_add(&failures_done, 1) >= limit)
        return NULL;
    return mode;
}

static int injected_error(const char *mode, cl_error *err)
{
    if (strcmp(mode, "transient") == 0)
        return fail(err, CL_EUPSTREAM, 503, "mock platform: temporarily unavailable (503)");
    if (strcmp(mode, "rate_limit") == 0)
        return fail(err, CL_ERATELIMIT, 429, "mock platform: application request limit reached");
    if (strcmp(mode, "auth") == 0)
        return fail(err, CL_EAUTH, 400, "mock platform: the access token has been revoked");
    return fail(err, CL_EINVAL, 400, "mock platform: the video was rejected (format not supported)");
}

static int valid_id(const char *id)
{
    if (!id || strncmp(id, "mockc_", 6) != 0 || strlen(id) > 64)
        return 0;
    for (const char *p = id + 6; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

/* The container's state file: "<polls> <media id or ->". */
static int state_path(const char *id, char *out, size_t len)
{
    const char *dir = clp_temp_dir();
    return dir && snprintf(out, len, "%s/%s", dir, id) < (int)len ? 0 : -1;
}

static int read_state(const char *id, int *polls, char *media, size_t mlen)
{
    char path[1024];
    if (state_path(id, path, sizeof path) != 0)
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char m[80] = "";
    int ok = fscanf(f, "%d %79s", polls, m) == 2;
    fclose(f);
    snprintf(media, mlen, "%s", strcmp(m, "-") == 0 ? "" : m);
    return ok ? 0 : -1;
}

/* Write through a temporary file and rename, so a crash never leaves half a state. */
static int write_state(const char *id, int polls, const char *media)
{
    char path[1024], tmp[1100];
    if (state_path(id, path, sizeof path) != 0)
        return -1;
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int ok = fprintf(f, "%d %s\n", polls, media && *media ? media : "-") > 0;
    ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    fclose(f);
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int random_hex(char *out, size_t nbytes)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    unsigned char b[32];
    if (fd < 0 || nbytes > sizeof b || read(fd, b, nbytes) != (ssize_t)nbytes) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    for (size_t i = 0; i < nbytes; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

/* ---- connection -------------------------------------------------------------- */

static int mock_authorize_url(void *self, const char *state, cl_output *out, cl_error *err)
{
    return fail(err, CL_EUNSUPPORTED, 0, "the mock platform has no accounts to connect");
}

/* ---- steps ------------------------------------------------------------------------ */

static int mock_quota(void *self, cl_call *call, const cl_publish_request *req, cl_output *out, cl_error *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "used", injected("quota") ? MOCK_QUOTA_LIMIT : 0);
    cJSON_AddNumberToObject(o, "limit", MOCK_QUOTA_LIMIT);
    cJSON_AddNumberToObject(o, "window_seconds", MOCK_QUOTA_WINDOW_S);
    return pl_out_json(out, err, o);
}

static int mock_create(void *self, cl_call *call, const cl_publish_request *req, cl_output *out, cl_error *err)
{
    const char *mode = injected("create");
    if (mode)
        return injected_error(mode, err);
    if (!req->caption || strlen(req->caption) > 2200)
        return fail(err, CL_EINVAL, 400, "mock platform: the caption is missing or longer than 2,200 characters");
    if (!req->video_path || access(req->video_path, R_OK) != 0)
        return fail(err, CL_EINVAL, 400, "mock platform: the video file could not be read");
    char id[64] = "mockc_";
    if (random_hex(id + 6, 12) != 0 || write_state(id, 0, NULL) != 0)
        return fail(err, CL_EIO, 0, "mock platform: cannot store the container (%s)", strerror(errno));
    return pl_out_json(out, err, pl_obj1("container_id", id));
}

static int mock_status(void *self, cl_call *call, const cl_publish_request *req, const char *cid, cl_output *out,
                       cl_error *err)
{
    int polls = 0;
    char media[80];
    if (!valid_id(cid) || read_state(cid, &polls, media, sizeof media) != 0)
        return fail(err, CL_EINVAL, 400, "mock platform: unknown container %s", valid_id(cid) ? cid : "?");
    if (media[0])
        return pl_out_json(out, err, pl_obj1("status", CL_CONTAINER_PUBLISHED));
    if (injected("status"))
    {
        cJSON *o = pl_obj1("status", CL_CONTAINER_ERROR);
        cJSON_AddStringToObject(o, "message", "Media upload has failed with error code 2207085");
        return pl_out_json(out, err, o);
    }
    int need = (int)clp_config_int("PROCESSING_POLLS", 1);
    if (polls < need) {
        write_state(cid, polls + 1, NULL);
        return pl_out_json(out, err, pl_obj1("status", CL_CONTAINER_IN_PROGRESS));
    }
    return pl_out_json(out, err, pl_obj1("status", CL_CONTAINER_FINISHED));
}

static int mock_publish(void *self, cl_call *call, const cl_publish_request *req, const char *cid, cl_output *out,
                        cl_error *err)
{
    const char *mode = injected("publish");
    if (mode)
        return injected_error(mode, err);
    int polls = 0;
    char media[80];
    if (!valid_id(cid) || read_state(cid, &polls, media, sizeof media) != 0)
        return fail(err, CL_EINVAL, 400, "mock platform: unknown container");
    if (!media[0]) {
        if (polls < (int)clp_config_int("PROCESSING_POLLS", 1))
            return fail(err, CL_EINVAL, 400, "mock platform: Media ID is not available (still processing)");
        snprintf(media, sizeof media, "mockm_");
        if (random_hex(media + 6, 12) != 0 || write_state(cid, polls, media) != 0)
            return fail(err, CL_EIO, 0, "mock platform: cannot store the post");
    }
    return pl_out_json(out, err, pl_obj1("media_id", media));
}

static int mock_permalink(void *self, cl_call *call, const cl_publish_request *req, const char *media_id,
                          cl_output *out, cl_error *err)
{
    if (!media_id || strncmp(media_id, "mockm_", 6) != 0 || strlen(media_id) > 64 || strchr(media_id, '"'))
        return fail(err, CL_EINVAL, 400, "mock platform: unknown media");
    char url[128];
    snprintf(url, sizeof url, "https://mock-platform.cliploop.invalid/reel/%s", media_id + 6);
    return pl_out_json(out, err, pl_obj1("permalink", url));
}

static int mock_setup(cl_error *err)
{
    cl_publisher p = {
        .base = {.kind = CL_CAP_PUBLISHER,
                 .id = "mock",
                 .description = "Offline stand-in platform (MOCK_MODE only)",
                 .flags = CL_CAP_MOCK},
        .authorize_url = mock_authorize_url,
        .quota = mock_quota,
        .create_container = mock_create,
        .container_status = mock_status,
        .publish_container = mock_publish,
        .permalink = mock_permalink,
    };
    int rc = clp_register(&p);
    if (rc == CL_EUNSUPPORTED)
        return cl_error_set(err, rc, "publisher 'mock' is loaded only with MOCK_MODE=true");
    return rc ? cl_error_set(err, rc, "registering publisher 'mock' failed") : CL_OK;
}

CL_PLUGIN("publish_mock", "1.0.0", "PUBLISH_MOCK", mock_setup)
