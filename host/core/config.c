#include "core/config.h"
#include "core/seal.h"
#include "core/log.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

cl_config cl_cfg;

const char *cl_exe_dir(void)
{
    static char dir[PATH_MAX];
    if (!dir[0]) {
        ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
        if (n <= 0) {
            strcpy(dir, ".");
        } else {
            dir[n] = '\0';
            char *slash = strrchr(dir, '/');
            if (slash)
                *slash = '\0';
        }
    }
    return dir;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

int cl_config_load_env_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        if (strncmp(s, "export ", 7) == 0)
            s = trim(s + 7);
        char *eq = strchr(s, '=');
        if (!eq || eq == s) {
            snprintf(err, errlen, "%s:%d: expected NAME=value", path, lineno);
            fclose(f);
            return -2;
        }
        *eq = '\0';
        char *name = trim(s);
        char *value = trim(eq + 1);
        for (char *p = name; *p; p++)
            if (!(isalnum((unsigned char)*p) || *p == '_')) {
                snprintf(err, errlen, "%s:%d: bad variable name '%s'", path, lineno, name);
                fclose(f);
                return -2;
            }
        size_t vl = strlen(value);
        if (vl >= 2 && (value[0] == '"' || value[0] == '\'') && value[vl - 1] == value[0]) {
            value[vl - 1] = '\0';
            value++;
        }
        setenv(name, value, 0);
    }
    fclose(f);
    return 0;
}

