/*
 * serve.c — `cliploop serve`: checks the database and plugins, registers every
 * capability's routes, starts the HTTP server and the worker supervisor, and
 * waits for SIGTERM/SIGINT to stop gracefully.
 */
#include "billing/billing.h"
#include "mail/mail.h"
#include "chat/chat.h"
#include "commands.h"
#include "content/content.h"
#include "create/create.h"
#include "auth/auth.h"
#include "core/config.h"
#include "core/log.h"
#include "core/version.h"
#include "credits/credits.h"
#include "cycles/cycles.h"
#include "db/db.h"
#include "health/health.h"
#include "http/home.h"
#include "http/http.h"
#include "iteration/iteration.h"
#include "media/brand.h"
#include "media/media.h"
#include "metrics/metrics.h"
#include "http/server.h"
#include "jobs/supervisor.h"
#include "net/http_client.h"
#include "plugins/registry.h"
#include "projects/projects.h"
#include "tracking/tracking.h"
#include "publishing/publishing.h"
#include "site/site.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

/* Every capability folder adds its register function here. */
void cl_test_routes_register(void); /* http/test_routes.c */

void cl_serve_register_routes(void)
{
    cl_health_register_routes();
    cl_auth_register_routes();
    cl_credits_register_routes();
    cl_content_register_routes();
    cl_create_register_routes();
    cl_projects_register_routes();
    cl_chat_register_routes();
    cl_billing_register_routes();
    cl_cycles_register_routes();
    cl_tracking_register_routes();
    cl_publishing_register_routes();
    cl_site_register_routes();
    cl_metrics_register_routes();
    cl_iteration_register_routes();
    cl_home_register_routes();
    cl_media_register_routes();
    cl_brand_register_routes();
    cl_test_routes_register();
}

int cl_cmd_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char err[1024];
    if (cl_access_check_mock_exposure(err, sizeof err) != 0) {
        cl_error("serve", "%s", err);
        return 2;
    }
    if (!cl_cfg.database_url[0]) {
        cl_error("serve", "DATABASE_URL is not set");
        return 2;
    }
    /* Refuse to serve an unreachable or unmigrated database: better a clear
       start-up error than 500s on every request. */
    if (cl_db_check_ready(cl_cfg.database_url, cl_cfg.migrations_dir, err, sizeof err) != 0) {
        cl_error("serve", "%s", err);
        return 1;
    }
    if (cl_http_global_init() != 0) {
        cl_error("serve", "cannot initialize the HTTP client library");
        return 1;
    }
    if (cl_plugins_load_configured("serve", err, sizeof err) != 0) {
        cl_error("serve", "%s", err);
        return 2;
    }
    cl_billing_log_status();
    cl_mail_log_status();
    if (cl_tracking_configure(err, sizeof err) != 0) {
        cl_error("serve", "%s", err);
        return 2;
    }
    /* The provider pool brings its own connections: a provider route may
       hold one (its request's advisory lock) across the provider call, and
       must never take one that sessions and /healthz need. */
    if (cl_db_pool_init(cl_cfg.database_url, cl_cfg.db_pool_size + cl_cfg.llm_threads) != 0) {
        cl_error("serve", "out of memory");
        return 1;
    }

    /* Signals are taken synchronously by this thread; every other thread
       inherits the blocked mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    cl_serve_register_routes();
    if (cl_tracking_start() != 0) {
        cl_error("serve", "cannot start the click writer");
        cl_db_pool_shutdown();
        return 1;
    }
    if (cl_server_start(err, sizeof err) != 0) {
        cl_error("serve", "%s", err);
        cl_tracking_stop();
        cl_db_pool_shutdown();
        return 1;
    }
    cl_info("serve", "ClipLoop %s ready on http://%s:%d (LLM provider: %s%s)", CLIPLOOP_VERSION,
            cl_cfg.host, cl_server_port(), cl_cfg.llm_provider, cl_cfg.mock_mode ? ", mock mode" : "");
    if (cl_cfg.workers > 0 && cl_supervisor_start() != 0)
        cl_error("serve", "could not start the worker processes; jobs will wait");

    int sig = 0;
    sigwait(&set, &sig);
    cl_info("serve", "received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    cl_server_stop();
    cl_tracking_stop(); /* after the loops: every queued click is written */
    if (cl_cfg.workers > 0)
        cl_supervisor_stop();
    cl_router_reset();
    cl_db_pool_shutdown();
    return 0;
}
