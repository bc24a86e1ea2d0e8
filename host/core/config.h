/*
 * config.h — configuration from environment variables, optionally seeded from
 * a .env file (variables already in the environment win). Every variable is
 * a row of one table (core/config_vars.c) that holds its default, range and
 * documentation; .env.example is generated from it (cliploop config-doc). A malformed value fails start-up with
 * a message naming the variable.
 */
#ifndef CL_CORE_CONFIG_H
#define CL_CORE_CONFIG_H

#include <stddef.h>
#include <stdio.h>

/** Most ports CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS may list. */
#define CL_CONFIG_MAX_LOOPBACK_PORTS 16

/** The default scrypt cost of password hashes: N = 2^17 (OWASP's minimum for r = 8, p = 1). */
#define CL_SCRYPT_LOG_N_DEFAULT 17

typedef struct cl_config {
    /* HTTP */
    char host[256];         /**< HOST, default 127.0.0.1 */
    char trusted_proxies[1024]; /**< CLIPLOOP_TRUSTED_PROXIES: comma-separated IPs/CIDRs whose X-Forwarded-For is believed; default none */
    int port;               /**< PORT, default 3000 */
    int http_threads;       /**< CLIPLOOP_HTTP_THREADS: event-loop threads, default 2 */
    int http_pool_threads;  /**< CLIPLOOP_HTTP_POOL_THREADS: blocking-handler threads, default 8 */
    int db_loop_connections; /**< CLIPLOOP_DB_LOOP_CONNECTIONS: per loop thread, for read routes (http/loopdb.h); 0 = off, default 4 */
    int llm_threads;        /**< CLIPLOOP_LLM_THREADS: provider-pool threads (routes that call an LLM), default 16 */
    int llm_per_user;       /**< CLIPLOOP_LLM_PER_USER: provider calls one user may have in flight, default 4 */
    size_t max_body_bytes;  /**< CLIPLOOP_MAX_BODY_BYTES, default 1 MiB */
    int access_log;         /**< CLIPLOOP_ACCESS_LOG, default true */
    int shutdown_timeout_ms;/**< CLIPLOOP_SHUTDOWN_TIMEOUT_MS: in-flight grace, default 10000 */
    /* Database */
    char database_url[1024];/**< DATABASE_URL (libpq URI or key=value string); required */
    int db_pool_size;       /**< CLIPLOOP_DB_POOL_SIZE, default 8 */
    /* Paths */
    char plugin_dir[1024];  /**< CLIPLOOP_PLUGIN_DIR, default <exe dir>/plugins */
    char music_dir[1024];   /**< CLIPLOOP_MUSIC_DIR: the bundled music beds, default <exe dir>/music (docs/audio.md) */
    char storage_dir[1024]; /**< CLIPLOOP_STORAGE_DIR, default var/storage */
    char storage[64];       /**< STORAGE: storage capability id (local|s3), default local (docs/storage.md) */
    int storage_url_ttl_seconds; /**< STORAGE_URL_TTL_SECONDS: lifetime of presigned download URLs, default 900 */
    char web_dir[1024];     /**< CLIPLOOP_WEB_DIR, default <source>/web */
    char migrations_dir[1024]; /**< CLIPLOOP_MIGRATIONS_DIR, default <source>/migrations */
    char asset_dir[1024];   /**< CLIPLOOP_ASSET_DIR, default <source>/assets */
    char schema_dir[1024];  /**< CLIPLOOP_SCHEMA_DIR, default <source>/sdk/schemas */
    /* Product */
    int mock_mode;          /**< MOCK_MODE, default false */
    int allow_public_mock;  /**< CLIPLOOP_ALLOW_PUBLIC_MOCK, default false: serve refuses MOCK_MODE on a non-loopback HOST */
    char llm_provider[64];  /**< LLM_PROVIDER, default mock */
    char renderer[64];      /**< RENDERER: renderer capability id (ffmpeg|hyperframes), default ffmpeg */
    char tts_provider[64];  /**< TTS_PROVIDER: tts capability id (espeak|openai_compat) or "none", default espeak (docs/audio.md) */
    int tts_timeout_ms;     /**< TTS_TIMEOUT_MS: deadline of one voiceover synthesis, default 60000 */
    /* Jobs */
    int workers;            /**< CLIPLOOP_WORKERS: worker child processes serve runs, default 1 */
    int worker_concurrency; /**< CLIPLOOP_WORKER_CONCURRENCY: jobs at once per worker, default 2 */
    int job_lease_ms;       /**< CLIPLOOP_JOB_LEASE_MS, default 30000 */
    int job_backoff_ms;     /**< CLIPLOOP_JOB_BACKOFF_MS: first retry delay, doubles, default 2000 */
    int job_max_attempts;   /**< CLIPLOOP_JOB_MAX_ATTEMPTS, default 5 */
    int job_poll_ms;        /**< CLIPLOOP_JOB_POLL_MS: idle poll when no NOTIFY arrives, default 1000 */
    int scheduler_tick_ms;  /**< CLIPLOOP_SCHEDULER_TICK_MS: worker scheduler period (due publishes, periodic tasks), default 500 */
    /* Outbound HTTP */
    int http_allow_loopback;/**< CLIPLOOP_HTTP_ALLOW_LOOPBACK: tests only, default false */
    int http_timeout_ms;    /**< CLIPLOOP_HTTP_TIMEOUT_MS: default per-attempt deadline, 30000 */
    size_t http_max_response_bytes; /**< CLIPLOOP_HTTP_MAX_RESPONSE_BYTES, default 32 MiB */
    int test_routes;        /**< CLIPLOOP_TEST_ROUTES: /api/_test diagnostics for the test suite, default false */
    char log_level[16];     /**< CLIPLOOP_LOG_LEVEL: debug|info|warn|error, default info */
    /* Accounts and access (host/auth) */
    int invite_only_mode;   /**< INVITE_ONLY_MODE: product workflows only for beta/Pro users, default true */
    int session_ttl_seconds;/**< CLIPLOOP_SESSION_TTL_SECONDS: session lifetime, default 1209600 (14 days) */
    int login_max_failures; /**< CLIPLOOP_LOGIN_MAX_FAILURES: failed log-ins per email per window before 429, default 5 */
    int login_max_failures_per_addr; /**< CLIPLOOP_LOGIN_MAX_FAILURES_PER_ADDR: same per client address, default 20 */
    int login_window_seconds; /**< CLIPLOOP_LOGIN_WINDOW_SECONDS: the failure-counting window, default 900 */
    int chat_free_per_minute;  /**< CLIPLOOP_CHAT_FREE_PER_MINUTE: free chat messages per user per minute, default 10 */
    int chat_free_max_queued;  /**< CLIPLOOP_CHAT_FREE_MAX_QUEUED: unanswered free chat messages per user, default 5 */
    int login_backoff_seconds; /**< CLIPLOOP_LOGIN_BACKOFF_SECONDS: first per-account lock after max failures, doubling per further failure; default 2 */
    int scrypt_log_n;       /**< CLIPLOOP_SCRYPT_LOG_N: scrypt cost for new hashes (N = 2^x, r=8, p=1), default 15 */
    int cookie_secure;      /**< CLIPLOOP_COOKIE_SECURE: always mark the session cookie Secure, default false */
    /* Outbound HTTP, continued */
    int http_allow_loopback_ports[CL_CONFIG_MAX_LOOPBACK_PORTS]; /**< CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS: tests only; loopback allowed for these TCP ports only */
    int http_allow_loopback_port_count; /**< entries used in http_allow_loopback_ports; 0 = not set */
    /* Billing (host/billing) */
    char billing_provider[64]; /**< BILLING_PROVIDER: billing_provider capability id, or "none" (default): billing routes answer 503 */
    /* Publishing (host/publishing). ENCRYPTION_SECRET itself is read by core/seal.c. */
    char public_base_url[512]; /**< PUBLIC_BASE_URL: how the internet reaches this host (no trailing slash), "" = unset */
    int public_media_ttl_seconds; /**< CLIPLOOP_PUBLIC_MEDIA_TTL_SECONDS: lifetime of public media URLs, default 86400 */
    int oauth_state_ttl_seconds;  /**< CLIPLOOP_OAUTH_STATE_TTL_SECONDS: lifetime of a connect flow's state, default 600 */
    int publish_poll_ms;          /**< CLIPLOOP_PUBLISH_POLL_MS: first wait between container status polls (doubles), default 2000 */
    int publish_poll_budget_ms;   /**< CLIPLOOP_PUBLISH_POLL_BUDGET_MS: polling per job attempt before retrying later, default 120000 */
    /* Performance and the learning loop (host/metrics, host/iteration) */
    int rollup_interval_ms; /**< CLIPLOOP_ROLLUP_INTERVAL_MS: how often workers look for cycles due a nightly rollup, default 60000 */
    int analyze_per_hour;   /**< CLIPLOOP_ANALYZE_PER_HOUR: analyses per project per hour before 429, default 10 */
    /* Account mail (host/mail, host/auth/email.c) */
    char mail_provider[64];  /**< MAIL_PROVIDER: mailer capability id ("smtp", "mock") or "none"; default mock in MOCK_MODE, else none */
    char mail_from[256];     /**< MAIL_FROM: sender address, default no-reply@cliploop.test */
    char mail_from_name[128];/**< MAIL_FROM_NAME: sender display name, default ClipLoop */
    int mail_timeout_ms;     /**< MAIL_TIMEOUT_MS: deadline of one delivery, default 10000 */
    int email_verify_ttl_seconds; /**< CLIPLOOP_EMAIL_VERIFY_TTL_SECONDS: verification link lifetime, default 86400 */
    int password_reset_ttl_seconds; /**< CLIPLOOP_PASSWORD_RESET_TTL_SECONDS: reset link lifetime, default 3600 */
    int mail_resend_seconds; /**< CLIPLOOP_MAIL_RESEND_SECONDS: least time between two account mails to one address, default 60 */
    int mail_max_per_hour;   /**< CLIPLOOP_MAIL_MAX_PER_HOUR: account mails per e-mail address (= per account) per hour, default 5 */
    int mail_max_per_client_per_hour; /**< CLIPLOOP_MAIL_MAX_PER_CLIENT_PER_HOUR: account mails requested per client address per hour, default 20 */
} cl_config;

