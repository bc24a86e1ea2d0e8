/*
 * cliploop_plugin.h — the one header a ClipLoop plugin includes.
 *
 * A plugin is a shared object (.so) that exports exactly one function,
 * cliploop_plugin_entry(), returning a constant manifest. The host checks the
 * manifest field by field before any other plugin code runs, then calls the
 * manifest's init() with a table of host services. Inside init, and only
 * there, the plugin registers its capabilities (LLM provider, renderer,
 * publisher, billing provider, ingester, mailer, storage, text to speech).
 *
 * ABI rules (one policy, PostgreSQL's: the host is at least as new as the plugin):
 *   - CL_ABI_MAJOR changes when an existing field moves or changes meaning.
 *     The host refuses a plugin built for another major.
 *   - CL_ABI_MINOR grows when something is appended (a field at the end of a
 *     struct, a service at the end of cl_host_api, a capability kind). The
 *     host refuses a plugin built for a newer minor; older minors load. So a
 *     plugin can use every service and request field of the minor it was
 *     built against without testing for it: there are no feature tests on
 *     the plugin side. The host, which may be newer than the plugin, treats a
 *     field past what the plugin registered as absent (zero/NULL).
 *   - Every struct that crosses the boundary starts with its own size. New
 *     fields are only ever appended; offsets of shipped fields are pinned by
 *     _Static_assert below. The host copies min(plugin size, host size) into
 *     zeroed storage and never reads past what the plugin knew.
 *   - Zero means absent: in every struct a zeroed field asks for the default.
 *   - Only plain C crosses: strings (UTF-8, NUL-terminated), byte buffers,
 *     and JSON as text. No library handles (cJSON, PGconn, CURL, lua_State).
 *   - Memory: whatever one side allocates, the same side frees. Results flow
 *     to the host through a host-owned cl_output (append with
 *     api->output_append); HTTP responses are allocated by the host and freed
 *     with api->http_response_free. Errors go into a caller-owned cl_error.
 *   - Errors travel one way: a callback returns CL_OK or a negative
 *     cl_status, and on failure fills err with cl_error_set(), which stores
 *     the same code. Callers decide by code, never by message text.
 *   - No longjmp, abort() or exit() may cross the boundary; return an error.
 *
 * Adding something in a minor (as 2.1 did): append the member at the end of
 * its struct (cl_host_api, a request, a capability), bump CL_ABI_MINOR, pin
 * its offset below under the new minor, and document it with the minor in
 * its comment. A plugin of an older minor keeps loading; a plugin that uses
 * the new member is refused by an older host ("ABI minor 1 is newer than the
 * host's 0"). A capability field the host reads is feature-tested by the
 * host (zero in the copy of an older plugin's smaller struct means absent):
 * 2.1's cl_renderer.max_outputs is the example.
 *
 * ABI 2.1 (from 2.0): a renderer can make several videos in one call
 * (cl_render_request.outputs, cl_renderer.max_outputs), e.g. the aspect
 * variants of one render, so it decodes media and mixes the soundtrack once.
 * A 2.0 renderer keeps loading; the host, seeing max_outputs as 0, calls it
 * once per video.
 *
 * ABI 2.0 (from 1.5): cl_error starts with its size, cl_http_response's
 * effective_url is host-owned memory of any length, cl_llm_request's
 * temperature is used only with has_temperature, the codes CL_EMALFORMED and
 * CL_ETOOLARGE exist, CL_HOST_HAS is gone. See sdk/README.md, "Migrating
 * from 1.x".
 *
 * Appended inside 2.0 before any plugin outside this tree used it, like the
 * mailer and storage before it: the tts kind; the services config_int,
 * config_bool and sleep; the CL_PLUGIN + clp_* shorthand (no api/ctx
 * globals in plugin code); the clp_buf buffer.
 *
 * Threads: init runs on the host's main thread before any worker starts.
 * Capability callbacks run on host threads (job workers, and for some calls
 * the thread serving an HTTP request) and may run concurrently unless the
 * capability sets CL_CAP_SERIALIZED, in which case the host holds one lock
 * per capability around every callback.
 */
#ifndef CLIPLOOP_PLUGIN_H
#define CLIPLOOP_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/** "CLPL" — first field of every manifest. */
#define CL_PLUGIN_MAGIC 0x434c504cu
#define CL_ABI_MAJOR 2
#define CL_ABI_MINOR 1

/** The name of the single symbol a plugin exports. */
#define CL_PLUGIN_ENTRY_SYMBOL "cliploop_plugin_entry"

#if defined(__GNUC__)
#define CL_EXPORT __attribute__((visibility("default")))
#define CL_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CL_EXPORT
#define CL_PRINTF(fmt, args)
#endif

#define CL_STR_(x) #x
#define CL_STR(x) CL_STR_(x)

/**
 * Build fingerprint: the properties that change the layout of the structs in
 * this header. Compared as a string at load time. Sanitizers are deliberately
 * not part of it: they do not change layout, and a plain plugin runs fine in
 * an ASan host.
 */
#define CL_BUILD_FINGERPRINT                                                                       \
    "cl-abi" CL_STR(CL_ABI_MAJOR) ";ptr" CL_STR(__SIZEOF_POINTER__) ";long" CL_STR(__SIZEOF_LONG__) \
    ";" CL_STR(__BYTE_ORDER__)

/* ------------------------------------------------------------------------- */
/* Errors                                                                    */
/* ------------------------------------------------------------------------- */

/** Return codes: 0 is success, everything else is one of these (negative). */
enum cl_status {
    CL_OK = 0,
    CL_EINVAL = -1,       /**< bad input from the caller */
    CL_ENOMEM = -2,       /**< out of memory */
    CL_EAUTH = -3,        /**< credentials refused by the upstream service */
    CL_ERATELIMIT = -4,   /**< upstream rate limit; see cl_error.retry_after_ms */
    CL_EUPSTREAM = -5,    /**< upstream failed (5xx, network, an error answer) */
    CL_ETIMEOUT = -6,     /**< deadline passed */
    CL_ECANCELLED = -7,   /**< the host cancelled the call */
    CL_EUNSUPPORTED = -8, /**< not implemented / not configured / disabled */
    CL_EBLOCKED = -9,     /**< refused by policy (e.g. private-address guard) */
    CL_EIO = -10,         /**< local file or process failure */
    /* ABI 2.0 */
    CL_EMALFORMED = -11,  /**< an answer arrived but is not in the expected shape
                               (not JSON, not the documented object, empty) */
    CL_ETOOLARGE = -12    /**< a body or output exceeds its size limit */
};

