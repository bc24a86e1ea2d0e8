/*
 * addr_guard.h — the private-address guard's internals, shared by the HTTP
 * client (which applies it to every socket libcurl opens) and its tests.
 * cl_net_addr_blocked (in http_client.h) is the public yes/no form.
 */
#ifndef CL_NET_ADDR_GUARD_H
#define CL_NET_ADDR_GUARD_H

#include <stddef.h>
#include <sys/socket.h>

/**
 * Why a connection to sa must be refused, as a short static phrase
 * ("loopback address", "private address", "cloud metadata address", ...), or
 * NULL when the address is allowed. Unknown address families are refused.
 * allow_loopback lets 127.0.0.0/8 and ::1 (and their IPv4-mapped forms)
 * through and nothing else. The returned string is static; nothing to free.
 */
const char *cl_net_addr_block_reason(const struct sockaddr *sa, int allow_loopback);

/**
 * cl_net_addr_block_reason plus the port rule of
 * CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS (tests only): when the only objection
 * to sa is that it is a loopback address (127.0.0.0/8, ::1 and the IPv4
 * forms embedding 127.0.0.0/8) and sa's TCP port is one of the nports
 * entries of loopback_ports, the connection is allowed (NULL). Every other
 * loopback port, and every other refused range, keeps its reason.
 * loopback_ports is borrowed (may be NULL when nports is 0). The returned
 * string is static; nothing to free.
 */
const char *cl_net_addr_block_reason_ports(const struct sockaddr *sa, int allow_loopback,
                                           const int *loopback_ports, int nports);

/**
 * Write sa's address as text ("10.0.0.1", "::1") into out (caller-owned,
 * always NUL-terminated). Unknown families give "(unknown address family)".
 */
void cl_net_addr_format(const struct sockaddr *sa, char *out, size_t outlen);

#endif
