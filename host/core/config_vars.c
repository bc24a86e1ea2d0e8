/*
 * config_vars.c — every configuration variable ClipLoop reads, in one table:
 * the host's own (type, range, default, the cl_config field it fills) and
 * the plugins' (documented here, read by the plugin through its section).
 * cl_config_load takes its defaults and ranges from this table, and
 * `cliploop config-doc` prints .env.example from it (tests/unit/test_config.c
 * checks that the checked-in file is exactly that output), so a default
 * lives in one place. `before` is the documentation printed above the
 * variable's line (section headings included); `shown` is the value the
 * line shows, the default unless `def` says otherwise.
 *
 * To add a variable: add its row where it belongs in the file, with its
 * documentation, then regenerate: build/cliploop config-doc > .env.example
 */
#include "core/config.h"

#include <stddef.h>

#define CFG_FIELD(f) .off = offsetof(cl_config, f), .size = sizeof(((cl_config *)0)->f)

const cl_config_var cl_config_vars[] = {
    {.before = "# ClipLoop configuration. Copy to .env and uncomment what you change:\n"
        "#\n"
        "#     cp .env.example .env\n"
        "#\n"
        "# cliploop reads ./.env (or the file named by CLIPLOOP_ENV_FILE) at start-up;\n"
        "# variables already set in the environment win over the file. Syntax:\n"
        "# NAME=value per line, optional `export `, optional matching quotes, '#'\n"
        "# comments. Nothing is expanded. A malformed value stops start-up with a\n"
        "# message naming the variable. Every value below is the default.\n"
        "#\n"
        "# Never commit .env: it holds secrets (it is in .gitignore).\n"
        "\n"
        "# --- .env itself -------------------------------------------------------------\n"
        "# Read this file instead of ./.env (set it in the environment, not in a .env).\n", .name = "CLIPLOOP_ENV_FILE"},
    {.before = "\n"
        "# --- HTTP server (cliploop serve) ---------------------------------------------\n"
        "# Address and port to listen on. Use 0.0.0.0 to listen on every interface.\n", .name = "HOST", .shown = "127.0.0.1", .type = CL_CFG_STR, CFG_FIELD(host)},
    {.name = "PORT", .shown = "3000", .type = CL_CFG_INT, .min = 0, .max = 65535, CFG_FIELD(port)},
    {.before = "# Event-loop threads (H2O), 1..64. Each owns its own loop and connections.\n", .name = "CLIPLOOP_HTTP_THREADS", .shown = "2", .type = CL_CFG_INT, .min = 1, .max = 64, CFG_FIELD(http_threads)},
    {.before = "# Threads for handlers that block (database, files), 1..256. The event loop\n"
        "# hands such requests to this pool and never blocks itself.\n", .name = "CLIPLOOP_HTTP_POOL_THREADS", .shown = "8", .type = CL_CFG_INT, .min = 1, .max = 256, CFG_FIELD(http_pool_threads)},
    {.before = "# Database connections of each event-loop thread (0..16) for the studio's read\n"
        "# routes (/api/me, /api/me/credits, /api/projects, /api/content-items,\n"
        "# /api/chats), which run on the loop in libpq's pipeline mode; 0 sends them to\n"
        "# the pool above. Opened besides CLIPLOOP_DB_POOL_SIZE.\n", .name = "CLIPLOOP_DB_LOOP_CONNECTIONS", .shown = "4", .type = CL_CFG_INT, .min = 0, .max = 16, CFG_FIELD(db_loop_connections)},
    {.before = "# Threads for routes that wait on an LLM provider (brief, generate, weekly\n"
        "# pack, regenerate, analyze), 1..256: a separate pool, so a slow provider\n"
        "# never holds a thread that sessions, database routes and /healthz need.\n", .name = "CLIPLOOP_LLM_THREADS", .shown = "16", .type = CL_CFG_INT, .min = 1, .max = 256, CFG_FIELD(llm_threads)},
    {.before = "# Provider calls one user may have running at once (1..256); more get 429\n"
        "# too_many_requests with Retry-After.\n", .name = "CLIPLOOP_LLM_PER_USER", .shown = "4", .type = CL_CFG_INT, .min = 1, .max = 256, CFG_FIELD(llm_per_user)},
    {.before = "# Largest request body accepted, in bytes (1024..1073741824); bigger gets 413.\n", .name = "CLIPLOOP_MAX_BODY_BYTES", .shown = "1048576", .type = CL_CFG_SIZE, .min = 1024, .max = 1L << 30, CFG_FIELD(max_body_bytes)},
    {.before = "# One line per request on stderr (true/false).\n", .name = "CLIPLOOP_ACCESS_LOG", .shown = "true", .type = CL_CFG_BOOL, CFG_FIELD(access_log)},
    {.before = "# On SIGTERM/SIGINT, how long in-flight requests may finish (ms, 0..600000).\n", .name = "CLIPLOOP_SHUTDOWN_TIMEOUT_MS", .shown = "10000", .type = CL_CFG_INT, .min = 0, .max = 600000, CFG_FIELD(shutdown_timeout_ms)},
    {.before = "\n"
        "# --- Database -------------------------------------------------------------------\n"
        "# libpq connection URI or key=value string. Required by cliploop itself;\n"
        "# scripts/run and scripts/test set it to the private cluster under var/pg\n"
        "# (Unix socket in var/run) unless you set it here.\n", .name = "DATABASE_URL", .shown = "postgresql:///cliploop?host=/path/to/checkout/var/run&user=postgres", .type = CL_CFG_STR, .def = "", CFG_FIELD(database_url)},
    {.before = "# Connections in the pool per process (1..256). `serve` opens up to this many\n"
        "# plus CLIPLOOP_LLM_THREADS: a provider route may hold one connection (its\n"
        "# request lock) across the provider call.\n", .name = "CLIPLOOP_DB_POOL_SIZE", .shown = "8", .type = CL_CFG_INT, .min = 1, .max = 256, CFG_FIELD(db_pool_size)},
    {.before = "\n"
        "# --- Paths ------------------------------------------------------------------------\n"
        "# Relative paths are relative to the working directory (scripts/run uses the\n"
        "# checkout). \"<exe>\" is the directory holding the cliploop binary (build/).\n"
        "# Plugins (*.so) loaded at start-up.       default: <exe>/plugins\n", .name = "CLIPLOOP_PLUGIN_DIR", .type = CL_CFG_STR, .def = "<exe>/plugins", CFG_FIELD(plugin_dir)},
    {.before = "# Rendered videos, uploads and exports (STORAGE=local), and temporary files\n"
        "# of every backend (render scratch, downloads, bundles being sent).\n", .name = "CLIPLOOP_STORAGE_DIR", .shown = "var/storage", .type = CL_CFG_STR, CFG_FIELD(storage_dir)},
    {.before = "# The web studio's static files.          default: <exe>/../web\n", .name = "CLIPLOOP_WEB_DIR", .type = CL_CFG_STR, .def = "<exe>/../web", CFG_FIELD(web_dir)},
    {.before = "# SQL migrations applied by `cliploop migrate`. default: <exe>/../migrations\n", .name = "CLIPLOOP_MIGRATIONS_DIR", .type = CL_CFG_STR, .def = "<exe>/../migrations", CFG_FIELD(migrations_dir)},
    {.before = "# Fonts, music and other render assets.   default: <exe>/../assets\n", .name = "CLIPLOOP_ASSET_DIR", .type = CL_CFG_STR, .def = "<exe>/../assets", CFG_FIELD(asset_dir)},
    {.before = "# JSON schemas of the model answers (the SDK's sdk/schemas/). default: <exe>/../sdk/schemas\n", .name = "CLIPLOOP_SCHEMA_DIR", .type = CL_CFG_STR, .def = "<exe>/../sdk/schemas", CFG_FIELD(schema_dir)},
    {.before = "\n"
        "# --- Product mode -------------------------------------------------------------------\n"
        "# Demo/offline mode: no real LLM, publishing or billing calls (true/false).\n"
        "# scripts/run turns it on when no LLM API key is configured.\n", .name = "MOCK_MODE", .shown = "false", .type = CL_CFG_BOOL, CFG_FIELD(mock_mode)},
    {.before = "# Mock mode has a one-click demo log-in and an approve-user route without a\n"
        "# session (both answer only requests from loopback). `cliploop serve` refuses\n"
        "# to start with MOCK_MODE=true on a HOST that is not loopback unless this is\n"
        "# set (then it warns).\n", .name = "CLIPLOOP_ALLOW_PUBLIC_MOCK", .shown = "false", .type = CL_CFG_BOOL, CFG_FIELD(allow_public_mock)},
    {.before = "# Which llm_provider plugin answers: mock | mistral | openai_compat (the id a\n"
        "# loaded plugin registered; `cliploop plugins` lists them). A provider that is\n"
        "# not loaded is a start-up error, never a silent switch to the mock.\n"
        "# scripts/run picks mistral when MISTRAL_API_KEY is set, openai_compat when\n"
        "# OPENAI_COMPAT_API_KEY/OPENAI_COMPAT_BASE_URL are, else mock.\n", .name = "LLM_PROVIDER", .shown = "mock", .type = CL_CFG_STR, CFG_FIELD(llm_provider)},
    {.before = "\n"
        "# --- Accounts and access -------------------------------------------------------------\n"
        "# Only beta-approved or Pro users reach product workflows; others see the waitlist.\n", .name = "INVITE_ONLY_MODE", .shown = "true", .type = CL_CFG_BOOL, CFG_FIELD(invite_only_mode)},
    {.before = "# Session lifetime in seconds (14 days).\n", .name = "CLIPLOOP_SESSION_TTL_SECONDS", .shown = "1209600", .type = CL_CFG_INT, .min = 1, .max = 31536000, CFG_FIELD(session_ttl_seconds)},
    {.before = "# Failed log-ins per email and per client address within the window before 429.\n", .name = "CLIPLOOP_LOGIN_MAX_FAILURES", .shown = "5", .type = CL_CFG_INT, .min = 1, .max = 1000, CFG_FIELD(login_max_failures)},
    {.name = "CLIPLOOP_LOGIN_MAX_FAILURES_PER_ADDR", .shown = "20", .type = CL_CFG_INT, .min = 1, .max = 100000, CFG_FIELD(login_max_failures_per_addr)},
    {.name = "CLIPLOOP_LOGIN_WINDOW_SECONDS", .shown = "900", .type = CL_CFG_INT, .min = 1, .max = 86400, CFG_FIELD(login_window_seconds)},
    {.before = "# Per account, from the max-th failure on: locked for this many seconds,\n"
        "# doubling with every further failure (capped at the window).\n", .name = "CLIPLOOP_LOGIN_BACKOFF_SECONDS", .shown = "2", .type = CL_CFG_INT, .min = 1, .max = 3600, CFG_FIELD(login_backoff_seconds)},
    {.before = "# Free chat is rate-limited per user (429 with Retry-After): messages per\n"
        "# minute, and unanswered messages at once. Paid generations are limited by\n"
        "# credits instead. Free replies also queue behind paid work in the workers.\n", .name = "CLIPLOOP_CHAT_FREE_PER_MINUTE", .shown = "10", .type = CL_CFG_INT, .min = 1, .max = 100000, CFG_FIELD(chat_free_per_minute)},
    {.name = "CLIPLOOP_CHAT_FREE_MAX_QUEUED", .shown = "5", .type = CL_CFG_INT, .min = 1, .max = 100000, CFG_FIELD(chat_free_max_queued)},
    {.before = "# Reverse proxies in front of ClipLoop (comma-separated IPs or CIDRs, e.g.\n"
        "# 127.0.0.1,10.0.0.0/8). Only when the TCP peer is one of them is the client\n"
        "# address read from X-Forwarded-For (the right-most address that is not a\n"
        "# trusted proxy); otherwise the peer is the client. Default: none.\n", .name = "CLIPLOOP_TRUSTED_PROXIES", .type = CL_CFG_STR, CFG_FIELD(trusted_proxies)},
    {.before = "# scrypt cost for new password hashes: N = 2^x, r = 8, p = 1 (10..20).\n", .name = "CLIPLOOP_SCRYPT_LOG_N", .shown = "17", .type = CL_CFG_INT, .min = 10, .max = 20, CFG_FIELD(scrypt_log_n)},
    {.before = "# Always mark the session cookie Secure (it is also Secure when the request\n"
        "# arrived over TLS or with X-Forwarded-Proto: https).\n", .name = "CLIPLOOP_COOKIE_SECURE", .shown = "false", .type = CL_CFG_BOOL, CFG_FIELD(cookie_secure)},
    {.before = "\n"
        "# --- Plugin settings ------------------------------------------------------------------\n"
        "# Each plugin reads only variables starting with its own prefix\n"
        "# (<PREFIX>_<KEY>). Secrets are never logged.\n"
        "# Mistral (plugin llm_mistral). The base URL is the API root ending in /v1\n"
        "# (the part before /chat/completions); it has no built-in default.\n", .name = "MISTRAL_API_KEY"},
    {.name = "MISTRAL_BASE_URL"},
    {.name = "MISTRAL_MODEL", .shown = "mistral-small-latest"},
    {.name = "MISTRAL_TIMEOUT_MS", .shown = "60000"},
    {.before = "# Retries on 429/5xx, honouring Retry-After (0..5):\n", .name = "MISTRAL_MAX_RETRIES", .shown = "2"},
    {.before = "# Any OpenAI-compatible chat-completions API (plugin llm_openai_compat), e.g. a\n"
        "# self-hosted open-weight server: base URL and model required, key optional.\n", .name = "OPENAI_COMPAT_BASE_URL"},
    {.name = "OPENAI_COMPAT_MODEL"},
    {.name = "OPENAI_COMPAT_API_KEY"},
    {.name = "OPENAI_COMPAT_TIMEOUT_MS", .shown = "60000"},
    {.name = "OPENAI_COMPAT_MAX_RETRIES", .shown = "2"},
    {.before = "# Mock LLM (plugin llm_mock), for tests: make every call fail with\n"
        "# auth | rate_limit | upstream | timeout, or answer after a delay (ms).\n", .name = "LLM_MOCK_FAIL"},
    {.name = "LLM_MOCK_DELAY_MS", .shown = "0"},
    {.before = "\n"
        "# --- Voiceover (docs/audio.md) -------------------------------------------------------\n"
        "# The text-to-speech engine of the voiceover: espeak (espeak-ng, offline, the\n"
        "# default), openai_compat (an OpenAI-compatible /audio/speech server) or none\n"
        "# (videos get music only). Start-up fails when it names no loaded engine.\n", .name = "TTS_PROVIDER", .shown = "espeak", .type = CL_CFG_STR, CFG_FIELD(tts_provider)},
    {.name = "TTS_TIMEOUT_MS", .shown = "60000", .type = CL_CFG_INT, .min = 100, .max = 600000, CFG_FIELD(tts_timeout_ms)},
    {.before = "# tts_espeak: a voice name (default: the project's language), words per minute.\n", .name = "TTS_ESPEAK_VOICE"},
    {.name = "TTS_ESPEAK_RATE", .shown = "165"},
    {.before = "# tts_openai_compat: any OpenAI-compatible POST <base>/audio/speech server.\n", .name = "TTS_OPENAI_COMPAT_BASE_URL", .shown = "https://api.openai.com/v1"},
    {.name = "TTS_OPENAI_COMPAT_MODEL", .shown = "tts-1"},
    {.name = "TTS_OPENAI_COMPAT_VOICE", .shown = "alloy"},
    {.name = "TTS_OPENAI_COMPAT_API_KEY"},
    {.name = "TTS_OPENAI_COMPAT_TIMEOUT_MS"},
    {.name = "TTS_OPENAI_COMPAT_MAX_RETRIES", .shown = "1"},
    {.before = "# The bundled music beds (rendered from MIDI at build time); default <binary dir>/music.\n", .name = "CLIPLOOP_MUSIC_DIR", .type = CL_CFG_STR, .def = "<exe>/music", CFG_FIELD(music_dir)},
    {.before = "\n"
        "# --- Rendering ----------------------------------------------------------------------\n"
        "# Which renderer plugin renders promos: ffmpeg (in-process FFmpeg libraries) or\n"
        "# hyperframes (the HyperFrames CLI with the system Chromium). A renderer that is\n"
        "# not loaded makes render requests fail with an error naming RENDERER.\n", .name = "RENDERER", .shown = "ffmpeg", .type = CL_CFG_STR, CFG_FIELD(renderer)},
    {.before = "# render_ffmpeg: x264 quality/speed, encoder threads per video (0 = auto for one\n"
               "# video; CPUs / videos, at least 1, when a render makes its aspect variants too), font file.\n", .name = "RENDER_FFMPEG_CRF", .shown = "23"},
    {.name = "RENDER_FFMPEG_PRESET", .shown = "veryfast"},
    {.name = "RENDER_FFMPEG_THREADS", .shown = "0"},
    {.name = "RENDER_FFMPEG_FONT", .shown = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"},
    {.before = "# render_ffmpeg, a render with its aspect variants: the variants' x264 effort (subme\n"
               "# 0..11, -1 = the preset's; SUBPART=1: the preset's sub-macroblock partitions, 0:\n"
               "# whole macroblocks only), and BALANCE=1 gives each video's threads a CPU weight\n"
               "# in proportion to its work, so they finish together (docs/composition.md).\n",
     .name = "RENDER_FFMPEG_VARIANT_SUBME", .shown = "1"},
    {.name = "RENDER_FFMPEG_VARIANT_SUBPART", .shown = "0"},
    {.name = "RENDER_FFMPEG_BALANCE", .shown = "1"},
    {.before = "# render_hyperframes: must be enabled explicitly; the CLI and browser paths\n"
        "# (scripts/test installs the CLI under var/hyperframes), quality\n"
        "# draft|looks|delivery, parallel capture workers, a per-render deadline, font.\n", .name = "HYPERFRAMES_ENABLED", .shown = "false"},
    {.name = "HYPERFRAMES_BIN", .shown = "hyperframes"},
    {.name = "HYPERFRAMES_BROWSER_PATH", .shown = "/usr/bin/chromium"},
    {.name = "HYPERFRAMES_QUALITY", .shown = "draft"},
    {.name = "HYPERFRAMES_WORKERS", .shown = "1"},
    {.name = "HYPERFRAMES_TIMEOUT_MS", .shown = "300000"},
    {.name = "HYPERFRAMES_FONT"},
    {.before = "\n"
        "# --- Website ingestion (plugin ingest_web) -------------------------------------------\n"
        "# Pages per crawl, bytes per page, the whole crawl's time budget, redirects\n"
        "# per request (0 = do not follow), per-request timeout. Private, loopback and\n"
        "# metadata addresses are always refused (CLIPLOOP_HTTP_ALLOW_LOOPBACK is for tests).\n", .name = "INGEST_WEB_MAX_PAGES", .shown = "10"},
    {.name = "INGEST_WEB_MAX_PAGE_BYTES", .shown = "2097152"},
    {.name = "INGEST_WEB_TIME_BUDGET_MS", .shown = "60000"},
    {.name = "INGEST_WEB_MAX_REDIRECTS", .shown = "3"},
    {.name = "INGEST_WEB_REQUEST_TIMEOUT_MS", .shown = "15000"},
    {.before = "\n"
        "# --- Lua scripts ----------------------------------------------------------------------\n"
        "# Prompt templates (prompts/*.lua) and channel rules (channels/*.lua); edits\n"
        "# apply to the next generation without a restart (docs/prompts-and-channels.md).\n", .name = "CLIPLOOP_SCRIPTS_DIR", .shown = "<checkout>/scripts"},
    {.before = "\n"
        "# --- Jobs (durable queue in Postgres) ----------------------------------------------\n"
        "# Worker child processes `cliploop serve` starts and restarts (0..64). 0 means\n"
        "# none: run `cliploop worker` yourself (or on other machines).\n", .name = "CLIPLOOP_WORKERS", .shown = "1", .type = CL_CFG_INT, .min = 0, .max = 64, CFG_FIELD(workers)},
    {.before = "# Jobs one worker runs at once (1..64).\n", .name = "CLIPLOOP_WORKER_CONCURRENCY", .shown = "2", .type = CL_CFG_INT, .min = 1, .max = 64, CFG_FIELD(worker_concurrency)},
    {.before = "# A claimed job's lease (ms); a worker that dies loses its jobs when it expires.\n", .name = "CLIPLOOP_JOB_LEASE_MS", .shown = "30000", .type = CL_CFG_INT, .min = 200, .max = 86400000, CFG_FIELD(job_lease_ms)},
    {.before = "# First retry delay after a failure (ms); doubles on each further attempt.\n", .name = "CLIPLOOP_JOB_BACKOFF_MS", .shown = "2000", .type = CL_CFG_INT, .min = 0, .max = 86400000, CFG_FIELD(job_backoff_ms)},
    {.before = "# Attempts before a job is marked failed for good (1..100).\n", .name = "CLIPLOOP_JOB_MAX_ATTEMPTS", .shown = "5", .type = CL_CFG_INT, .min = 1, .max = 100, CFG_FIELD(job_max_attempts)},
    {.before = "# Idle poll interval when no NOTIFY arrives (ms, 10..60000).\n", .name = "CLIPLOOP_JOB_POLL_MS", .shown = "1000", .type = CL_CFG_INT, .min = 10, .max = 60000, CFG_FIELD(job_poll_ms)},
    {.before = "# How often each worker's scheduler runs its periodic tasks: due scheduled\n"
        "# publishes become jobs (ms, 10..60000). Several workers may run it at once.\n", .name = "CLIPLOOP_SCHEDULER_TICK_MS", .shown = "500", .type = CL_CFG_INT, .min = 10, .max = 60000, CFG_FIELD(scheduler_tick_ms)},
    {.before = "# How often each worker looks for strategy cycles due their nightly rollup\n"
        "# (each cycle is rolled up once per day in its project's time zone, by one\n"
        "# worker; ms, 10..86400000).\n", .name = "CLIPLOOP_ROLLUP_INTERVAL_MS", .shown = "60000", .type = CL_CFG_INT, .min = 10, .max = 86400000, CFG_FIELD(rollup_interval_ms)},
    {.before = "# Free weekly analyses per project per hour before 429 rate_limited (1..10000).\n", .name = "CLIPLOOP_ANALYZE_PER_HOUR", .shown = "10", .type = CL_CFG_INT, .min = 1, .max = 10000, CFG_FIELD(analyze_per_hour)},
    {.before = "\n"
        "# --- Outbound HTTP (the host's client, used by plugins) ---------------------------\n"
        "# Allow requests to loopback addresses. TESTS ONLY (local fake servers);\n"
        "# private and loopback addresses are refused otherwise.\n", .name = "CLIPLOOP_HTTP_ALLOW_LOOPBACK", .shown = "false", .type = CL_CFG_BOOL, CFG_FIELD(http_allow_loopback)},
    {.before = "# Allow loopback addresses only for these TCP ports (comma-separated, at most 16;\n"
        "# empty = not set). TESTS ONLY: lets a test reach its fixture server while any\n"
        "# other loopback port stays refused.\n", .name = "CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS"},
    {.before = "# Default per-attempt deadline (ms, 100..3600000).\n", .name = "CLIPLOOP_HTTP_TIMEOUT_MS", .shown = "30000", .type = CL_CFG_INT, .min = 100, .max = 3600000, CFG_FIELD(http_timeout_ms)},
    {.before = "# Largest response body accepted (bytes, 1024..4294967296).\n", .name = "CLIPLOOP_HTTP_MAX_RESPONSE_BYTES", .shown = "33554432", .type = CL_CFG_SIZE, .min = 1024, .max = 1L << 32, CFG_FIELD(http_max_response_bytes)},
    {.before = "\n"
        "# --- Tracking links, clicks and events (host/tracking) -------------------------------\n"
        "# The public address of this server; tracking links are PUBLIC_BASE_URL/r/<slug>\n"
        "# (default http://HOST:PORT).\n", .name = "PUBLIC_BASE_URL", .shown = "https://go.example.com", .type = CL_CFG_STR, .def = "", CFG_FIELD(public_base_url)},
    {.before = "# The click writer's batch window (ms): clicks are stored this often; a SIGKILL\n"
        "# loses at most this window. A clean stop writes everything.\n", .name = "CLIPLOOP_TRACKING_FLUSH_MS", .shown = "100"},
    {.before = "# Clicks queued per event-loop thread before new ones are dropped (database down).\n", .name = "CLIPLOOP_TRACKING_QUEUE_MAX", .shown = "200000"},
    {.before = "# Rows per INSERT (one transaction each).\n", .name = "CLIPLOOP_TRACKING_BATCH_MAX", .shown = "2000"},
    {.before = "# Slugs kept in the in-memory redirect cache (least recently used go first).\n", .name = "CLIPLOOP_TRACKING_CACHE_MAX", .shown = "100000"},
    {.before = "# How long a stop keeps retrying a failing database before it reports clicks lost (ms).\n", .name = "CLIPLOOP_TRACKING_STOP_TIMEOUT_MS", .shown = "5000"},
    {.before = "# Conversions per minute per client address / per project key (429 above).\n", .name = "CLIPLOOP_TRACKING_RATE_PER_IP", .shown = "120"},
    {.name = "CLIPLOOP_TRACKING_RATE_PER_KEY", .shown = "6000"},
    {.before = "\n"
        "# --- Tests ------------------------------------------------------------------------\n"
        "# Register the /api/_test/... diagnostic routes the HTTP tests drive.\n"
        "# TESTS ONLY: never in a deployment.\n", .name = "CLIPLOOP_TEST_ROUTES", .shown = "false", .type = CL_CFG_BOOL, CFG_FIELD(test_routes)},
    {.before = "\n"
        "# --- Logging ----------------------------------------------------------------------\n"
        "# debug | info | warn | error\n", .name = "CLIPLOOP_LOG_LEVEL", .shown = "info", .type = CL_CFG_STR, CFG_FIELD(log_level)},
    {.before = "\n"
        "# --- Account mail (address verification, password reset; docs/accounts.md) ---------\n"
        "# Which mailer plugin sends account mail: smtp | mock | none. Default: mock with\n"
        "# MOCK_MODE=true (the studio's Mail log shows the messages), else none — then\n"
        "# no account can verify its address (no invitation or paid plan applies) and\n"
        "# passwords cannot be reset. A mailer that is not loaded or not configured is\n"
        "# a start-up error, never a silent switch to another one.\n", .name = "MAIL_PROVIDER", .shown = "none"},
    {.before = "# Sender: a bare address and a display name (UTF-8 is fine).\n", .name = "MAIL_FROM", .shown = "no-reply@cliploop.test", .type = CL_CFG_STR, CFG_FIELD(mail_from)},
    {.name = "MAIL_FROM_NAME", .shown = "ClipLoop", .type = CL_CFG_STR, CFG_FIELD(mail_from_name)},
    {.before = "# Deadline of one delivery (ms, 100..120000); past it the request answers 504\n"
        "# mail_timeout and nothing is stored.\n", .name = "MAIL_TIMEOUT_MS", .shown = "10000", .type = CL_CFG_INT, .min = 100, .max = 120000, CFG_FIELD(mail_timeout_ms)},
    {.before = "# Links in mail point at PUBLIC_BASE_URL (set it for a public server), else at\n"
        "# http://HOST:PORT — never at the request's Host header.\n"
        "# Link lifetimes (seconds) and the per-address / per-client limits.\n", .name = "CLIPLOOP_EMAIL_VERIFY_TTL_SECONDS", .shown = "86400", .type = CL_CFG_INT, .min = 1, .max = 2592000, CFG_FIELD(email_verify_ttl_seconds)},
    {.name = "CLIPLOOP_PASSWORD_RESET_TTL_SECONDS", .shown = "3600", .type = CL_CFG_INT, .min = 1, .max = 86400, CFG_FIELD(password_reset_ttl_seconds)},
    {.name = "CLIPLOOP_MAIL_RESEND_SECONDS", .shown = "60", .type = CL_CFG_INT, .min = 0, .max = 86400, CFG_FIELD(mail_resend_seconds)},
    {.name = "CLIPLOOP_MAIL_MAX_PER_HOUR", .shown = "5", .type = CL_CFG_INT, .min = 1, .max = 10000, CFG_FIELD(mail_max_per_hour)},
    {.name = "CLIPLOOP_MAIL_MAX_PER_CLIENT_PER_HOUR", .shown = "20", .type = CL_CFG_INT, .min = 1, .max = 100000, CFG_FIELD(mail_max_per_client_per_hour)},
    {.before = "# SMTP (MAIL_PROVIDER=smtp; plugins/mail_smtp, libcurl). TLS: starttls (default,\n"
        "# required), tls (SMTPS, implicit, port 465) or none (plain: local relays only).\n"
        "# Certificates are always verified. The password is never logged.\n", .name = "MAIL_SMTP_HOST"},
    {.name = "MAIL_SMTP_PORT", .shown = "587"},
    {.name = "MAIL_SMTP_TLS", .shown = "starttls"},
    {.name = "MAIL_SMTP_USER"},
    {.name = "MAIL_SMTP_PASSWORD"},
    {.name = "MAIL_SMTP_TIMEOUT_MS"},
    {.name = "MAIL_SMTP_HELO"},
    {.name = "MAIL_SMTP_CA_FILE"},
    {.before = "\n"
        "# --- Billing (Pro through Lemon Squeezy; docs/billing.md) ---------------------------\n"
        "# Which billing_provider plugin sells Pro: none | lemonsqueezy. With none (the\n"
        "# default), or when the plugin misses a setting below, the billing routes answer\n"
        "# 503 billing_not_configured and /pricing says checkout is not available. A\n"
        "# provider that is not loaded is a start-up error.\n", .name = "BILLING_PROVIDER", .shown = "none", .type = CL_CFG_STR, CFG_FIELD(billing_provider)},
    {.before = "# The checkout's redirect back to /billing/success uses PUBLIC_BASE_URL (above);\n"
        "# unset, the request's Host header.\n"
        "# Lemon Squeezy: API key (Settings → API), store id, the Starter (\"Pro\")\n"
        "# variant id, and the webhook's signing secret. Secrets are never logged.\n", .name = "LEMON_SQUEEZY_API_KEY"},
    {.name = "LEMON_SQUEEZY_STORE_ID"},
    {.name = "LEMON_SQUEEZY_STARTER_VARIANT_ID"},
    {.name = "LEMON_SQUEEZY_WEBHOOK_SECRET"},
    {.before = "# API root (tests point it at tests/fakes/lemonsqueezy_fake.mjs).\n", .name = "LEMON_SQUEEZY_API_BASE_URL", .shown = "https://api.lemonsqueezy.com"},
    {.before = "# Per-attempt deadline for Lemon Squeezy calls (ms).\n", .name = "LEMON_SQUEEZY_TIMEOUT_MS", .shown = "15000"},
    {.before = "\n"
        "# --- Publishing (docs/publishing.md) --------------------------------------------------\n"
        "# Key material for sealing channel tokens (AES-256-GCM) and signing the OAuth\n"
        "# state and public media links. At least 16 characters; use 32 random bytes,\n"
        "# e.g. `openssl rand -base64 32`. Without it accounts cannot be connected.\n"
        "# Rotation: put the new secret here and the old one(s) in\n"
        "# ENCRYPTION_SECRET_PREVIOUS (comma-separated); old tokens keep working and\n"
        "# every refresh re-seals with the new key.\n", .name = "ENCRYPTION_SECRET"},
    {.name = "ENCRYPTION_SECRET_PREVIOUS"},
    {.before = "# PUBLIC_BASE_URL (set above, with the tracking links): Instagram downloads the\n"
        "# video from PUBLIC_BASE_URL/api/public/media/<signed token>, so for real\n"
        "# publishing it must be reachable from the internet (not localhost).\n"
        "# Lifetime of a public media link (seconds, 60..604800) and of a connect\n"
        "# flow's state (seconds).\n", .name = "CLIPLOOP_PUBLIC_MEDIA_TTL_SECONDS", .shown = "86400", .type = CL_CFG_INT, .min = 60, .max = 604800, CFG_FIELD(public_media_ttl_seconds)},
    {.name = "CLIPLOOP_OAUTH_STATE_TTL_SECONDS", .shown = "600", .type = CL_CFG_INT, .min = 1, .max = 86400, CFG_FIELD(oauth_state_ttl_seconds)},
    {.before = "# The publish job polls a container's processing status starting after this\n"
        "# many ms (doubling, at most 30 s apart), for at most the budget per job\n"
        "# attempt; a video still processing after it is retried later from the same\n"
        "# container (ms, 10..60000 and 0..3600000).\n", .name = "CLIPLOOP_PUBLISH_POLL_MS", .shown = "2000", .type = CL_CFG_INT, .min = 10, .max = 60000, CFG_FIELD(publish_poll_ms)},
    {.name = "CLIPLOOP_PUBLISH_POLL_BUDGET_MS", .shown = "120000", .type = CL_CFG_INT, .min = 0, .max = 3600000, CFG_FIELD(publish_poll_budget_ms)},
    {.before = "# Instagram API with Instagram Login (plugin publish_instagram): the Meta app's\n"
        "# Instagram app id and secret, and the redirect URI registered in the app\n"
        "# (PUBLIC_BASE_URL + /api/integrations/instagram/callback). The base URLs\n"
        "# exist so tests can point at a fake; leave them unset in production.\n", .name = "INSTAGRAM_CLIENT_ID"},
    {.name = "INSTAGRAM_CLIENT_SECRET"},
    {.name = "INSTAGRAM_REDIRECT_URI"},
    {.name = "INSTAGRAM_AUTH_URL", .shown = "https://www.instagram.com/oauth/authorize"},
    {.name = "INSTAGRAM_API_URL", .shown = "https://api.instagram.com"},
    {.name = "INSTAGRAM_GRAPH_URL", .shown = "https://graph.instagram.com"},
    {.name = "INSTAGRAM_GRAPH_VERSION", .shown = "v21.0"},
    {.name = "INSTAGRAM_TIMEOUT_MS", .shown = "30000"},
    {.before = "# Mock publisher (plugin publish_mock, MOCK_MODE only), for tests: make calls\n"
        "# fail with transient | rate_limit | permanent | auth | quota | container_error,\n"
        "# only the first N times (0 = always), and answer IN_PROGRESS for N polls.\n", .name = "PUBLISH_MOCK_FAIL"},
    {.name = "PUBLISH_MOCK_FAIL_COUNT", .shown = "0"},
    {.name = "PUBLISH_MOCK_PROCESSING_POLLS", .shown = "1"},
    {.before = "\n"
        "# --- Storage (docs/storage.md) -----------------------------------------------------\n"
        "# Where rendered videos and thumbnails are kept: local (files under\n"
        "# CLIPLOOP_STORAGE_DIR) or s3 (any S3-compatible bucket). Start-up fails when\n"
        "# the backend is not configured; there is no fallback to another one.\n", .name = "STORAGE", .shown = "local", .type = CL_CFG_STR, CFG_FIELD(storage)},
    {.before = "# Lifetime of the presigned download URLs /api/assets/:id redirects to (s3), 60..604800.\n", .name = "STORAGE_URL_TTL_SECONDS", .shown = "900", .type = CL_CFG_INT, .min = 60, .max = 604800, CFG_FIELD(storage_url_ttl_seconds)},
    {.before = "# s3: the endpoint (https://s3.<region>.amazonaws.com, http://minio.internal:9000),\n"
        "# the signing region, the bucket (must exist), and the key pair. The secret is\n"
        "# never logged.\n", .name = "STORAGE_S3_ENDPOINT"},
    {.name = "STORAGE_S3_REGION", .shown = "us-east-1"},
    {.name = "STORAGE_S3_BUCKET"},
    {.name = "STORAGE_S3_ACCESS_KEY"},
    {.name = "STORAGE_S3_SECRET_KEY"},
    {.before = "# true: <endpoint>/<bucket>/<key> (MinIO and most self-hosted stores);\n"
        "# false: <bucket>.<endpoint host>/<key> (AWS virtual-hosted style).\n", .name = "STORAGE_S3_PATH_STYLE", .shown = "false"},
    {.before = "# Optional folder in the bucket every key goes under, e.g. cliploop/\n", .name = "STORAGE_S3_PREFIX"},
    {.before = "# Files larger than one part are uploaded in parts of this size (bytes, >= 5 MiB).\n", .name = "STORAGE_S3_PART_SIZE", .shown = "8388608"},
    {.before = "# Deadline of one request (one part, one download) and of connecting, in ms.\n", .name = "STORAGE_S3_TIMEOUT_MS", .shown = "120000"},
    {.name = "STORAGE_S3_CONNECT_TIMEOUT_MS", .shown = "5000"},
};

const size_t cl_config_var_count = sizeof cl_config_vars / sizeof *cl_config_vars;

/** What .env.example has after the last variable. */
const char *const cl_config_doc_tail = "";
