/*
 * folder_publisher.c — a publisher plugin with id "folder": "publishes" a
 * video by copying it into a directory, using the same steps the host drives
 * for Instagram (create a container, poll it, publish it, read its link).
 * It needs nothing but sdk/cliploop_plugin.h and libc.
 *
 *   cc -std=c11 -Wall -Wextra -shared -fPIC -fvisibility=hidden -Wl,--no-undefined \
 *      -I path/to/sdk folder_publisher.c -o folder_publisher.so
 *
 * Configuration: FOLDER_DIR, the directory to publish into (must exist).
 * Steps (each appends one JSON object to out, see the header):
 *   create_container   copy req->video_path to DIR/<key>.mp4  {"container_id":"<key>"}
 *   container_status   {"status":"FINISHED"} once the copy is there
 *   publish_container  write req->caption to DIR/<key>.txt     {"media_id":"<key>"}
 *   permalink          {"permalink":"file://DIR/<key>.mp4"}
 * <key> is req->idempotency_key with every character outside [A-Za-z0-9_-]
 * replaced by '_', so the same item always lands in the same file.
 */
#include "cliploop_plugin.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const cl_host_api *api;
static cl_plugin_ctx *me;

/* FOLDER_DIR, or NULL after filling err. Read per call: a change applies at once. */
static const char *folder(cl_error *err)
{
    const char *dir = api->config_get(me, "DIR");
    if (!dir || !dir[0] || strpbrk(dir, "\"\\") || access(dir, W_OK) != 0) {
        cl_error_set(err, CL_EUNSUPPORTED, "folder: set FOLDER_DIR to a writable directory");
        return NULL;
    }
    return dir;
}

static int append_json(cl_output *out, cl_error *err, const char *name, const char *value)
{
    char line[1400];
    int n = snprintf(line, sizeof line, "{\"%s\":\"%s\"}", name, value);
    if (n < 0 || (size_t)n >= sizeof line)
        return cl_error_set(err, CL_EINVAL, "folder: value too long");
    int rc = api->output_append(out, line, (size_t)n);
    return rc == CL_OK ? CL_OK : cl_error_set(err, rc, "folder: output refused");
}

static int create_container(void *self, cl_call *call, const cl_publish_request *req, cl_output *out,
                            cl_error *err)
{
    (void)self;
    const char *dir = folder(err);
    if (!dir)
        return err->code;
    char key[128], path[1200];
    snprintf(key, sizeof key, "%s", req->idempotency_key ? req->idempotency_key : "item");
    for (char *p = key; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *p))
            *p = '_';
    snprintf(path, sizeof path, "%s/%s.mp4", dir, key);
    FILE *in = req->video_path ? fopen(req->video_path, "rb") : NULL;
    FILE *to = in ? fopen(path, "wb") : NULL;
    if (!to) {
        if (in)
            fclose(in);
        return cl_error_set(err, CL_EIO, "folder: cannot copy the video to %s", path);
    }
    char buf[65536];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0 && fwrite(buf, 1, n, to) == n && !api->cancelled(call))
        api->progress(call, (int64_t)(total += n), 0);
    int bad = ferror(in) || fclose(to) != 0 || api->cancelled(call);
    fclose(in);
    if (bad)
        return cl_error_set(err, api->cancelled(call) ? CL_ECANCELLED : CL_EIO, "folder: copy failed");
    return append_json(out, err, "container_id", key);
}

static int container_status(void *self, cl_call *call, const cl_publish_request *req, const char *id,
                            cl_output *out, cl_error *err)
{
    (void)self, (void)call, (void)req;
    char path[1200];
    const char *dir = folder(err);
    if (!dir)
        return err->code;
    snprintf(path, sizeof path, "%s/%s.mp4", dir, id);
    return append_json(out, err, "status", access(path, R_OK) == 0 ? CL_CONTAINER_FINISHED : CL_CONTAINER_EXPIRED);
}

static int publish_container(void *self, cl_call *call, const cl_publish_request *req, const char *id,
                             cl_output *out, cl_error *err)
{
    (void)self, (void)call;
    char path[1200];
    const char *dir = folder(err);
    if (!dir)
        return err->code;
    snprintf(path, sizeof path, "%s/%s.txt", dir, id);
    FILE *f = fopen(path, "w");
    if (!f || fputs(req->caption ? req->caption : "", f) < 0 || fclose(f) != 0)
        return cl_error_set(err, CL_EIO, "folder: cannot write %s", path);
    return append_json(out, err, "media_id", id);
}

static int permalink(void *self, cl_call *call, const cl_publish_request *req, const char *id,
                     cl_output *out, cl_error *err)
{
    (void)self, (void)call, (void)req;
    char url[1300];
    const char *dir = folder(err);
    if (!dir)
        return err->code;
    snprintf(url, sizeof url, "file://%s/%s.mp4", dir, id);
    return append_json(out, err, "permalink", url);
}

static int folder_init(const cl_host_api *host, cl_plugin_ctx *ctx, cl_error *err)
{
    api = host;
    me = ctx;
    cl_publisher p = {
        .base = {.kind = CL_CAP_PUBLISHER, .id = "folder", .description = "Copies videos into FOLDER_DIR"},
        .create_container = create_container,
        .container_status = container_status,
        .publish_container = publish_container,
        .permalink = permalink,
    };
    int rc = CL_REGISTER(api, ctx, &p);
    return rc == CL_OK ? CL_OK : cl_error_set(err, rc, "could not register 'folder'");
}

static const cl_plugin_manifest manifest = CL_MANIFEST_INIT("folder_publisher", "0.1.0", "FOLDER", folder_init);
CL_PLUGIN_DEFINE(manifest)