/**
 * Error details, owned by the caller (usually the host), filled by the callee
 * with cl_error_set(). message is a fixed buffer so that nothing is allocated
 * across the boundary. The caller sets size (CL_ERROR_INIT); a field appended
 * in a later minor is written only when size covers it.
 */
typedef struct cl_error {
    size_t size;        /**< sizeof(cl_error) as the caller knows it */
    int code;           /**< one of enum cl_status; equals the callback's return value */
    int http_status;    /**< upstream HTTP status, 0 if none */
    int retry_after_ms; /**< >0 when the upstream said when to retry */
    char message[512];  /**< human-readable, never contains secrets; never matched on */
} cl_error;

/** Initializer for a caller-owned error: `cl_error err = CL_ERROR_INIT;` */
#define CL_ERROR_INIT {sizeof(cl_error), 0, 0, 0, {0}}

/**
 * Fill err (may be NULL) with code and a printf-formatted message and return
 * code, so that a failing callback reads `return cl_error_set(err, CL_EINVAL,
 * "prompt is required");`. http_status and retry_after_ms are left as they are
 * (cl_error_set_http sets them too).
 */
static inline int cl_error_setv(cl_error *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
    }
    return code;
}
static inline int cl_error_set(cl_error *err, int code, const char *fmt, ...) CL_PRINTF(3, 4);
static inline int cl_error_set(cl_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cl_error_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

/** cl_error_set for an upstream answer: also records its HTTP status and Retry-After (ms). */
static inline int cl_error_set_http(cl_error *err, int code, int http_status, int retry_after_ms,
                                    const char *fmt, ...) CL_PRINTF(5, 6);
static inline int cl_error_set_http(cl_error *err, int code, int http_status, int retry_after_ms,
                                    const char *fmt, ...)
{
    if (err) {
        err->http_status = http_status;
        err->retry_after_ms = retry_after_ms;
    }
    va_list ap;
    va_start(ap, fmt);
    cl_error_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

/* ------------------------------------------------------------------------- */
/* A growable string buffer for the plugin's own use (header-only)          */
/* ------------------------------------------------------------------------- */
/*
 * Plugin-owned memory (malloc/realloc inside the plugin, freed with
 * clp_buf_free); it never crosses the boundary itself — hand its bytes to the
 * host with output_append. Zero-initialize it (`clp_buf b = {0};`). data is
 * NUL-terminated whenever len > 0. An allocation failure sets oom and makes
 * every later append a no-op, so a builder checks once at the end:
 *
 *     clp_buf b = {0};
 *     clp_buf_printf(&b, "%d items", n);
 *     clp_buf_puts(&b, " done");
 *     int rc = b.oom ? CL_ENOMEM : CL_OK;
 *     ...
 *     clp_buf_free(&b);
 */
typedef struct clp_buf {
    char *data; /**< NUL-terminated bytes, or NULL while empty */
    size_t len; /**< bytes in data, without the NUL */
    size_t cap; /**< allocated bytes */
    int oom;    /**< an append failed; the contents are incomplete */
} clp_buf;

/** Make room for n more bytes (plus the NUL). Returns 0, or -1 and sets oom. */
static inline int clp_buf_reserve(clp_buf *b, size_t n)
{
    if (b->oom)
        return -1;
    if (b->len + n + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *d = (char *)realloc(b->data, cap);
    if (!d) {
        b->oom = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

/** Append n bytes of p. Returns 0, or -1 (and sets oom) when memory ran out. */
static inline int clp_buf_append(clp_buf *b, const void *p, size_t n)
{
    if (clp_buf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/** Append a NUL-terminated string (NULL appends nothing). */
static inline int clp_buf_puts(clp_buf *b, const char *s) { return s ? clp_buf_append(b, s, strlen(s)) : 0; }

/** Append printf-formatted text of any length. */
static inline int clp_buf_vprintf(clp_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || clp_buf_reserve(b, (size_t)n) != 0)
        return b->oom = 1, -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}
static inline int clp_buf_printf(clp_buf *b, const char *fmt, ...) CL_PRINTF(2, 3);
static inline int clp_buf_printf(clp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = clp_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/** Forget the contents, keep the memory (and clear oom). */
static inline void clp_buf_reset(clp_buf *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->data)
        b->data[0] = '\0';
}

/** Free the memory; the buffer is empty again and may be reused. */
static inline void clp_buf_free(clp_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

/* ------------------------------------------------------------------------- */
/* Opaque host objects                                                       */
/* ------------------------------------------------------------------------- */

/** The plugin's own handle, passed to init; valid for the life of the host. */
typedef struct cl_plugin_ctx cl_plugin_ctx;
/** One capability invocation: carries cancellation and progress. */
typedef struct cl_call cl_call;
/** A host-owned growable byte buffer that receives results. */
typedef struct cl_output cl_output;

/* ------------------------------------------------------------------------- */
/* HTTP through the host                                                     */
/* ------------------------------------------------------------------------- */

/** cl_http_request.flags */
#define CL_HTTP_FOLLOW_REDIRECTS 0x1u /**< follow up to max_redirects (guard checks every hop) */
#define CL_HTTP_RETRY_UNSAFE 0x2u     /**< retry POST/PATCH too (the request is idempotent) */

/**
 * An HTTP request performed by the host (libcurl). The host applies its TLS
 * and proxy policy and the private-address guard: a connection to a loopback,
 * private, link-local or metadata address is refused with CL_EBLOCKED, for the
 * first request and for every redirect hop. All pointers are borrowed for the
 * duration of the call.
 */
typedef struct cl_http_request {
    size_t size;                 /**< sizeof(cl_http_request) */
    const char *method;          /**< "GET", "POST", ...; NULL means GET */
    const char *url;             /**< absolute http(s) URL */
    const char *const *headers;  /**< NULL-terminated "Name: value" strings, or NULL */
    const void *body;            /**< request body or NULL */
    size_t body_len;             /**< bytes in body */
    int timeout_ms;              /**< whole-transfer deadline per attempt; 0 = host default */
    int max_retries;             /**< retries on connect errors, 429 and 5xx; 0 = none */
    size_t max_response_bytes;   /**< larger bodies fail with CL_ETOOLARGE; 0 = host default */
    unsigned flags;              /**< CL_HTTP_* */
    int max_redirects;           /**< with CL_HTTP_FOLLOW_REDIRECTS; 0 = host default (5) */
} cl_http_request;

/**
 * The response. Allocated by the host; free with api->http_response_free().
 * body is NUL-terminated for convenience (body_len excludes the NUL).
 */
typedef struct cl_http_response {
    size_t size;             /**< set by the caller to sizeof(cl_http_response) */
    int status;              /**< final HTTP status */
    char *body;              /**< host-owned */
    size_t body_len;
    char content_type[128];  /**< Content-Type of the final response, "" if none */
    char *effective_url;     /**< host-owned: the URL after redirects, whole (never truncated) */
    int retry_after_ms;      /**< Retry-After (seconds or HTTP date) in ms, 0 if absent */
    int attempts;            /**< how many attempts were made */
} cl_http_response;

/* ------------------------------------------------------------------------- */
/* Capabilities                                                              */
/* ------------------------------------------------------------------------- */

typedef enum cl_cap_kind {
    CL_CAP_LLM_PROVIDER = 1,
    CL_CAP_RENDERER = 2,
    CL_CAP_PUBLISHER = 3,
    CL_CAP_BILLING_PROVIDER = 4,
    CL_CAP_INGESTER = 5,
    CL_CAP_MAILER = 6 /**< ABI 1.4: outbound e-mail (see "Mailer" below) */
} cl_cap_kind;

/** cl_capability.flags */
/** The host never calls this capability concurrently: every callback runs under one
    lock per capability, taken by the host's single call wrapper. */
#define CL_CAP_SERIALIZED 0x1u
/**
 * ABI 1.2: a stand-in for an outside service (a mock platform). The host
 * accepts it only when MOCK_MODE=true; otherwise the registration fails with
 * CL_EUNSUPPORTED and the plugin is not loaded.
 */
#define CL_CAP_MOCK 0x2u

/**
 * The header every capability struct starts with. id is unique per kind
 * across all loaded plugins ("mock", "mistral", "ffmpeg", ...); configuration
 * selects a capability by that id (e.g. LLM_PROVIDER=mock).
 */
typedef struct cl_capability {
    size_t size;        /**< sizeof the full capability struct, set by CL_REGISTER */
    int kind;           /**< cl_cap_kind */
    const char *id;     /**< static string */
    const char *description; /**< one line, static string */
    unsigned flags;     /**< CL_CAP_* */
    void *self;         /**< plugin data handed back to every callback */
} cl_capability;

/* --- LLM provider -------------------------------------------------------- */

/** One chat-completion request. All strings borrowed for the call. */
typedef struct cl_llm_request {
    size_t size;
    const char *purpose;       /**< prompt shape: "brief", "promo_draft", "chat", "posts",
                                    "regenerate", "iteration", or another host-defined name */
    const char *system;        /**< system prompt, may be NULL */
    const char *prompt;        /**< the user prompt (already rendered by the host's Lua) */
    const char *messages_json; /**< optional prior turns: [{"role":"user|assistant","content":"…"}] */
    int json_output;           /**< 1: the answer must be one JSON object of the purpose's
                                    schema (sdk/schemas/<purpose>.schema.json) */
    int has_temperature;       /**< 0: provider default; 1: use temperature */
    double temperature;        /**< read only when has_temperature (0.0 is a valid value) */
    int max_tokens;            /**< 0 means provider default */
} cl_llm_request;

/** Usage report filled by the provider (optional fields stay 0 / ""). */
typedef struct cl_llm_usage {
    size_t size;
    int prompt_tokens;
    int completion_tokens;
    char model[128];
} cl_llm_usage;

typedef struct cl_llm_provider {
    cl_capability base;
    /**
     * Complete one request. Append the answer text (when req->json_output,
     * one JSON object in the shape sdk/schemas/<purpose>.schema.json gives)
     * to out with api->output_append. usage may be NULL; when it is not, the
     * host has set usage->size. Returns CL_OK, or a negative cl_status with
     * err filled by cl_error_set (CL_EMALFORMED when the upstream model's
     * answer was unusable).
     */
    int (*complete)(void *self, cl_call *call, const cl_llm_request *req, cl_output *out,
                    cl_llm_usage *usage, cl_error *err);
} cl_llm_provider;

/* --- Renderer ------------------------------------------------------------ */

/**
 * ABI 2.1: one more video made by the same render call (an aspect variant
 * of the request's composition: the same design laid out for another frame).
 * Passed by pointer, so the struct can grow; all strings borrowed for the call.
 */
typedef struct cl_render_output {
    size_t size;                  /**< sizeof(cl_render_output) */
    const char *composition_json; /**< this video's composition (its own width, height, layers) */
    const char *video_path;       /**< where to write its MP4 */
    const char *thumbnail_path;   /**< where to write its JPEG thumbnail */
} cl_render_output;

typedef struct cl_render_request {
    size_t size;
    const char *composition_json; /**< the documented composition (docs/composition.md) */
    const char *work_dir;          /**< private scratch directory for this render */
    const char *video_path;        /**< where to write the MP4 */
    const char *thumbnail_path;    /**< where to write the JPEG thumbnail */
    /* ---- ABI 2.1: further videos in the same call ---- */
    /**
     * n_outputs more videos to make besides the one above, each from its own
     * composition; files they name are in work_dir like the first one's.
     * The host sets them only for a renderer whose max_outputs allows
     * 1 + n_outputs videos (a 2.0 renderer never sees them). All or nothing:
     * on failure the renderer leaves none of the videos behind. Progress
     * counts the frames of all the videos.
     */
    const cl_render_output *const *outputs;
    int n_outputs;
} cl_render_request;

typedef struct cl_renderer {
    cl_capability base;
    /** Render; report frames done/total with api->progress; poll api->cancelled. */
    int (*render)(void *self, cl_call *call, const cl_render_request *req, cl_error *err);
    /* ---- ABI 2.1 ---- */
    /**
     * How many videos one render call may make (1 + req->n_outputs). 0 or 1:
     * one (every 2.0 renderer, whose struct ends before this field). The
     * host feature-tests it and otherwise calls render once per video.
     */
    int max_outputs;
} cl_renderer;

/* --- Publisher ----------------------------------------------------------- */

/*
 * ABI 1.2 splits publishing into steps so that the HOST owns the exactly-once
 * state machine (it stores each step's result in Postgres before taking the
 * next one, and resumes from there after a crash) while the plugin only
 * talks HTTP through api->http_do. The steps follow the container model
 * (Instagram): create a media container, poll its status, publish it, read
 * the permalink. A platform without containers can still implement them
 * (the container id is then its own upload id).
 *
 * Error contract for every step (the host classifies by code):
 *   CL_EAUTH        the token is invalid or revoked: the channel becomes
 *                   `invalid` and the user must reconnect
 *   CL_ERATELIMIT   rate limited; retry_after_ms when the platform said
 *   CL_EUPSTREAM, CL_ETIMEOUT   transient (5xx, network): retried
 *   CL_EINVAL       the platform rejected the request or the media: the
 *                   item fails with err->message (the platform's words)
 *   CL_EUNSUPPORTED the plugin is not configured (names the variable)
 */

typedef struct cl_publish_request {
    size_t size;
    const char *channel;        /**< "instagram", "tiktok", "whatsapp" */
    const char *video_path;     /**< local MP4 */
    const char *video_url;      /**< public URL of the same file, if the platform pulls it */
    const char *caption;
    const char *access_token;   /**< decrypted by the host just for this call */
    const char *account_json;   /**< connection metadata (account ids, ...) */
    /* ABI 1.2 */
    const char *account_id;     /**< the platform account that publishes (IG user id) */
    const char *thumbnail_url;  /**< public URL of the cover image, or NULL */
    int share_to_feed;          /**< Reels: also show in the profile feed */
    const char *idempotency_key;/**< stable per item and publish attempt ("item:42:publish:1") */
} cl_publish_request;

/** container_status's "status" values. */
#define CL_CONTAINER_IN_PROGRESS "IN_PROGRESS"
#define CL_CONTAINER_FINISHED "FINISHED"
#define CL_CONTAINER_ERROR "ERROR"
#define CL_CONTAINER_EXPIRED "EXPIRED"
#define CL_CONTAINER_PUBLISHED "PUBLISHED"

typedef struct cl_publisher {
    cl_capability base;
    /**
     * ABI 1.0, one shot: publish; append {"external_id":"…","permalink":"…"}
     * JSON to out. Since 1.2 it may be NULL when the step calls below are
     * set (the host then never calls it).
     */
    int (*publish)(void *self, cl_call *call, const cl_publish_request *req, cl_output *out,
                   cl_error *err);

    /* ---- ABI 1.2: account connection (OAuth) ---- */
    /** The authorization page to send the user to, carrying state. Append the URL to out. No I/O. */
    int (*authorize_url)(void *self, const char *state, cl_output *out, cl_error *err);
    /**
     * Exchange an authorization code for a long-lived token and read the
     * account. Append {"access_token","expires_in" (seconds),"account_id","username"}.
     */
    int (*connect)(void *self, cl_call *call, const char *code, cl_output *out, cl_error *err);
    /** Refresh a long-lived token. Append {"access_token","expires_in"}. */
    int (*refresh)(void *self, cl_call *call, const char *access_token, cl_output *out, cl_error *err);

    /* ---- ABI 1.2: publishing steps (req->access_token, req->account_id set) ---- */
    /** The account's publishing quota. Append {"used":N,"limit":N,"window_seconds":N}. */
    int (*quota)(void *self, cl_call *call, const cl_publish_request *req, cl_output *out, cl_error *err);
    /** Create the media container from req. Append {"container_id":"…"}. */
    int (*create_container)(void *self, cl_call *call, const cl_publish_request *req, cl_output *out,
                            cl_error *err);
    /**
     * The container's state. Append {"status": one of CL_CONTAINER_*,
     * "message": the platform's status text when ERROR/EXPIRED}.
     */
    int (*container_status)(void *self, cl_call *call, const cl_publish_request *req,
                            const char *container_id, cl_output *out, cl_error *err);
    /** Publish a FINISHED container. Append {"media_id":"…"}. */
    int (*publish_container)(void *self, cl_call *call, const cl_publish_request *req,
                             const char *container_id, cl_output *out, cl_error *err);
    /** The public link of a published media. Append {"permalink":"…"}. */
    int (*permalink)(void *self, cl_call *call, const cl_publish_request *req, const char *media_id,
                     cl_output *out, cl_error *err);

    /* ---- ABI 1.3: results (optional: NULL when the platform reports none) ---- */
    /**
     * A published media's insights (req->access_token, req->account_id set).
     * Append {"views":N,"reach":N}; a metric the platform does not report is
     * left out — never estimated. The host calls it only when the field is
     * set (feature test) and stores the answer as the item's views.
     */
    int (*insights)(void *self, cl_call *call, const cl_publish_request *req, const char *media_id,
                    cl_output *out, cl_error *err);
} cl_publisher;

/* --- Billing provider ---------------------------------------------------- */

/*
 * A billing provider talks to the payment service and nothing else: it never
 * touches the database. The host stores every webhook, derives the plan and
 * grants credits; the provider makes the HTTP calls (through api->http_do),
 * checks signatures and translates the service's documents into the host's
 * normalized JSON (docs/billing.md):
 *
 *   subscription  {"id","status","plan":"starter"|"","variant_id","customer_id",
 *                  "order_id","user_email","cancelled":bool,"renews_at","ends_at",
 *                  "trial_ends_at","updated_at","portal_url","update_payment_url",
 *                  "card_brand","card_last_four"}   (times ISO 8601, or null)
 *   event         {"event_key","event_name","kind":"subscription"|"payment"|"other",
 *                  "user_id":"…"|null (the checkout's custom data),
 *                  "subscription":{…} (kind subscription),
 *                  "payment":{"subscription_id","status","amount_cents","currency",
 *                             "created_at","invoice_url"} (kind payment)}
 *
 * Every callback returns CL_OK or a negative cl_status; CL_EUNSUPPORTED means
 * "not configured" (err->message names the missing settings, never values).
 */
typedef struct cl_billing_provider {
    cl_capability base;
    /** Create a checkout; request_json is {"plan","user_id","email","redirect_url"}.
        Append {"url":"…"} to out. */
    int (*create_checkout)(void *self, cl_call *call, const char *request_json, cl_output *out,
                           cl_error *err);
    /** Verify a webhook signature (constant-time) over the raw body. Returns CL_OK or
        CL_EAUTH (CL_EUNSUPPORTED when no signing secret is configured). */
    int (*verify_webhook)(void *self, const char *signature_header, const void *body,
                          size_t body_len, cl_error *err);
    /** Normalize a verified webhook body into the host's event JSON, appended to out. */
    int (*parse_webhook)(void *self, const void *body, size_t body_len, cl_output *out,
                         cl_error *err);
    /* ---- since ABI 1.1; optional (NULL: the host does without) ---- */
    /** The request header that carries the webhook signature, e.g. "X-Signature" (static). */
    const char *signature_header;
    /** Read one subscription from the service and append its normalized JSON to out
        (fresh portal / update-payment URLs included). CL_EINVAL when unknown there. */
    int (*get_subscription)(void *self, cl_call *call, const char *subscription_id, cl_output *out,
                            cl_error *err);
    /** 1 when every setting the provider needs is present; else 0 with the missing
        settings' names (comma-separated) in missing. Must not block. */
    int (*configured)(void *self, char *missing, size_t missing_len);
} cl_billing_provider;

/* --- Ingester ------------------------------------------------------------ */

typedef struct cl_ingest_request {
    size_t size;
    const char *url;      /**< where to start */
    int max_pages;        /**< 0 = plugin default */
    size_t max_page_bytes;/**< 0 = plugin default */
    int time_budget_ms;   /**< 0 = plugin default */
} cl_ingest_request;

typedef struct cl_ingester {
    cl_capability base;
    /** Ingest; append a JSON array of documents
        [{"url","title","description","headings":[…],"text","status"}] to out. */
    int (*ingest)(void *self, cl_call *call, const cl_ingest_request *req, cl_output *out,
                  cl_error *err);
} cl_ingester;

/* --- Mailer (ABI 1.4) ----------------------------------------------------- */

/*
 * Outbound e-mail: the host composes the message (sender, recipient, subject,
 * plain-text body); the mailer delivers it. MAIL_PROVIDER selects the mailer
 * by id ("smtp", "mock"). The host sends account mail (address verification,
 * password reset) from HTTP handlers, so send() must honour its deadline.
 *
 * Error contract of send():
 *   CL_EINVAL       the message or an address was refused (SMTP 5xx on
 *                   MAIL FROM / RCPT TO / DATA): not retried
 *   CL_EAUTH        the mail server refused the configured credentials
 *   CL_EUPSTREAM    the server failed or answered something unusable (4xx)
 *   CL_ETIMEOUT     the deadline passed (connect or any later step)
 *   CL_EUNSUPPORTED not configured (err->message names the settings)
 * err->http_status carries the server's reply code (e.g. 550) when there was one.
 */
typedef struct cl_mail_message {
    size_t size;            /**< sizeof(cl_mail_message) */
    const char *from;       /**< bare address of the sender ("no-reply@example.com") */
    const char *from_name;  /**< display name (UTF-8) or NULL */
    const char *to;         /**< one bare recipient address */
    const char *subject;    /**< UTF-8; the mailer encodes it for the header */
    const char *text;       /**< UTF-8 plain-text body, "\n" line ends */
    const char *kind;       /**< host tag: "verify_email", "password_reset", ... */
    int timeout_ms;         /**< whole-delivery deadline; 0 = mailer default */
} cl_mail_message;

typedef struct cl_mailer {
    cl_capability base;
    /** Deliver msg. Append {"message_id":"<…>"} to out. CL_OK or a negative cl_status. */
    int (*send)(void *self, cl_call *call, const cl_mail_message *msg, cl_output *out, cl_error *err);
    /**
     * Optional (NULL for a real mailer): the messages this mailer kept, newest
     * first, as a JSON array [{"id","at","to","subject","kind","text"}],
     * at most `limit` of them. A mock's outbox, shown as the studio's mail log.
     */
    int (*outbox)(void *self, cl_call *call, int limit, cl_output *out, cl_error *err);
    /** Optional: 1 when every setting the mailer needs is present; else 0 with the
        missing or invalid settings' names in missing. Must not block. The host
        refuses to start with MAIL_PROVIDER naming a mailer that says 0. */
    int (*configured)(void *self, char *missing, size_t missing_len);
} cl_mailer;

/* --- Storage (ABI 1.5) --------------------------------------------------- */

/*
 * Where the host keeps the files that outlive a request: rendered videos,
 * thumbnails, uploads. Configuration selects one backend (STORAGE=local|s3);
 * the host never falls back to another one. A key is a relative path such as
 * "generated/content-items/42/20260101T000000Z-r1/rendered.mp4": bytes from
 * [A-Za-z0-9._/-], no leading '/', no "." or ".." segment, at most 512
 * bytes; the host only passes keys it built, and the same key names the same
 * object in every backend.
 *
 * Error contract: a missing key is CL_EINVAL with err->http_status = 404;
 * credentials refused CL_EAUTH; a deadline CL_ETIMEOUT; a backend that cannot
 * be reached or answers 5xx CL_EUPSTREAM; a local file error CL_EIO; a
 * backend that is not configured CL_EUNSUPPORTED (err->message names the
 * missing settings, never their values). Messages never carry secrets or
 * signed URLs.
 */

/** cl_cap_kind value of a storage backend (a plain constant so that the
    enum above stays as it shipped). */
#define CL_CAP_STORAGE 7

/** Maximum length of a storage key in bytes. */
#define CL_STORAGE_KEY_MAX 512

/** 1 when key is a valid storage key (see above), else 0. For hosts and plugins alike. */
static inline int cl_storage_key_valid(const char *key)
{
    size_t n = 0, seg = 0;
    int dots = 0;
    if (!key || !key[0] || key[0] == '/')
        return 0;
    for (const char *p = key;; p++, n++) {
        char c = *p;
        if (c == '/' || c == '\0') {
            if (seg == 0 || (seg == (size_t)dots && dots <= 2))
                return 0; /* empty, "." or ".." segment */
            if (c == '\0')
                break;
            seg = 0, dots = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
        seg++;
        dots += c == '.';
    }
    return n <= CL_STORAGE_KEY_MAX;
}

typedef struct cl_storage {
    cl_capability base;
    /**
     * Store the local file at path under key, replacing any object there.
     * content_type may be NULL. The object appears whole or not at all.
     */
    int (*put_file)(void *self, cl_call *call, const char *key, const char *path, const char *content_type,
                    cl_error *err);
    /** Copy the object at key into the local file path (created or truncated). */
    int (*get_file)(void *self, cl_call *call, const char *key, const char *path, cl_error *err);
    /** Remove the object at key; a key that does not exist is CL_OK. */
    int (*remove)(void *self, cl_call *call, const char *key, cl_error *err);
    /** The object's size in bytes in *bytes. */
    int (*stat)(void *self, cl_call *call, const char *key, int64_t *bytes, cl_error *err);
    /**
     * Append bytes [offset, offset + length) of the object to out (fewer
     * when the object ends first; an offset at or past the end is CL_EINVAL
     * with err->http_status = 416).
     */
    int (*read_range)(void *self, cl_call *call, const char *key, int64_t offset, int64_t length,
                      cl_output *out, cl_error *err);
    /**
     * Append a URL that lets anyone GET the object for ttl_seconds, without
     * other credentials (e.g. a SigV4 presigned URL). download_name, when
     * set, asks the answer to carry Content-Disposition: attachment with that
     * file name; content_type, when set, its Content-Type. No I/O.
     * CL_EUNSUPPORTED when the backend has no such URLs (local: the host
     * serves the file itself).
     */
    int (*presign_get)(void *self, const char *key, int ttl_seconds, const char *download_name,
                       const char *content_type, cl_output *out, cl_error *err);
    /**
     * Append the absolute path of key's file when the backend is a local
     * directory, so the host can stream it with Range support; CL_EUNSUPPORTED
     * otherwise. No I/O.
     */
    int (*local_path)(void *self, const char *key, cl_output *out, cl_error *err);
    /**
     * 1 when every setting the backend needs is present; else 0 with the
     * missing settings' names (comma-separated) in missing. Must not block.
     */
    int (*configured)(void *self, char *missing, size_t missing_len);
} cl_storage;

/* --- Text to speech (ABI 2.0, kind 8) ------------------------------------ */

/*
 * A voice for the video's voiceover. Configuration selects one engine
 * (TTS_PROVIDER=espeak|openai_compat|none); the host never falls back to
 * another one. The engine writes one audio file that libavformat decodes
 * (WAV/PCM of any rate, or another container) to req->out_path and appends a
 * JSON object to out:
 *
 *   {"duration": seconds, "sample_rate": Hz, "timings": "engine"|"estimated",
 *    "words": [{"text": "Fresh", "start": 0.12, "end": 0.48}, ...]}
 *
 * words are the spoken words in order, start < end, increasing, within
 * [0, duration]. "engine" when the synthesizer reported them, "estimated" when
 * the plugin derived them from the text and the decoded duration (document how).
 *
 * Error contract: bad text or language CL_EINVAL; refused credentials
 * CL_EAUTH; 429 CL_ERATELIMIT; 5xx/unusable answers CL_EUPSTREAM or
 * CL_EMALFORMED; the deadline CL_ETIMEOUT; not configured CL_EUNSUPPORTED
 * (err->message names the settings); out_path not writable CL_EIO. On
 * failure out_path does not exist.
 */

/** cl_cap_kind value of a text-to-speech engine (a plain constant so that the
    enum above stays as it shipped). */
#define CL_CAP_TTS 8

typedef struct cl_tts_request {
    size_t size;          /**< sizeof(cl_tts_request) */
    const char *text;     /**< UTF-8, what to say (plain text, no markup) */
    const char *language; /**< BCP 47 tag ("en", "fr-FR") or NULL for the engine's default */
    const char *voice;    /**< engine voice id or NULL for the configured/default one */
    const char *out_path; /**< the audio file to write (created or truncated) */
    int timeout_ms;       /**< whole-call deadline; 0 = the plugin's default */
} cl_tts_request;

typedef struct cl_tts {
    cl_capability base;
    /** Synthesize req->text into req->out_path; append the JSON above to out. */
    int (*synthesize)(void *self, cl_call *call, const cl_tts_request *req, cl_output *out, cl_error *err);
    /** Optional: 1 when every setting is present; else 0 with the missing names. Must not block. */
    int (*configured)(void *self, char *missing, size_t missing_len);
} cl_tts;

/* ------------------------------------------------------------------------- */
/* Host services                                                             */
/* ------------------------------------------------------------------------- */

enum cl_log_level { CL_LOG_DEBUG = 0, CL_LOG_INFO = 1, CL_LOG_WARN = 2, CL_LOG_ERROR = 3 };

/**
 * The services the host hands to init. The table only grows at the end, and
 * every entry of the minor a plugin was built against is present (the host
 * refuses plugins built for a newer minor), so no entry needs testing.
 * The pointer stays valid for the life of the process.
 */
typedef struct cl_host_api {
    size_t size; /**< sizeof(cl_host_api) as the host knows it */
    int abi_major;
    int abi_minor;

    /** Log a line prefixed with the plugin's name. Never log secrets. */
    void (*log)(const cl_plugin_ctx *ctx, int level, const char *fmt, ...) CL_PRINTF(3, 4);

    /**
     * Read a configuration value from the plugin's own section: with the
     * manifest's config_prefix "MISTRAL", key "API_KEY" reads MISTRAL_API_KEY.
     * Returns a host-owned string valid for the life of the process, or NULL.
     * Read per call from the process environment (which includes the host's
     * .env file, loaded at start-up): read it in init to fix it at load time.
     */
    const char *(*config_get)(const cl_plugin_ctx *ctx, const char *key);

    /**
     * Register a capability; only allowed while init runs. Use CL_REGISTER,
     * which passes the struct's size. The host copies the struct, so it may
     * live on the stack. Returns CL_OK or a negative cl_status (duplicate id,
     * missing callback, unknown kind, called outside init).
     */
    int (*register_capability)(cl_plugin_ctx *ctx, const cl_capability *cap, size_t size);

    /** Perform an HTTP request (see cl_http_request). res->size must be set. */
    int (*http_do)(cl_call *call, const cl_http_request *req, cl_http_response *res,
                   cl_error *err);
    /** Free what http_do put into res (safe on a zeroed or already freed res). */
    void (*http_response_free)(cl_http_response *res);

    /** A directory for the plugin's temporary files (created on demand). */
    const char *(*temp_dir)(const cl_plugin_ctx *ctx);
    /** A directory of read-only assets shipped with the host (fonts, templates). */
    const char *(*asset_dir)(const cl_plugin_ctx *ctx);

    /** Non-zero once the host wants the current call to stop. Poll it. */
    int (*cancelled)(cl_call *call);
    /** Report progress of the current call (e.g. frames done of total). */
    void (*progress)(cl_call *call, int64_t done, int64_t total);

    /** Append bytes to a host-owned output. Returns CL_OK or CL_ENOMEM. */
    int (*output_append)(cl_output *out, const void *data, size_t len);

    /* ---- appended inside ABI 2.0: typed configuration and a cancellable wait ---- */
    /**
     * key's value (as config_get finds it) as a base-10 integer.
     * Unset or empty: def. Anything else than an optional sign and digits
     * (spaces around allowed) or a value outside int64: def, and the host
     * logs one warning naming the variable (never its value).
     */
    int64_t (*config_int)(const cl_plugin_ctx *ctx, const char *key, int64_t def);
    /**
     * key's value as a boolean: 1/true/yes/on or 0/false/no/off
     * (any case). Unset or empty: def; anything else: def and one warning.
     * (def is returned as given, so a sentinel such as -1 tells "invalid"
     * apart; likewise config_int with INT64_MIN.)
     */
    int (*config_bool)(const cl_plugin_ctx *ctx, const char *key, int def);
    /**
     * wait ms milliseconds, or less when the host cancels call
     * (call may be NULL: a plain wait). Returns CL_OK after the whole wait,
     * CL_ECANCELLED as soon as the call is cancelled (checked at least every
     * 20 ms). ms <= 0 returns at once (CL_ECANCELLED if already cancelled).
     */
    int (*sleep)(cl_call *call, int ms);
} cl_host_api;

/** Register a capability struct, passing its size. */
#define CL_REGISTER(api, ctx, capstruct)                                                           \
    ((api)->register_capability((ctx), &(capstruct)->base, sizeof(*(capstruct))))

/* ------------------------------------------------------------------------- */
/* Manifest and entry point                                                  */
/* ------------------------------------------------------------------------- */

/**
 * init: register capabilities and read configuration. Return CL_OK, or a
 * negative cl_status with a reason in err->message; the plugin is then
 * refused and none of its capabilities stay registered.
 */
typedef int (*cl_plugin_init_fn)(const cl_host_api *api, cl_plugin_ctx *ctx, cl_error *err);

/** What cliploop_plugin_entry() returns. Must be static/constant data. */
typedef struct cl_plugin_manifest {
    uint32_t magic;            /**< CL_PLUGIN_MAGIC */
    uint16_t abi_major;        /**< CL_ABI_MAJOR the plugin was built against */
    uint16_t abi_minor;        /**< CL_ABI_MINOR the plugin was built against */
    uint32_t manifest_size;    /**< sizeof(cl_plugin_manifest) */
    const char *fingerprint;   /**< CL_BUILD_FINGERPRINT */
    const char *name;          /**< unique plugin name, [a-z0-9_]+ */
    const char *version;       /**< plugin version, free form ("1.2.0") */
    const char *config_prefix; /**< env prefix of the plugin's section, e.g. "MISTRAL"; may be NULL */
    cl_plugin_init_fn init;
} cl_plugin_manifest;

/** Initializer for the fixed part of a manifest. */
#define CL_MANIFEST_INIT(name_, version_, prefix_, init_)                                          \
    {CL_PLUGIN_MAGIC, CL_ABI_MAJOR,    CL_ABI_MINOR, (uint32_t)sizeof(cl_plugin_manifest),          \
     CL_BUILD_FINGERPRINT, (name_), (version_), (prefix_), (init_)}

/** Define the entry point returning `manifest`. Use once per plugin. */
#define CL_PLUGIN_DEFINE(manifest)                                                                 \
    CL_EXPORT const cl_plugin_manifest *cliploop_plugin_entry(void);                                \
    CL_EXPORT const cl_plugin_manifest *cliploop_plugin_entry(void) { return &(manifest); }

typedef const cl_plugin_manifest *(*cl_plugin_entry_fn)(void);

/* ------------------------------------------------------------------------- */
/* Plugin-side shorthand, the sqlite3ext.h way                               */
/* ------------------------------------------------------------------------- */
/*
 * CL_PLUGIN(name, version, config_prefix, setup) writes the manifest, the
 * entry point and an init that keeps the host's services table and the
 * plugin's handle in two hidden globals, then calls
 * `int setup(cl_error *err)`. After that, plugin code (in any of its files)
 * calls the services as ordinary functions, with no api/ctx of its own:
 *
 *     static int hello_setup(cl_error *err)
 *     {
 *         cl_llm_provider p = {.base = {.kind = CL_CAP_LLM_PROVIDER, .id = "hello"},
 *                              .complete = hello_complete};
 *         return clp_register(&p);
 *     }
 *     CL_PLUGIN("hello_llm", "0.1.0", "HELLO", hello_setup)
 *
 * The globals are set once, on the host's main thread, before any callback
 * can run, and never change. CL_MANIFEST_INIT + CL_PLUGIN_DEFINE stay
 * available for a plugin that prefers to keep api and ctx itself.
 */
typedef int (*cl_plugin_setup_fn)(cl_error *err);

#if defined(__GNUC__)
#define CL_HIDDEN __attribute__((visibility("hidden")))
#else
#define CL_HIDDEN
#endif
/** Set by CL_PLUGIN's init; read by the clp_* shorthand below. */
extern CL_HIDDEN const cl_host_api *cl_plugin_api_;
extern CL_HIDDEN cl_plugin_ctx *cl_plugin_ctx_;

#define CL_PLUGIN(name_, version_, prefix_, setup_)                                                \
    CL_HIDDEN const cl_host_api *cl_plugin_api_;                                                   \
    CL_HIDDEN cl_plugin_ctx *cl_plugin_ctx_;                                                       \
    static int cl_plugin_init_(const cl_host_api *api_, cl_plugin_ctx *ctx_, cl_error *err_)        \
    {                                                                                              \
        cl_plugin_api_ = api_;                                                                     \
        cl_plugin_ctx_ = ctx_;                                                                     \
        return (setup_)(err_);                                                                     \
    }                                                                                              \
    static const cl_plugin_manifest cl_plugin_manifest_ =                                          \
        CL_MANIFEST_INIT((name_), (version_), (prefix_), cl_plugin_init_);                         \
    CL_PLUGIN_DEFINE(cl_plugin_manifest_)

/** The services as calls (each is the cl_host_api entry of the same name). */
#define clp_log(level, ...) (cl_plugin_api_->log(cl_plugin_ctx_, (level), __VA_ARGS__))
#define clp_config(key) (cl_plugin_api_->config_get(cl_plugin_ctx_, (key)))
#define clp_config_int(key, def) (cl_plugin_api_->config_int(cl_plugin_ctx_, (key), (def)))
#define clp_config_bool(key, def) (cl_plugin_api_->config_bool(cl_plugin_ctx_, (key), (def)))
#define clp_register(capp) CL_REGISTER(cl_plugin_api_, cl_plugin_ctx_, (capp))
#define clp_http_do(call, req, res, err) (cl_plugin_api_->http_do((call), (req), (res), (err)))
#define clp_http_response_free(res) (cl_plugin_api_->http_response_free(res))
#define clp_temp_dir() (cl_plugin_api_->temp_dir(cl_plugin_ctx_))
#define clp_asset_dir() (cl_plugin_api_->asset_dir(cl_plugin_ctx_))
#define clp_cancelled(call) (cl_plugin_api_->cancelled(call))
#define clp_progress(call, done, total) (cl_plugin_api_->progress((call), (done), (total)))
#define clp_sleep(call, ms) (cl_plugin_api_->sleep((call), (ms)))
#define clp_output_append(out, data, len) (cl_plugin_api_->output_append((out), (data), (len)))
/** Append a NUL-terminated string (without the NUL). */
#define clp_output_puts(out, str) (cl_plugin_api_->output_append((out), (str), strlen(str)))

/**
 * key's integer (config_int) when it lies in [min, max]; def when unset, not
 * a number (the host warns) or out of range (a warning naming the variable
 * and the range, never the value's context). For limits such as timeouts.
 */
static inline int64_t clp_config_range(const char *key, int64_t def, int64_t min, int64_t max)
{
    int64_t n = clp_config_int(key, def);
    if (n >= min && n <= max)
        return n;
    clp_log(CL_LOG_WARN, "configuration %s=%lld is outside %lld..%lld; using %lld", key, (long long)n,
            (long long)min, (long long)max, (long long)def);
    return def;
}

/* ------------------------------------------------------------------------- */
/* Pinned offsets of shipped ABI 2.0 fields (never change these within 2.x)   */
/* ------------------------------------------------------------------------- */
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && __SIZEOF_POINTER__ == 8
_Static_assert(offsetof(cl_plugin_manifest, magic) == 0, "ABI: manifest.magic");
_Static_assert(offsetof(cl_plugin_manifest, abi_major) == 4, "ABI: manifest.abi_major");
_Static_assert(offsetof(cl_plugin_manifest, abi_minor) == 6, "ABI: manifest.abi_minor");
_Static_assert(offsetof(cl_plugin_manifest, manifest_size) == 8, "ABI: manifest.manifest_size");
_Static_assert(offsetof(cl_plugin_manifest, fingerprint) == 16, "ABI: manifest.fingerprint");
_Static_assert(offsetof(cl_plugin_manifest, init) == 48, "ABI: manifest.init");
_Static_assert(offsetof(cl_capability, id) == 16, "ABI: capability.id");
_Static_assert(offsetof(cl_capability, self) == 40, "ABI: capability.self");
_Static_assert(sizeof(cl_capability) == 48, "ABI: capability size");
_Static_assert(offsetof(cl_llm_provider, complete) == 48, "ABI: llm_provider.complete");
_Static_assert(offsetof(cl_renderer, render) == 48, "ABI: renderer.render");
_Static_assert(offsetof(cl_publisher, publish) == 48, "ABI: publisher.publish");
_Static_assert(offsetof(cl_ingester, ingest) == 48, "ABI: ingester.ingest");
_Static_assert(offsetof(cl_billing_provider, create_checkout) == 48, "ABI: billing.create_checkout");
_Static_assert(offsetof(cl_billing_provider, parse_webhook) == 64, "ABI: billing.parse_webhook");
_Static_assert(offsetof(cl_billing_provider, signature_header) == 72, "ABI: billing.signature_header");
_Static_assert(offsetof(cl_billing_provider, configured) == 88, "ABI: billing.configured");
_Static_assert(offsetof(cl_host_api, log) == 16, "ABI: host_api.log");
_Static_assert(offsetof(cl_host_api, output_append) == 88, "ABI: host_api.output_append");
_Static_assert(offsetof(cl_error, code) == 8, "ABI: error.code");
_Static_assert(offsetof(cl_error, message) == 20, "ABI: error.message");
_Static_assert(offsetof(cl_http_response, effective_url) == 160, "ABI: http_response.effective_url");
_Static_assert(offsetof(cl_llm_request, temperature) == 48, "ABI: llm_request.temperature");
_Static_assert(offsetof(cl_llm_request, max_tokens) == 56, "ABI: llm_request.max_tokens");
_Static_assert(offsetof(cl_publisher, authorize_url) == 56, "ABI: publisher.authorize_url");
_Static_assert(offsetof(cl_publisher, permalink) == 112, "ABI: publisher.permalink");
_Static_assert(offsetof(cl_publisher, insights) == 120, "ABI: publisher.insights (1.3)");
_Static_assert(offsetof(cl_publish_request, account_id) == 56, "ABI: publish_request.account_id");
_Static_assert(offsetof(cl_publish_request, idempotency_key) == 80, "ABI: publish_request.idempotency_key");
/* ABI 1.4: mailer */
_Static_assert(offsetof(cl_mailer, send) == 48, "ABI: mailer.send");
_Static_assert(offsetof(cl_mailer, outbox) == 56, "ABI: mailer.outbox");
_Static_assert(offsetof(cl_mailer, configured) == 64, "ABI: mailer.configured");
_Static_assert(offsetof(cl_mail_message, subject) == 32, "ABI: mail_message.subject");
_Static_assert(offsetof(cl_mail_message, timeout_ms) == 56, "ABI: mail_message.timeout_ms");
/* ABI 1.5: storage */
_Static_assert(offsetof(cl_storage, put_file) == 48, "ABI: storage.put_file");
_Static_assert(offsetof(cl_storage, configured) == 104, "ABI: storage.configured");
/* ABI 2.0: tts (kind 8) */
_Static_assert(offsetof(cl_tts, synthesize) == 48, "ABI: tts.synthesize");
_Static_assert(offsetof(cl_tts, configured) == 56, "ABI: tts.configured");
_Static_assert(offsetof(cl_tts_request, out_path) == 32, "ABI: tts_request.out_path");
_Static_assert(offsetof(cl_tts_request, timeout_ms) == 40, "ABI: tts_request.timeout_ms");
/* ABI 2.0 (appended): typed configuration and sleep */
_Static_assert(offsetof(cl_host_api, config_int) == 96, "ABI: host_api.config_int");
_Static_assert(offsetof(cl_host_api, config_bool) == 104, "ABI: host_api.config_bool");
_Static_assert(offsetof(cl_host_api, sleep) == 112, "ABI: host_api.sleep");
/* ABI 2.1: several videos per render call */
_Static_assert(offsetof(cl_render_request, thumbnail_path) == 32, "ABI: render_request.thumbnail_path");
_Static_assert(offsetof(cl_render_request, outputs) == 40, "ABI: render_request.outputs (2.1)");
_Static_assert(offsetof(cl_render_request, n_outputs) == 48, "ABI: render_request.n_outputs (2.1)");
_Static_assert(offsetof(cl_renderer, max_outputs) == 56, "ABI: renderer.max_outputs (2.1)");
_Static_assert(offsetof(cl_render_output, composition_json) == 8, "ABI: render_output.composition_json (2.1)");
_Static_assert(offsetof(cl_render_output, thumbnail_path) == 24, "ABI: render_output.thumbnail_path (2.1)");
#endif

#ifdef __cplusplus
}
#endif
#endif /* CLIPLOOP_PLUGIN_H */
