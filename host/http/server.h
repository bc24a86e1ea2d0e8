/*
 * server.h — the H2O side of `cliploop serve`.
 *
 * N event-loop threads (CLIPLOOP_HTTP_THREADS), each with its own h2o
 * context accepting on a dup of one listening socket, and M pool threads
 * (CLIPLOOP_HTTP_POOL_THREADS) that run blocking handlers. A handler's
 * response comes back to the loop that owns the connection through an
 * h2o_multithread queue, so the event loop never waits on the database.
 */
#ifndef CL_HTTP_SERVER_H
#define CL_HTTP_SERVER_H

#include <stddef.h>

/**
 * Register every route `cliploop serve` answers (each capability folder's
 * register function; the test routes when CLIPLOOP_TEST_ROUTES is on).
 * Defined in http/serve.c; the router fuzz target uses it too.
 */
void cl_serve_register_routes(void);

/**
 * Bind the listening sockets on cl_cfg.host:cl_cfg.port and start the
 * threads. Routes must be registered before. Returns 0, or -1 with a reason in
 * err (port in use, bad address).
 */
int cl_server_start(char *err, size_t errlen);

/** The port actually bound (useful with PORT=0). */
int cl_server_port(void);

/**
 * Graceful stop: close the listeners, ask idle keep-alive connections to
 * close, let in-flight requests finish (up to CLIPLOOP_SHUTDOWN_TIMEOUT_MS),
 * then stop and join every thread. Call from the main thread.
 */
void cl_server_stop(void);

#endif
