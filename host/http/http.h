/*
 * http.h — the host's HTTP handler API, independent of H2O.
 *
 * A handler receives a cl_req (copies of everything it may read, so it can
 * run on a pool thread after the event loop moved on) and fills a cl_res.
 * Routes are registered before `serve` starts its threads. By default a
 * handler runs on the blocking pool (it may use the database); routes flagged
 * CL_ROUTE_INLINE run on the event-loop thread and must not block.
 *
 * Ownership: the server owns cl_req and cl_res and frees them after the
 * response is sent. Strings set with cl_res_header are copied.
 */
#ifndef CL_HTTP_HTTP_H
#define CL_HTTP_HTTP_H

#include "core/buf.h"
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define CL_ROUTE_INLINE 0x1u /**< run on the event loop (no blocking calls) */
/**
 * Run on the provider pool (CLIPLOOP_LLM_THREADS), not the blocking pool:
 * for routes that wait on an outside provider (an LLM) for seconds. The
 * handler gets req->call, cancelled when the client goes away (also the
 * thread's cl_call_current), and takes one of the user's provider slots
 * with cl_req_provider_slot once it knows the user.
 */
#define CL_ROUTE_PROVIDER 0x2u
/**
 * A route that takes a file upload as its body: bodies up to
 * CL_MAX_UPLOAD_BYTES instead of CLIPLOOP_MAX_BODY_BYTES. The server refuses
 * a larger Content-Length with 413 before reading the body; every other
 * route still answers 413 payload_too_large above CLIPLOOP_MAX_BODY_BYTES.
 */
#define CL_ROUTE_UPLOAD 0x4u
#define CL_MAX_UPLOAD_BYTES (20u * 1024 * 1024)

struct cl_call;

#define CL_MAX_PATH_PARAMS 8
#define CL_MAX_RES_HEADERS 8

typedef struct cl_kv {
    char *name;
    char *value;
} cl_kv;

typedef struct cl_req {
    char *method;      /**< "GET", ... */
    char *path;        /**< decoded path without the query */
    char *query;       /**< raw query string without '?', "" if none */
    char *body;        /**< NUL-terminated copy of the body (may contain NULs) */
    size_t body_len;
    cl_kv *headers;    /**< lower-case names */
    size_t nheaders;
    char remote_addr[64];
    cl_kv params[CL_MAX_PATH_PARAMS]; /**< ":name" captures of the matched route */
    size_t nparams;
    struct cl_call *call;  /**< CL_ROUTE_PROVIDER only (else NULL): cancelled when the client goes away */
    int64_t slot_user;     /**< the user whose provider slot this request holds, 0 none (server-owned) */
    const void *route_data; /**< the matched route's cl_route_data pointer (not owned), else NULL */
    cJSON *json;            /**< the parsed body of a CL_AUTH_JSON route (auth/auth.h; owned by its wrapper), else NULL */
} cl_req;

typedef struct cl_res {
    int status;               /**< default 200 */
    const char *content_type; /**< static string; default application/json */
    cl_buf body;
    cl_kv headers[CL_MAX_RES_HEADERS];
    size_t nheaders;
    char *file_path;          /**< set by cl_res_file: the loop streams this file instead of body */
    const char *file_mime;    /**< static string */
    void (*defer)(struct cl_req *req, struct cl_res *res); /**< set by cl_res_defer */
    int file_temp;            /**< set by cl_res_temp_file: delete file_path once the reply is done */
} cl_res;

typedef void (*cl_handler_fn)(cl_req *req, cl_res *res);

/**
 * From a CL_ROUTE_INLINE handler: finish this request on the blocking pool
 * instead — fn runs on a pool thread with the same req and a fresh res, and
 * its response goes back to the loop. For inline fast paths that sometimes
 * need the database (a cache miss). Ignored outside inline handlers.
 */
void cl_res_defer(cl_res *res, cl_handler_fn fn);

