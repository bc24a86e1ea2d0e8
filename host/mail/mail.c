/*
 * mail.c — account mail through the configured mailer (see mail.h).
 */
#include "mail/mail.h"

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "plugins/call.h"
#include "plugins/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MAILER_OUTPUT ((size_t)4 << 20)

const cl_mailer *cl_mail_mailer(void)
{
    if (strcmp(cl_cfg.mail_provider, "none") == 0)
        return NULL;
    return (const cl_mailer *)cl_plugins_find(CL_CAP_MAILER, cl_cfg.mail_provider);
}

int cl_mail_send(const char *to, const char *kind, const char *subject, const char *text, cl_error *err)
{
    const cl_mailer *m = cl_mail_mailer();
    if (!m) {
        err->code = CL_EUNSUPPORTED;
        snprintf(err->message, sizeof err->message, "no mailer is configured (MAIL_PROVIDER=%s)",
                 cl_cfg.mail_provider);
        return CL_EUNSUPPORTED;
    }
    cl_mail_message msg = {
        .size = sizeof msg,
        .from = cl_cfg.mail_from,
        .from_name = cl_cfg.mail_from_name[0] ? cl_cfg.mail_from_name : NULL,
        .to = to,
        .subject = subject,
        .text = text,
        .kind = kind,
        .timeout_ms = cl_cfg.mail_timeout_ms,
    };
    cl_output out = {CL_BUF_INIT, 4096};
    cl_call call;
    cl_call_init(&call, NULL, NULL);
    int rc = CL_CAP_CALL(m, err, send, &call, &msg, &out, err);
    cl_buf_free(&out.buf);
    if (rc != CL_OK) {
        /* The recipient is personal data; the kind and the reason suffice. */
        cl_warn("mail", "%s mail via %s failed: %s (%s)", kind, m->base.id, err->message,
                cl_plugins_status_name(rc));
    } else {
        cl_info("mail", "%s mail sent via %s", kind, m->base.id);
    }
    return rc;
}

char *cl_mail_outbox_json(int limit, cl_error *err)
{
    const cl_mailer *m = cl_mail_mailer();
    memset(err, 0, sizeof *err);
    if (!m || !m->outbox) {
        err->code = CL_EUNSUPPORTED;
        snprintf(err->message, sizeof err->message, "the mailer %s keeps no outbox",
                 m ? m->base.id : cl_cfg.mail_provider);
        return NULL;
    }
    cl_output out = {CL_BUF_INIT, MAX_MAILER_OUTPUT};
    cl_call call;
    cl_call_init(&call, NULL, NULL);
    int rc = CL_CAP_CALL(m, err, outbox, &call, limit, &out, err);
    if (rc != CL_OK) {
        cl_buf_free(&out.buf);
        return NULL;
    }
    if (!out.buf.data)
        return strdup("[]");
    return cl_buf_steal(&out.buf);
}

void cl_mail_link_origin(char *out, size_t len)
{
    if (cl_cfg.public_base_url[0]) {
        snprintf(out, len, "%s", cl_cfg.public_base_url);
        return;
    }
    const char *h = cl_cfg.host;
    if (!h[0] || strcmp(h, "0.0.0.0") == 0)
        h = "127.0.0.1";
    else if (strcmp(h, "::") == 0)
        h = "[::1]";
    int v6 = strchr(h, ':') && h[0] != '[';
    snprintf(out, len, "http://%s%s%s:%d", v6 ? "[" : "", h, v6 ? "]" : "", cl_cfg.port);
}

void cl_mail_log_status(void)
{
    const cl_mailer *m = cl_mail_mailer();
    if (!m) {
        cl_warn("serve", "MAIL_PROVIDER=none: no account mail is sent, so new accounts cannot verify their address "
                "(no approval or paid plan applies) and passwords cannot be reset; set MAIL_PROVIDER=smtp");
        return;
    }
    if (!cl_cfg.public_base_url[0])
        cl_info("serve", "account mail via %s; links point at this listener (set PUBLIC_BASE_URL for the public "
                "address)", m->base.id);
    else
        cl_info("serve", "account mail via %s", m->base.id);
}
