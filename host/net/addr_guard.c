/*
 * addr_guard.c — which peer addresses outbound HTTP may connect to.
 *
 * Plugins fetch URLs that users type (ingest a website) or that upstream
 * services hand back (redirects, media URLs). Without a guard such a URL
 * could reach the host's own services, the local network or a cloud
 * metadata endpoint. The check runs on the *resolved* address of every
 * connection libcurl opens, so DNS names pointing inward and redirect hops
 * are caught just like literal addresses. The ranges are listed in
 * docs/http-client.md.
 */
#include "net/addr_guard.h"
#include "net/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The loopback reason is one object, so the port rule can recognise it. */
static const char loopback_reason[] = "loopback address";

/* IPv4 ranges, address in host byte order. */
static const char *v4_reason(uint32_t a, int allow_loopback)
{
    if ((a & 0xff000000u) == 0x00000000u) /* 0.0.0.0/8 */
        return "unspecified address";
    if ((a & 0xff000000u) == 0x0a000000u) /* 10.0.0.0/8 */
        return "private address";
    if ((a & 0xffc00000u) == 0x64400000u) /* 100.64.0.0/10 */
        return "carrier-grade NAT address";
    if ((a & 0xff000000u) == 0x7f000000u) /* 127.0.0.0/8 */
        return allow_loopback ? NULL : loopback_reason;
    if (a == 0xa9fea9feu) /* 169.254.169.254 */
        return "cloud metadata address";
    if ((a & 0xffff0000u) == 0xa9fe0000u) /* 169.254.0.0/16 */
        return "link-local address";
    if ((a & 0xfff00000u) == 0xac100000u) /* 172.16.0.0/12 */
        return "private address";
    if ((a & 0xffffff00u) == 0xc0000000u) /* 192.0.0.0/24 */
        return "IETF protocol assignment address";
    if ((a & 0xffff0000u) == 0xc0a80000u) /* 192.168.0.0/16 */
        return "private address";
    if ((a & 0xfffe0000u) == 0xc6120000u) /* 198.18.0.0/15 */
        return "benchmarking address";
    if ((a & 0xf0000000u) == 0xe0000000u) /* 224.0.0.0/4 */
        return "multicast address";
    if (a == 0xffffffffu)
        return "broadcast address";
    if ((a & 0xf0000000u) == 0xf0000000u) /* 240.0.0.0/4 */
        return "reserved address";
    return NULL;
}

static uint32_t v4_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static const char *v6_reason(const uint8_t *b, int allow_loopback)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t siit[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 0x01};

    if (all_zero(b, 16))
        return "unspecified address";
    if (all_zero(b, 15) && b[15] == 1)
        return allow_loopback ? NULL : loopback_reason;
    /* Forms that embed an IPv4 address in the low 32 bits: judge the IPv4. */
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, siit, 12) == 0 || memcmp(b, nat64, 12) == 0)
        return v4_reason(v4_at(b + 12), allow_loopback);
    if (all_zero(b, 12)) /* ::a.b.c.d, deprecated IPv4-compatible */
        return v4_reason(v4_at(b + 12), allow_loopback);
    if (memcmp(b, nat64_local, 6) == 0) /* 64:ff9b:1::/48, local-use NAT64 */
        return "local-use NAT64 address";
    if (b[0] == 0x20 && b[1] == 0x02) /* 2002::/16, 6to4 embeds IPv4 in bits 16..47 */
        return v4_reason(v4_at(b + 2), allow_loopback);
    if ((b[0] & 0xfe) == 0xfc) /* fc00::/7 */
        return "unique local address";
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 */
        return "link-local address";
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) /* fec0::/10, deprecated site-local */
        return "site-local address";
    if (b[0] == 0xff) /* ff00::/8 */
        return "multicast address";
    return NULL;
}

const char *cl_net_addr_block_reason(const struct sockaddr *sa, int allow_loopback)
{
    if (!sa)
        return "missing address";
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof in);
        return v4_reason(ntohl(in.sin_addr.s_addr), allow_loopback);
    }
    if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        return v6_reason(in6.sin6_addr.s6_addr, allow_loopback);
    }
    return "non-IP address family";
}

const char *cl_net_addr_block_reason_ports(const struct sockaddr *sa, int allow_loopback,
                                           const int *loopback_ports, int nports)
{
    const char *why = cl_net_addr_block_reason(sa, allow_loopback);
    if (why != loopback_reason || !loopback_ports || nports <= 0)
        return why;
    /* Only a loopback address gets here, so sa is AF_INET or AF_INET6. */
    uint16_t port_be;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof in);
        port_be = in.sin_port;
    } else {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        port_be = in6.sin6_port;
    }
    int port = ntohs(port_be);
    for (int i = 0; i < nports; i++)
        if (port != 0 && loopback_ports[i] == port)
            return NULL;
    return why;
}

int cl_net_addr_blocked(const struct sockaddr *sa, int allow_loopback)
{
    return cl_net_addr_block_reason(sa, allow_loopback) != NULL;
}

void cl_net_addr_format(const struct sockaddr *sa, char *out, size_t outlen)
{
    if (!outlen)
        return;
    const char *s = NULL;
    if (sa && sa->sa_family == AF_INET) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof in);
        s = inet_ntop(AF_INET, &in.sin_addr, out, (socklen_t)outlen);
    } else if (sa && sa->sa_family == AF_INET6) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        s = inet_ntop(AF_INET6, &in6.sin6_addr, out, (socklen_t)outlen);
    }
    if (!s)
        snprintf(out, outlen, "(unknown address family)");
}
