/*
 * mail_mock.c — mailer "mock": delivers nothing; keeps every message in an
 * outbox so that a first-time user in offline mode (MOCK_MODE=true) can open
 * the studio's Mail log and click their verification link. Registered with
 * CL_CAP_MOCK, so a host with MOCK_MODE=false refuses it.
 *
 * The outbox is one file, <storage>/tmp/mail_mock/outbox.jsonl: one JSON
 * object per line {"id","at","to","subject","kind","text","message_id"},
 * appended under an exclusive flock so that several processes (serve,
 * workers) share it. Ids count up from 1 and message ids are derived from
 * them ("<mock-N@cliploop.mock>"): deterministic for a fresh storage
 * directory. When the file passes MAX_OUTBOX_BYTES it is renamed to
 * outbox.1.jsonl (replacing the previous one) and a new file starts, so the
 * outbox keeps the recent messages only.
 *
 * Test setting (section MAIL_MOCK, read on every call):
 *   MAIL_MOCK_FAIL=refuse   every send fails with CL_EINVAL (as an SMTP 550)
 */
#include "cliploop_plugin.h"
#include "pl_json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_OUTBOX_BYTES (1L << 20)
#define MAX_LINE_BYTES (256 * 1024)


#define fail(err, code, status, ...) cl_error_set_http((err), (code), (status), 0, __VA_ARGS__)

static int outbox_path(char *out, size_t len, const char *name)
{
    const char *dir = clp_temp_dir();
    return dir && snprintf(out, len, "%s/%s", dir, name) < (int)len ? 0 : -1;
}

/* The next id: one more than the last line's, across a rotation. f is open for reading. */
static long last_id(FILE *f)
{
    long id = 0;
    char *line = malloc(MAX_LINE_BYTES);
    if (!line)
        return -1;
    rewind(f);
    while (fgets(line, MAX_LINE_BYTES, f)) {
        const char *p = strstr(line, "{\"id\":");
        if (p == line)
            id = strtol(p + 6, NULL, 10);
    }
    free(line);
    return id;
}

static int mock_send(void *self, cl_call *call, const cl_mail_message *msg, cl_output *out, cl_error *err)
{
    (void)self;
    (void)call;
    if (!msg || !msg->to || !msg->to[0] || !msg->subject || !msg->text)
        return fail(err, CL_EINVAL, 0, "mock mailer: recipient, subject and text are required");
    const char *mode = clp_config("FAIL");
    if (mode && strcmp(mode, "refuse") == 0)
        return fail(err, CL_EINVAL, 550, "mock mailer: 550 mailbox unavailable (MAIL_MOCK_FAIL=refuse)");
    char path[1024], old[1024];
    if (outbox_path(path, sizeof path, "outbox.jsonl") || outbox_path(old, sizeof old, "outbox.1.jsonl"))
        return fail(err, CL_EIO, 0, "mock mailer: no outbox directory");
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail(err, CL_EIO, 0, "mock mailer: cannot open the outbox: %s", strerror(errno));
    if (flock(fd, LOCK_EX) != 0) {
        close(fd);
        return fail(err, CL_EIO, 0, "mock mailer: cannot lock the outbox: %s", strerror(errno));
    }
    FILE *f = fdopen(fd, "a+");
    if (!f) {
        close(fd);
        return fail(err, CL_ENOMEM, 0, "out of memory");
    }
    long id = last_id(f);
    if (id == 0) {
        /* A fresh file after a rotation continues the old numbering. */
        FILE *o = fopen(old, "r");
        if (o) {
            id = last_id(o);
            fclose(o);
        }
    }
    if (id < 0) {
        fclose(f);
        return fail(err, CL_ENOMEM, 0, "out of memory");
    }
    id++;
    char at[32], mid[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(mid, sizeof mid, "<mock-%ld@cliploop.mock>", id);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddStringToObject(o, "at", at);
    cJSON_AddStringToObject(o, "from", msg->from ? msg->from : "");
    cJSON_AddStringToObject(o, "to", msg->to);
    cJSON_AddStringToObject(o, "subject", msg->subject);
    cJSON_AddStringToObject(o, "kind", msg->kind ? msg->kind : "");
    cJSON_AddStringToObject(o, "text", msg->text);
    cJSON_AddStringToObject(o, "message_id", mid);
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    int rc = CL_OK;
    if (!line || strlen(line) + 2 > MAX_LINE_BYTES) {
        rc = fail(err, line ? CL_EINVAL : CL_ENOMEM, 0, line ? "mock mailer: message too large" : "out of memory");
    } else if (fprintf(f, "%s\n", line) < 0 || fflush(f) != 0) {
        rc = fail(err, CL_EIO, 0, "mock mailer: cannot write the outbox: %s", strerror(errno));
    }
    free(line);
    if (rc == CL_OK) {
        struct stat st;
        if (fstat(fd, &st) == 0 && st.st_size > MAX_OUTBOX_BYTES && rename(path, old) != 0)
            clp_log(CL_LOG_WARN, "cannot rotate the outbox: %s", strerror(errno));
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "message_id", mid);
        rc = pl_out_json(out, err, o);
    }
    fclose(f); /* releases the lock */
    return rc;
}

/* Append the lines of path (oldest first) to arr. */
static void read_lines(const char *path, cJSON *arr)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    flock(fileno(f), LOCK_SH);
    char *line = malloc(MAX_LINE_BYTES);
    while (line && fgets(line, MAX_LINE_BYTES, f)) {
        cJSON *o = cJSON_Parse(line);
        if (cJSON_IsObject(o))
            cJSON_AddItemToArray(arr, o);
        else
            cJSON_Delete(o);
    }
    free(line);
    fclose(f);
}

static int mock_outbox(void *self, cl_call *call, int limit, cl_output *out, cl_error *err)
{
    (void)self;
    (void)call;
    char path[1024], old[1024];
    if (outbox_path(path, sizeof path, "outbox.jsonl") || outbox_path(old, sizeof old, "outbox.1.jsonl"))
        return fail(err, CL_EIO, 0, "mock mailer: no outbox directory");
    cJSON *all = cJSON_CreateArray(), *res = cJSON_CreateArray();
    if (!all || !res) {
        cJSON_Delete(all);
        cJSON_Delete(res);
        return fail(err, CL_ENOMEM, 0, "out of memory");
    }
    read_lines(old, all);
    read_lines(path, all);
    int n = cJSON_GetArraySize(all);
    for (int i = n - 1, k = 0; i >= 0 && (limit <= 0 || k < limit); i--, k++)
        cJSON_AddItemToArray(res, cJSON_DetachItemFromArray(all, i));
    cJSON_Delete(all);
    return pl_out_json(out, err, res);
}

static int setup(cl_error *err)
{
    cl_mailer m = {
        .base = {.kind = CL_CAP_MAILER,
                 .id = "mock",
                 .description = "Offline outbox: keeps account mail for the studio's mail log (MOCK_MODE only)",
                 .flags = CL_CAP_MOCK},
        .send = mock_send,
        .outbox = mock_outbox,
    };
    int rc = clp_register(&m);
    if (rc != CL_OK)
        return fail(err, rc, 0, "cannot register the mock mailer");
    return CL_OK;
}

CL_PLUGIN("mail_mock", "1.0.0", "MAIL_MOCK", setup)