/**
 * Register a route. pattern is a path with ":name" segments
 * ("/api/projects/:id"); a trailing "/ *" segment (slash, star) matches any rest. Later issues add
 * routes from their capability folder's register function.
 */
void cl_route(const char *method, const char *pattern, cl_handler_fn fn, unsigned flags);
/**
 * cl_route with a pointer the handler reads back as req->route_data, for
 * route kinds that wrap a handler of another signature (cl_route_user). The
 * router does not own data: it must outlive the route (static storage).
 */
void cl_route_data(const char *method, const char *pattern, cl_handler_fn fn, unsigned flags,
                   const void *data);

/**
 * From a CL_ROUTE_PROVIDER handler, once the signed-in user is known and
 * before any provider call: take one of the user's CLIPLOOP_LLM_PER_USER
 * provider slots. Returns 0 (the slot is given back when the handler
 * returns), or -1 with 429 too_many_requests and Retry-After set on res
 * (the user already has that many provider calls running). Outside a
 * provider route it takes nothing and returns 0.
 */
int cl_req_provider_slot(cl_req *req, cl_res *res, int64_t user_id);

/** Find the route for method+path. Returns 1 found, 0 no such path, -1 path exists for other methods. */
int cl_router_match(const char *method, const char *path, cl_handler_fn *fn, unsigned *flags,
                    cl_req *req_params);

/** Forget every route (tests only). */
void cl_router_reset(void);

/** A path parameter captured by the route, or NULL. */
const char *cl_req_param(const cl_req *req, const char *name);
/**
 * Ids: the one parser for paths, queries and bodies. An id is a positive
 * integer in range; anything else (signs, spaces, fractions, exponents,
 * overflow) is "not an id", 0.
 *   cl_parse_id       decimal digits only, 1..INT64_MAX
 *   cl_json_id        a JSON number that is a whole number 1..2^53-1 (what a
 *                     double holds exactly); never casts an out-of-range double
 *   cl_req_param_id   a path parameter (callers answer 404 for 0)
 *   cl_req_query_id   a query value: 1 valid (*id set), 0 absent, -1 present
 *                     but not an id (callers answer 422)
 */
int64_t cl_parse_id(const char *s);
int64_t cl_json_id(const cJSON *v);
int64_t cl_req_param_id(const cl_req *req, const char *name);
int cl_req_query_id(const cl_req *req, const char *key, int64_t *id);

/**
 * The boundary check every routed request passes before its handler (the
 * server calls it): path parameters and every decoded query key and value
 * must be valid UTF-8, else 400 invalid_utf8 naming the parameter. JSON
 * bodies get the same check in cl_req_json. 0, or -1 with the reply set.
 */
int cl_req_validate(const cl_req *req, cl_res *res);

/**
 * The percent-decoded value of `key` in the query string ('+' is a space;
 * an encoded NUL is dropped, a bad escape kept as it is) into out; a value
 * longer than len-1 bytes is cut at a character boundary, never inside one.
 * Returns 1 when the key is present (out may be ""), 0 when absent (out "").
 */
int cl_req_query(const cl_req *req, const char *key, char *out, size_t len);

/** A whole-number query value, def when absent; *ok = 0 when present but not a number. */
long cl_req_query_long(const cl_req *req, const char *key, long def, int *ok);

/**
 * 1 when the request comes straight from loopback: the TCP peer is 127.0.0.0/8
 * or ::1 (also v4-mapped) and no proxy forwarded it (no X-Forwarded-For,
 * Forwarded or X-Real-IP header). 0 otherwise.
 */
int cl_req_from_loopback(const cl_req *req);

/**
 * The client's address into out: the TCP peer, unless the peer is one of
 * CLIPLOOP_TRUSTED_PROXIES — then the right-most X-Forwarded-For entry that
 * is not a trusted proxy (the peer when the header is missing or holds only
 * trusted or unparseable addresses).
 */
void cl_req_client_addr(const cl_req *req, char *out, size_t outlen);

/** 1 when addr (numeric IPv4/IPv6) matches an entry of list ("a, b/len, …"). */
int cl_addr_in_list(const char *addr, const char *list);