/** How cl_config_load reads a variable of the table (CL_CFG_DOC: it does not; a plugin,
    core/seal.c or code of its own does, and the table only documents it). */
typedef enum cl_cfg_type { CL_CFG_DOC = 0, CL_CFG_STR, CL_CFG_INT, CL_CFG_SIZE, CL_CFG_BOOL } cl_cfg_type;

/** One configuration variable (core/config_vars.c). All strings static. */
typedef struct cl_config_var {
    const char *before; /**< .env.example's lines above the variable's line (headings, documentation), or NULL */
    const char *name;   /**< the environment variable */
    const char *shown;  /**< the value its line shows (NULL: empty); the default unless def is set */
    int active;         /**< 1: the line is not commented out */
    cl_cfg_type type;
    long min, max;      /**< CL_CFG_INT / CL_CFG_SIZE range */
    const char *def;    /**< the default when it differs from shown; "<exe>" = the executable's directory */
    size_t off, size;   /**< the cl_config field it fills (not CL_CFG_DOC) */
} cl_config_var;

/** The table: every variable in .env.example's order. */
extern const cl_config_var cl_config_vars[];
extern const size_t cl_config_var_count;
extern const char *const cl_config_doc_tail;

/** Write .env.example as the table generates it to f. Returns 0, or -1 on a write error. */
int cl_config_write_doc(FILE *f);

