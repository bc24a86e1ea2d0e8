/*
 * mail.h — account mail through the configured mailer capability
 * (MAIL_PROVIDER; sdk/cliploop_plugin.h "Mailer"). The host composes the
 * message; the plugin delivers it (mail_smtp over SMTP with libcurl, or
 * mail_mock into an outbox the studio's mail log shows in MOCK_MODE).
 */
#ifndef CL_MAIL_MAIL_H
#define CL_MAIL_MAIL_H

#include "cliploop_plugin.h"
#include <stddef.h>

/** The selected mailer, or NULL when MAIL_PROVIDER=none (or it is not loaded). */
const cl_mailer *cl_mail_mailer(void);

/**
 * Deliver one plain-text message to `to` (a normalized address) from
 * MAIL_FROM within MAIL_TIMEOUT_MS. kind tags it ("verify_email", ...).
 * Returns CL_OK, or a negative cl_status with err filled (CL_EUNSUPPORTED
 * when mail is off). Blocks: call it from the HTTP blocking pool or a worker.
 */
int cl_mail_send(const char *to, const char *kind, const char *subject, const char *text, cl_error *err);

/**
 * The mailer's outbox as JSON text (an array, newest first, at most limit),
 * malloc'd (caller frees), or NULL with err set (CL_EUNSUPPORTED when the
 * mailer keeps none).
 */
char *cl_mail_outbox_json(int limit, cl_error *err);

/**
 * The origin links in mail point at: PUBLIC_BASE_URL, else http://HOST:PORT
 * (a wildcard HOST becomes 127.0.0.1). Never the request's Host header,
 * which the sender of a request controls (password-reset poisoning).
 */
void cl_mail_link_origin(char *out, size_t len);

/** serve's start-up line saying which mailer sends account mail (or that none does). */
void cl_mail_log_status(void);

#endif
