/*
 * auth_internal.h — helpers shared by auth.c and access.c only.
 */
#ifndef CL_AUTH_AUTH_INTERNAL_H
#define CL_AUTH_AUTH_INTERNAL_H

#include "auth/auth.h"
#include "cliploop_plugin.h"

/** A pooled connection, or NULL with 503 set on res. Release with cl_db_release. */
PGconn *cl_auth_db(cl_res *res);
/** Create a session row; token (64 hex) and csrf (32 hex) are filled. 0 or -1 (err set). */
int cl_auth_create_session(PGconn *c, const cl_req *req, int64_t user_id, char token[65], char csrf[33],
                           char *err, size_t errlen);
/** Set (or with max_age 0, clear) the session cookie. */
void cl_auth_set_cookie(const cl_req *req, cl_res *res, const char *token, int max_age);
/** Create a session for user_id and reply `status` with the /api/me body and the cookie. */
void cl_auth_sign_in(PGconn *c, cl_req *req, cl_res *res, int64_t user_id, int status);
/** The /api/me body for u with csrf (caller frees). */
cJSON *cl_auth_me_json(const cl_user *u, const char *csrf);
/** Register /api/access/request and, in MOCK_MODE, /api/dev/... (access.c). */
void cl_access_register_routes(void);
/**
 * Sign-up's verification mail (email.c), inside the caller's transaction:
 * records the send, stores a fresh link for user_id and delivers it. CL_OK,
 * or a negative cl_status with e set (CL_EUNSUPPORTED when no mailer is
 * configured, CL_EIO when storing failed); the caller then rolls back.
 */
int cl_email_send_verification(PGconn *c, const cl_req *req, int64_t user_id, const char *email, cl_error *e);
/** Register the verification and password-reset routes (email.c). */
void cl_email_register_routes(void);

#endif