/** `cliploop config-doc`: print .env.example (the table's documentation) on stdout. */
int cl_cmd_config_doc(int argc, char **argv);

/** The process-wide configuration, filled by cl_config_load. Read-only after start-up. */
extern cl_config cl_cfg;

/**
 * Load .env (path from CLIPLOOP_ENV_FILE, else ./.env if present) into the
 * environment without overriding, then parse every variable into cl_cfg.
 * Returns 0, or -1 with a message naming the variable in err.
 */
int cl_config_load(char *err, size_t errlen);

/**
 * Parse one .env file into the environment (existing variables win).
 * Returns 0, -1 if unreadable (err set), or -2 for a syntax error (err names the line).
 */
int cl_config_load_env_file(const char *path, char *err, size_t errlen);

/** Parse helpers, exposed for tests. Return 0 or -1 with err naming `name`. */
int cl_config_parse_int(const char *name, const char *value, long min, long max, long *out, char *err,
                        size_t errlen);
int cl_config_parse_bool(const char *name, const char *value, int *out, char *err, size_t errlen);

/** Directory holding the running executable (no trailing slash). */
const char *cl_exe_dir(void);

/**
 * Parse a comma-separated list of TCP ports (1..65535, spaces around entries
 * allowed, no empty entries, at most max) into out (caller-owned, max
 * entries); *count receives how many. An empty or all-blank value gives
 * *count = 0. Returns 0, or -1 with err naming `name`.
 */
int cl_config_parse_ports(const char *name, const char *value, int *out, int max, int *count,
                          char *err, size_t errlen);

#endif