int cl_config_parse_int(const char *name, const char *value, long min, long max, long *out, char *err,
                        size_t errlen)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end != '\0') {
        snprintf(err, errlen, "%s=%s is not a whole number", name, value);
        return -1;
    }
    if (v < min || v > max) {
        snprintf(err, errlen, "%s=%ld is out of range (%ld..%ld)", name, v, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int cl_config_parse_bool(const char *name, const char *value, int *out, char *err, size_t errlen)
{
    static const char *yes[] = {"1", "true", "yes", "on"};
    static const char *no[] = {"0", "false", "no", "off", ""};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (strcasecmp(value, yes[i]) == 0)
            return *out = 1, 0;
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (strcasecmp(value, no[i]) == 0)
            return *out = 0, 0;
    snprintf(err, errlen, "%s=%s is not a boolean (use true or false)", name, value);
    return -1;
}

static int get_int(const char *name, long def, long min, long max, int *out, char *err, size_t errlen)
{
    const char *v = getenv(name);
    long n = def;
    if (v && *v && cl_config_parse_int(name, v, min, max, &n, err, errlen))
        return -1;
    *out = (int)n;
    return 0;
}

static int get_size(const char *name, long def, long min, long max, size_t *out, char *err,
                    size_t errlen)
{
    const char *v = getenv(name);
    long n = def;
    if (v && *v && cl_config_parse_int(name, v, min, max, &n, err, errlen))
        return -1;
    *out = (size_t)n;
    return 0;
}

static int get_bool(const char *name, int def, int *out, char *err, size_t errlen)
{
    const char *v = getenv(name);
    *out = def;
    return v ? cl_config_parse_bool(name, v, out, err, errlen) : 0;
}

static int get_str(const char *name, const char *def, char *out, size_t outlen, char *err,
                   size_t errlen)
{
    const char *v = getenv(name);
    if (!v || !*v)
        v = def;
    if (strlen(v) >= outlen) {
        snprintf(err, errlen, "%s is too long (max %zu bytes)", name, outlen - 1);
        return -1;
    }
    strcpy(out, v);
    return 0;
}

static int is_ident(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

int cl_config_load(char *err, size_t errlen)
{
    cl_config *c = &cl_cfg;
    memset(c, 0, sizeof *c);
    const char *envfile = getenv("CLIPLOOP_ENV_FILE");
    if (envfile && *envfile) {
        if (cl_config_load_env_file(envfile, err, errlen))
            return -1;
    } else if (access(".env", R_OK) == 0) {
        if (cl_config_load_env_file(".env", err, errlen))
            return -1;
    }

    /* Source-tree defaults: the executable lives in <source>/build[-x]/, so
       <exe>/../web etc. work for a build inside the checkout. */
    char def[1100];
    if (get_str("HOST", "127.0.0.1", c->host, sizeof c->host, err, errlen)) return -1;
    if (get_str("CLIPLOOP_TRUSTED_PROXIES", "", c->trusted_proxies, sizeof c->trusted_proxies, err, errlen)) return -1;
    if (get_int("PORT", 3000, 0, 65535, &c->port, err, errlen)) return -1;
    if (get_int("CLIPLOOP_HTTP_THREADS", 2, 1, 64, &c->http_threads, err, errlen)) return -1;
    if (get_int("CLIPLOOP_HTTP_POOL_THREADS", 8, 1, 256, &c->http_pool_threads, err, errlen)) return -1;
    if (get_int("CLIPLOOP_DB_LOOP_CONNECTIONS", 4, 0, 16, &c->db_loop_connections, err, errlen)) return -1;
    if (get_int("CLIPLOOP_LLM_THREADS", 16, 1, 256, &c->llm_threads, err, errlen)) return -1;
    if (get_int("CLIPLOOP_LLM_PER_USER", 4, 1, 256, &c->llm_per_user, err, errlen)) return -1;
    if (get_size("CLIPLOOP_MAX_BODY_BYTES", 1 << 20, 1024, 1L << 30, &c->max_body_bytes, err, errlen)) return -1;
    if (get_bool("CLIPLOOP_ACCESS_LOG", 1, &c->access_log, err, errlen)) return -1;
    if (get_int("CLIPLOOP_SHUTDOWN_TIMEOUT_MS", 10000, 0, 600000, &c->shutdown_timeout_ms, err, errlen)) return -1;

    if (get_str("DATABASE_URL", "", c->database_url, sizeof c->database_url, err, errlen)) return -1;
    if (get_int("CLIPLOOP_DB_POOL_SIZE", 8, 1, 256, &c->db_pool_size, err, errlen)) return -1;

    snprintf(def, sizeof def, "%s/plugins", cl_exe_dir());
    if (get_str("CLIPLOOP_PLUGIN_DIR", def, c->plugin_dir, sizeof c->plugin_dir, err, errlen)) return -1;
    snprintf(def, sizeof def, "%s/music", cl_exe_dir());
    if (get_str("CLIPLOOP_MUSIC_DIR", def, c->music_dir, sizeof c->music_dir, err, errlen)) return -1;
    if (get_str("CLIPLOOP_STORAGE_DIR", "var/storage", c->storage_dir, sizeof c->storage_dir, err, errlen)) return -1;
    /* storage_local reads the root from its own section (CLIPLOOP_STORAGE_DIR): give it the default too. */
    setenv("CLIPLOOP_STORAGE_DIR", c->storage_dir, 1);
    if (get_str("STORAGE", "local", c->storage, sizeof c->storage, err, errlen)) return -1;
    if (!is_ident(c->storage)) {
        snprintf(err, errlen, "STORAGE=%s is not a storage backend name (lower-case letters, digits, _)", c->storage);
        return -1;
    }
    if (get_int("STORAGE_URL_TTL_SECONDS", 900, 60, 604800, &c->storage_url_ttl_seconds, err, errlen)) return -1;
    snprintf(def, sizeof def, "%s/../web", cl_exe_dir());
    if (get_str("CLIPLOOP_WEB_DIR", def, c->web_dir, sizeof c->web_dir, err, errlen)) return -1;
    snprintf(def, sizeof def, "%s/../migrations", cl_exe_dir());
    if (get_str("CLIPLOOP_MIGRATIONS_DIR", def, c->migrations_dir, sizeof c->migrations_dir, err, errlen)) return -1;
    snprintf(def, sizeof def, "%s/../assets", cl_exe_dir());
    if (get_str("CLIPLOOP_ASSET_DIR", def, c->asset_dir, sizeof c->asset_dir, err, errlen)) return -1;
    snprintf(def, sizeof def, "%s/../sdk/schemas", cl_exe_dir());
    if (get_str("CLIPLOOP_SCHEMA_DIR", def, c->schema_dir, sizeof c->schema_dir, err, errlen)) return -1;

    if (get_bool("MOCK_MODE", 0, &c->mock_mode, err, errlen)) return -1;
    if (get_bool("CLIPLOOP_ALLOW_PUBLIC_MOCK", 0, &c->allow_public_mock, err, errlen)) return -1;
    if (get_str("LLM_PROVIDER", "mock", c->llm_provider, sizeof c->llm_provider, err, errlen)) return -1;
    if (!is_ident(c->llm_provider)) {
        snprintf(err, errlen, "LLM_PROVIDER=%s is not a provider name (lower-case letters, digits, _)",
                 c->llm_provider);
        return -1;
    }

    if (get_str("RENDERER", "ffmpeg", c->renderer, sizeof c->renderer, err, errlen)) return -1;
    if (!is_ident(c->renderer)) {
        snprintf(err, errlen, "RENDERER=%s is not a renderer name (lower-case letters, digits, _)", c->renderer);
        return -1;
    }
    if (get_str("TTS_PROVIDER", "espeak", c->tts_provider, sizeof c->tts_provider, err, errlen)) return -1;
    if (!c->tts_provider[0])
        snprintf(c->tts_provider, sizeof c->tts_provider, "none");
    if (!is_ident(c->tts_provider)) {
        snprintf(err, errlen, "TTS_PROVIDER=%s is not a text-to-speech engine name (espeak, openai_compat or none)",
                 c->tts_provider);
        return -1;
    }
    if (get_int("TTS_TIMEOUT_MS", 60000, 100, 600000, &c->tts_timeout_ms, err, errlen)) return -1;
    if (get_str("BILLING_PROVIDER", "none", c->billing_provider, sizeof c->billing_provider, err, errlen)) return -1;
    if (!c->billing_provider[0])
        snprintf(c->billing_provider, sizeof c->billing_provider, "none");
    if (!is_ident(c->billing_provider)) {
        snprintf(err, errlen, "BILLING_PROVIDER=%s is not a provider name (lower-case letters, digits, _)",
                 c->billing_provider);
        return -1;
    }
    if (get_int("CLIPLOOP_WORKERS", 1, 0, 64, &c->workers, err, errlen)) return -1;
    if (get_int("CLIPLOOP_WORKER_CONCURRENCY", 2, 1, 64, &c->worker_concurrency, err, errlen)) return -1;
    if (get_int("CLIPLOOP_JOB_LEASE_MS", 30000, 200, 86400000, &c->job_lease_ms, err, errlen)) return -1;
    if (get_int("CLIPLOOP_JOB_BACKOFF_MS", 2000, 0, 86400000, &c->job_backoff_ms, err, errlen)) return -1;
    if (get_int("CLIPLOOP_JOB_MAX_ATTEMPTS", 5, 1, 100, &c->job_max_attempts, err, errlen)) return -1;
    if (get_int("CLIPLOOP_JOB_POLL_MS", 1000, 10, 60000, &c->job_poll_ms, err, errlen)) return -1;
    if (get_int("CLIPLOOP_SCHEDULER_TICK_MS", 500, 10, 60000, &c->scheduler_tick_ms, err, errlen)) return -1;

    if (get_bool("CLIPLOOP_HTTP_ALLOW_LOOPBACK", 0, &c->http_allow_loopback, err, errlen)) return -1;
    if (get_int("CLIPLOOP_HTTP_TIMEOUT_MS", 30000, 100, 3600000, &c->http_timeout_ms, err, errlen)) return -1;
    if (get_size("CLIPLOOP_HTTP_MAX_RESPONSE_BYTES", 32L << 20, 1024, 1L << 32, &c->http_max_response_bytes, err, errlen)) return -1;

    if (get_bool("CLIPLOOP_TEST_ROUTES", 0, &c->test_routes, err, errlen)) return -1;
    if (get_str("CLIPLOOP_LOG_LEVEL", "info", c->log_level, sizeof c->log_level, err, errlen)) return -1;
    if (cl_log_set_level_name(c->log_level)) {
        snprintf(err, errlen, "CLIPLOOP_LOG_LEVEL=%s is not one of debug, info, warn, error", c->log_level);
        return -1;
    }

    if (get_bool("INVITE_ONLY_MODE", 1, &c->invite_only_mode, err, errlen)) return -1;
    if (get_int("CLIPLOOP_SESSION_TTL_SECONDS", 1209600, 1, 31536000, &c->session_ttl_seconds, err, errlen)) return -1;
    if (get_int("CLIPLOOP_LOGIN_MAX_FAILURES", 5, 1, 1000, &c->login_max_failures, err, errlen)) return -1;
    if (get_int("CLIPLOOP_LOGIN_MAX_FAILURES_PER_ADDR", 20, 1, 100000, &c->login_max_failures_per_addr, err, errlen)) return -1;
    if (get_int("CLIPLOOP_LOGIN_WINDOW_SECONDS", 900, 1, 86400, &c->login_window_seconds, err, errlen)) return -1;
    if (get_int("CLIPLOOP_LOGIN_BACKOFF_SECONDS", 2, 1, 3600, &c->login_backoff_seconds, err, errlen)) return -1;
    if (get_int("CLIPLOOP_CHAT_FREE_PER_MINUTE", 10, 1, 100000, &c->chat_free_per_minute, err, errlen)) return -1;
    if (get_int("CLIPLOOP_CHAT_FREE_MAX_QUEUED", 5, 1, 100000, &c->chat_free_max_queued, err, errlen)) return -1;
    if (get_int("CLIPLOOP_SCRYPT_LOG_N", CL_SCRYPT_LOG_N_DEFAULT, 10, 20, &c->scrypt_log_n, err, errlen)) return -1;
    if (get_bool("CLIPLOOP_COOKIE_SECURE", 0, &c->cookie_secure, err, errlen)) return -1;

    if (get_str("PUBLIC_BASE_URL", "", c->public_base_url, sizeof c->public_base_url, err, errlen)) return -1;
    size_t bl = strlen(c->public_base_url);
    while (bl > 0 && c->public_base_url[bl - 1] == '/')
        c->public_base_url[--bl] = '\0';
    if (bl && strncmp(c->public_base_url, "http://", 7) != 0 && strncmp(c->public_base_url, "https://", 8) != 0) {
        snprintf(err, errlen, "PUBLIC_BASE_URL=%s must start with https:// (or http://)", c->public_base_url);
        return -1;
    }
    if (get_int("CLIPLOOP_PUBLIC_MEDIA_TTL_SECONDS", 86400, 60, 604800, &c->public_media_ttl_seconds, err, errlen)) return -1;
    if (get_int("CLIPLOOP_OAUTH_STATE_TTL_SECONDS", 600, 1, 86400, &c->oauth_state_ttl_seconds, err, errlen)) return -1;
    if (get_int("CLIPLOOP_PUBLISH_POLL_MS", 2000, 10, 60000, &c->publish_poll_ms, err, errlen)) return -1;
    if (get_int("CLIPLOOP_PUBLISH_POLL_BUDGET_MS", 120000, 0, 3600000, &c->publish_poll_budget_ms, err, errlen)) return -1;
    if (get_int("CLIPLOOP_ROLLUP_INTERVAL_MS", 60000, 10, 86400000, &c->rollup_interval_ms, err, errlen)) return -1;
    if (get_int("CLIPLOOP_ANALYZE_PER_HOUR", 10, 1, 10000, &c->analyze_per_hour, err, errlen)) return -1;
    if (get_str("MAIL_PROVIDER", c->mock_mode ? "mock" : "none", c->mail_provider, sizeof c->mail_provider, err,
                errlen)) return -1;
    if (!is_ident(c->mail_provider)) {
        snprintf(err, errlen, "MAIL_PROVIDER=%s is not a mailer name (smtp, mock or none)", c->mail_provider);
        return -1;
    }
    if (get_str("MAIL_FROM", "no-reply@cliploop.test", c->mail_from, sizeof c->mail_from, err, errlen)) return -1;
    {
        /* A bare address: it goes into MAIL FROM and the From header. */
        const char *at = strchr(c->mail_from, '@');
        int ok = at && at != c->mail_from && at[1] && !strchr(at + 1, '@');
        for (const char *p = c->mail_from; ok && *p; p++)
            ok = (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f && !strchr("<>\"(),;:[]\\", *p);
        if (!ok) {
            snprintf(err, errlen, "MAIL_FROM=%s is not a bare e-mail address (name@example.com)", c->mail_from);
            return -1;
        }
    }
    if (get_str("MAIL_FROM_NAME", "ClipLoop", c->mail_from_name, sizeof c->mail_from_name, err, errlen)) return -1;
    if (get_int("MAIL_TIMEOUT_MS", 10000, 100, 120000, &c->mail_timeout_ms, err, errlen)) return -1;
    if (get_int("CLIPLOOP_EMAIL_VERIFY_TTL_SECONDS", 86400, 1, 2592000, &c->email_verify_ttl_seconds, err, errlen)) return -1;
    if (get_int("CLIPLOOP_PASSWORD_RESET_TTL_SECONDS", 3600, 1, 86400, &c->password_reset_ttl_seconds, err, errlen)) return -1;
    if (get_int("CLIPLOOP_MAIL_RESEND_SECONDS", 60, 0, 86400, &c->mail_resend_seconds, err, errlen)) return -1;
    if (get_int("CLIPLOOP_MAIL_MAX_PER_HOUR", 5, 1, 10000, &c->mail_max_per_hour, err, errlen)) return -1;
    if (get_int("CLIPLOOP_MAIL_MAX_PER_CLIENT_PER_HOUR", 20, 1, 100000, &c->mail_max_per_client_per_hour, err, errlen)) return -1;
    {
        cl_keyring kr;
        int bad = cl_keyring_init(&kr, getenv("ENCRYPTION_SECRET"), getenv("ENCRYPTION_SECRET_PREVIOUS"), err, errlen);
        cl_keyring_wipe(&kr);
        if (bad)
            return -1;
    }

    const char *ports = getenv("CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS");
    if (ports && cl_config_parse_ports("CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS", ports,
                                       c->http_allow_loopback_ports, CL_CONFIG_MAX_LOOPBACK_PORTS,
                                       &c->http_allow_loopback_port_count, err, errlen))
        return -1;
    return 0;
}

int cl_config_parse_ports(const char *name, const char *value, int *out, int max, int *count,
                          char *err, size_t errlen)
{
    *count = 0;
    const char *p = value;
    while (isspace((unsigned char)*p))
        p++;
    if (!*p)
        return 0; /* empty = not set */
    int n = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *start = p;
        long v = 0;
        for (; isdigit((unsigned char)*p); p++)
            if (v <= 65535) /* stop growing once out of range; still consume the digits */
                v = v * 10 + (*p - '0');
        const char *end = p;
        while (*p == ' ' || *p == '\t')
            p++;
        if (end == start || (*p && *p != ',')) {
            snprintf(err, errlen, "%s=%s is not a comma-separated list of port numbers", name, value);
            return -1;
        }
        if (v < 1 || v > 65535) {
            snprintf(err, errlen, "%s=%s: port %.*s is out of range (1..65535)", name, value,
                     (int)(end - start), start);
            return -1;
        }
        if (n == max) {
            snprintf(err, errlen, "%s=%s lists more than %d ports", name, value, max);
            return -1;
        }
        out[n++] = (int)v;
        if (!*p)
            break;
        p++; /* the comma; an entry must follow */
    }
    *count = n;
    return 0;
}
