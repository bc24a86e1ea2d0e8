/*
 * http_client.h — outbound HTTP for the host and for plugins (through
 * cl_host_api.http_do), over libcurl. Applies timeouts, bounded retries with
 * backoff (honouring Retry-After), a response size cap, and the
 * private-address guard on every connection, redirects included.
 */
#ifndef CL_NET_HTTP_CLIENT_H
#define CL_NET_HTTP_CLIENT_H

#include "cliploop_plugin.h"
#include <sys/socket.h>

/** curl_global_init; call once on the main thread before any thread starts. */
int cl_http_global_init(void);

/** See cl_host_api.http_do. call may be NULL (no cancellation). */
int cl_http_do(cl_call *call, const cl_http_request *req, cl_http_response *res, cl_error *err);
/** See cl_host_api.http_response_free. */
void cl_http_response_free(cl_http_response *res);

/**
 * The guard: non-zero when a connection to sa must be refused (loopback,
 * private, link-local, CGNAT, metadata, unspecified, multicast, IPv4-mapped
 * forms of those). allow_loopback lets 127.0.0.0/8 and ::1 through (tests).
 * No port rule: cl_net_addr_block_reason_ports (net/addr_guard.h) adds the
 * CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS allowance that http_do applies.
 */
int cl_net_addr_blocked(const struct sockaddr *sa, int allow_loopback);

#endif
