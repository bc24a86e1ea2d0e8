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

/* FOLDER_DIR, or NULL after filling err. The host read it when the plugin loaded. */
static const char *folder(cl_error *err)
{
    const char *dir = clp_config("DIR");
    if (!dir || !dir[0] || strpbrk(dir, "\"\\") || access(dir, W_OK) != 0) {
        cl_error_set(err, CL_EUNSUPPORTED, "folder: set FOLDER_DIR to a writable directory");
        return NULL;
    }
    return dir;
}

/* fmt ("%s/%s.mp4", "file://%s/%s.mp4", ...) with FOLDER_DIR and id into b; CL_OK or err filled. */
static int in_folder(clp_buf *b, const char *fmt, const char *id, cl_error *err)
{
    const char *dir = folder(err);
    if (!dir)
        return err->code;
    clp_buf_printf(b, fmt, dir, id);
    return b->oom ? cl_error_set(err, CL_ENOMEM, "folder: out of memory") : CL_OK;
}

/* Append {"name":"value"} (value has no quote or backslash: keys and paths made here). */
static int append_json(cl_output *out, cl_error *err, const char *name, const char *value)
{
    clp_buf line = {0};
    clp_buf_printf(&line, "{\"%s\":\"%s\"}", name, value);
    int rc = line.oom ? CL_ENOMEM : clp_output_append(out, line.data, line.len);
    clp_buf_free(&line);
    return rc == CL_OK ? CL_OK : cl_error_set(err, rc, "folder: output refused");
}

static int create_container(void *self, cl_call *call, const cl_publish_request *req, cl_output *out,
                            cl_error *err)
{
    (void)self;
    char key[128];
    snprintf(key, sizeof key, "%s", req->idempotency_key ? req->idempotency_key : "item");
    for (char *p = key; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *p))
            *p = '_';
    clp_buf path = {0};
    int rc = in_folder(&path, "%s/%s.mp4", key, err);
    FILE *in = rc == CL_OK && req->video_path ? fopen(req->video_path, "rb") : NULL;
    FILE *to = in ? fopen(path.data, "wb") : NULL;
    if (rc == CL_OK && !to)
        rc = cl_error_set(err, CL_EIO, "folder: cannot copy the video to %s", path.data);
    clp_buf_free(&path);
    if (!to) {
        if (in)
            fclose(in);
        return rc;
    }
    char buf[65536];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0 && fwrite(buf, 1, n, to) == n && !clp_cancelled(call))
        clp_progress(call, (int64_t)(total += n), 0);
    int bad = ferror(in) || fclose(to) != 0 || clp_cancelled(call);
    fclose(in);
    if (bad)
        return cl_error_set(err, clp_cancelled(call) ? CL_ECANCELLED : CL_EIO, "folder: copy failed");
    return append_json(out, err, "container_id", key);
}

static int container_status(void *self, cl_call *call, const cl_publish_request *req, const char *id,
                            cl_output *out, cl_error *err)
{
    (void)self, (void)call, (void)req;
    clp_buf path = {0};
    int rc = in_folder(&path, "%s/%s.mp4", id, err);
    if (rc == CL_OK)
        rc = append_json(out, err, "status", access(path.data, R_OK) == 0 ? CL_CONTAINER_FINISHED : CL_CONTAINER_EXPIRED);
    clp_buf_free(&path);
    return rc;
}

static int publish_container(void *self, cl_call *call, const cl_publish_request *req, const char *id,
                             cl_output *out, cl_error *err)
{
    (void)self, (void)call;
    clp_buf path = {0};
    int rc = in_folder(&path, "%s/%s.txt", id, err);
    FILE *f = rc == CL_OK ? fopen(path.data, "w") : NULL;
    if (rc == CL_OK && (!f || fputs(req->caption ? req->caption : "", f) < 0 || fclose(f) != 0))
        rc = cl_error_set(err, CL_EIO, "folder: cannot write %s", path.data);
    clp_buf_free(&path);
    return rc == CL_OK ? append_json(out, err, "media_id", id) : rc;
}

static int permalink(void *self, cl_call *call, const cl_publish_request *req, const char *id,
                     cl_output *out, cl_error *err)
{
    (void)self, (void)call, (void)req;
    clp_buf url = {0};
    int rc = in_folder(&url, "file://%s/%s.mp4", id, err);
    if (rc == CL_OK)
        rc = append_json(out, err, "permalink", url.data);
    clp_buf_free(&url);
    return rc;
}

/* Runs inside init (CL_PLUGIN below), on the host's main thread. */
static int folder_setup(cl_error *err)
{
    cl_publisher p = {
        .base = {.kind = CL_CAP_PUBLISHER, .id = "folder", .description = "Copies videos into FOLDER_DIR"},
        .create_container = create_container,
        .container_status = container_status,
        .publish_container = publish_container,
        .permalink = permalink,
    };
    int rc = clp_register(&p);
    return rc == CL_OK ? CL_OK : cl_error_set(err, rc, "could not register 'folder'");
}

CL_PLUGIN("folder_publisher", "0.1.0", "FOLDER", folder_setup)