/** 1 when host (a HOST setting: name or literal address) is loopback: localhost, 127.0.0.0/8, ::1. */
int cl_host_is_loopback(const char *host);

/** A request header (case-insensitive name), or NULL. */
const char *cl_req_header(const cl_req *req, const char *name);
/**
 * Parse the body as a JSON object whose every string and key is valid UTF-8;
 * NULL (and a 400 invalid_json / invalid_utf8 naming the field already set on
 * res) otherwise. Caller frees.
 */
cJSON *cl_req_json(const cl_req *req, cl_res *res);

/** Reply with a JSON document (serialized; obj is freed). */
void cl_res_json(cl_res *res, int status, cJSON *obj);
/** Reply with raw JSON text. */
void cl_res_json_text(cl_res *res, int status, const char *json);
/**
 * Reply with JSON written straight into the reply: sets status and the JSON
 * type, empties the body, makes room for size_hint bytes and returns the
 * body for the caller to append to (no copy). If appending fails, reply
 * with cl_res_error instead (it replaces the body).
 */
cl_buf *cl_res_json_buf(cl_res *res, int status, size_t size_hint);
/** Reply {"error":{"code":code,"message":...}} with status. */
void cl_res_error(cl_res *res, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/**
 * 422 {"error":{"code":"validation_failed","message","fields":{name:message}}}:
 * every field that needs attention at once. The message is the only field's
 * message, or "N fields need attention". Takes ownership of fields (an object).
 */
void cl_res_invalid(cl_res *res, cJSON *fields);

/**
 * A request body's problem as a pure body validator reports it (no database,
 * no I/O, so tests/fuzz/fuzz_bodies.c runs them all on arbitrary bodies); the
 * handler answers it with cl_res_body_error at the point it always did.
 * status 0 means no problem. With fields the answer is
 * {"error":{"code","message","fields":{name: message}}} (cl_auth_field_error's
 * and cl_res_invalid's shape), without it {"error":{"code","message"}}.
 */
typedef struct {
    int status;
    char code[40];
    char message[512];
    cJSON *fields; /**< NULL or an object; owned, freed by cl_res_body_error / cl_body_err_free */
} cl_body_err;

/** One field's problem: code validation_failed, message = msg, fields {field: msg}. Returns -1. */
int cl_body_field(cl_body_err *e, int status, const char *field, const char *msg);
/** cl_res_invalid's answer (422, every field in fields; takes ownership). Returns -1. */
int cl_body_invalid(cl_body_err *e, cJSON *fields);
/** {"error":{"code","message"}} without fields. Returns -1. */
int cl_body_fail(cl_body_err *e, int status, const char *code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/** Answer e on res and free its fields. */
void cl_res_body_error(cl_res *res, cl_body_err *e);
/** Free e's fields (a validator's error the caller does not answer). */
void cl_body_err_free(cl_body_err *e);
/**
 * Add a response header (copied). Silently ignores more than CL_MAX_RES_HEADERS.
 * A handler that sets Cache-Control replaces the default `no-store`.
 */
void cl_res_header(cl_res *res, const char *name, const char *value);

/**
 * Reply with a file from disk (copied path; mime is a static string). The
 * event loop streams it with Content-Length, ETag/Last-Modified and HTTP
 * Range support (206 / 416), so browsers can seek in videos. A file that
 * vanished meanwhile becomes a JSON 404. Returns 0, or -1 out of memory.
 */
int cl_res_file(cl_res *res, const char *path, const char *mime);

/**
 * Like cl_res_file for a file the handler created just for this reply (an
 * export bundle): it is unlinked as soon as the loop opened it, or when the
 * reply is dropped (client gone), so it never stays behind. 0 or -1.
 */
int cl_res_temp_file(cl_res *res, const char *path, const char *mime);

/** Free what a cl_req / cl_res own (not the structs themselves). */
void cl_req_clear(cl_req *req);
void cl_res_clear(cl_res *res);

#endif
