/*
 * test_http_client.c — the outbound HTTP client: the private-address guard as
 * a table, then end-to-end behaviour against tests/fakes/http_fake.mjs
 * (spawned here with node, listening on 127.0.0.1): retries, Retry-After,
 * timeouts, the size cap, redirects, POST, cancellation, and the guard on the
 * first connection and on redirect hops, and the test-only port allowance
 * (CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS).
 */
#include "core/config.h"
#include "net/addr_guard.h"
#include "net/http_client.h"
#include "plugins/call.h"
#include "fake_proc.h"
#include "test_util.h"
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------- */
/* The guard, address by address                                             */
/* ------------------------------------------------------------------------- */

typedef struct {
    const char *addr;
    int blocked;          /* expected with allow_loopback = 0 */
    int blocked_loopback; /* expected with allow_loopback = 1 */
} guard_case;

static const guard_case guard_cases[] = {
    /* IPv4, blocked ranges: first, inside and last address where it matters */
    {"0.0.0.0", 1, 1},
    {"0.255.255.255", 1, 1},
    {"10.0.0.1", 1, 1},
    {"10.255.255.255", 1, 1},
    {"100.64.0.1", 1, 1},
    {"100.127.255.254", 1, 1},
    {"127.0.0.1", 1, 0},
    {"127.255.255.254", 1, 0},
    {"169.254.0.1", 1, 1},
    {"169.254.169.254", 1, 1},
    {"172.16.0.1", 1, 1},
    {"172.31.255.255", 1, 1},
    {"192.0.0.1", 1, 1},
    {"192.0.0.170", 1, 1},
    {"192.168.0.1", 1, 1},
    {"192.168.255.255", 1, 1},
    {"198.18.0.1", 1, 1},
    {"198.19.255.255", 1, 1},
    {"224.0.0.1", 1, 1},
    {"239.255.255.250", 1, 1},
    {"240.0.0.1", 1, 1},
    {"255.255.255.255", 1, 1},
    /* IPv4, allowed: public addresses and the neighbours of blocked ranges */
    {"93.184.216.34", 0, 0},
    {"8.8.8.8", 0, 0},
    {"1.0.0.1", 0, 0},
    {"11.0.0.1", 0, 0},
    {"100.63.255.255", 0, 0},
    {"100.128.0.0", 0, 0},
    {"126.255.255.255", 0, 0},
    {"128.0.0.1", 0, 0},
    {"169.253.255.255", 0, 0},
    {"172.15.255.255", 0, 0},
    {"172.32.0.0", 0, 0},
    {"192.0.1.1", 0, 0},
    {"192.167.255.255", 0, 0},
    {"198.17.255.255", 0, 0},
    {"198.20.0.0", 0, 0},
    {"223.255.255.255", 0, 0},
    /* IPv6, blocked */
    {"::", 1, 1},
    {"::1", 1, 0},
    {"fc00::1", 1, 1},
    {"fd12:3456:789a::1", 1, 1},
    {"fe80::1", 1, 1},
    {"febf:ffff::1", 1, 1},
    {"fec0::1", 1, 1},
    {"ff02::1", 1, 1},
    {"ff0e::1", 1, 1},
    /* IPv4-mapped, SIIT, IPv4-compatible, NAT64 and 6to4 forms */
    {"::ffff:127.0.0.1", 1, 0},
    {"::ffff:10.1.2.3", 1, 1},
    {"::ffff:169.254.169.254", 1, 1},
    {"::ffff:192.168.1.1", 1, 1},
    {"::ffff:0.0.0.0", 1, 1},
    {"::ffff:0:10.0.0.1", 1, 1},
    {"::10.0.0.1", 1, 1},
    {"64:ff9b::10.0.0.1", 1, 1},
    {"64:ff9b::127.0.0.1", 1, 0},
    {"64:ff9b::169.254.169.254", 1, 1},
    {"64:ff9b:1::1", 1, 1},
    {"2002:a00:1::1", 1, 1},   /* 6to4 of 10.0.0.1 */
    {"2002:7f00:1::1", 1, 0},  /* 6to4 of 127.0.0.1 */
    {"::2", 1, 1},             /* IPv4-compatible 0.0.0.2, inside 0.0.0.0/8 */
    /* IPv6, allowed */
    {"2606:4700::1", 0, 0},
    {"2001:4860:4860::8888", 0, 0},
    {"::ffff:93.184.216.34", 0, 0},
    {"64:ff9b::93.184.216.34", 0, 0},
    {"2002:5db8:d822::1", 0, 0}, /* 6to4 of 93.184.216.34 */
    {"fbff::1", 0, 0},
};

static int to_sockaddr(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        return 0;
    }
    return -1;
}

static void test_guard_table(void)
{
    for (size_t i = 0; i < sizeof guard_cases / sizeof *guard_cases; i++) {
        const guard_case *g = &guard_cases[i];
        struct sockaddr_storage ss;
        if (to_sockaddr(g->addr, &ss) != 0) {
            fprintf(stderr, "FAIL bad table address %s\n", g->addr);
            unit_failed++;
            continue;
        }
        int expect = g->blocked, expect_lb = g->blocked_loopback;
        int got = cl_net_addr_blocked((struct sockaddr *)&ss, 0);
        int got_lb = cl_net_addr_blocked((struct sockaddr *)&ss, 1);
        if (got != expect || got_lb != expect_lb)
            fprintf(stderr, "FAIL guard %s: blocked=%d (want %d), with allow_loopback=%d (want %d)\n",
                    g->addr, got, expect, got_lb, expect_lb);
        CHECK(got == expect);
        CHECK(got_lb == expect_lb);
    }
    /* Reasons are specific, and unknown families are refused. */
    struct sockaddr_storage ss;
    to_sockaddr("169.254.169.254", &ss);
    CHECK_STR(cl_net_addr_block_reason((struct sockaddr *)&ss, 1), "cloud metadata address");
    to_sockaddr("127.0.0.1", &ss);
    CHECK_STR(cl_net_addr_block_reason((struct sockaddr *)&ss, 0), "loopback address");
    char text[64];
    cl_net_addr_format((struct sockaddr *)&ss, text, sizeof text);
    CHECK_STR(text, "127.0.0.1");
    struct sockaddr unix_sa = {.sa_family = AF_UNIX};
    CHECK(cl_net_addr_blocked(&unix_sa, 1));
}


/* The CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS rule: loopback only on listed ports. */
typedef struct {
    const char *addr;
    int port;
    int blocked; /* expected with allow_loopback = 0 and ports {4000, 8080} */
} port_case;

static const port_case port_cases[] = {
    /* loopback on a listed port: allowed, in every form the guard recognises */
    {"127.0.0.1", 4000, 0},
    {"127.0.0.1", 8080, 0},
    {"127.1.2.3", 8080, 0},
    {"127.255.255.254", 4000, 0},
    {"::1", 4000, 0},
    {"::ffff:127.0.0.1", 8080, 0},
    {"64:ff9b::127.0.0.1", 4000, 0},
    {"2002:7f00:1::1", 4000, 0},
    /* loopback on any other port: refused as with the guard fully on */
    {"127.0.0.1", 4001, 1},
    {"127.0.0.1", 3999, 1},
    {"127.0.0.1", 80, 1},
    {"127.0.0.1", 0, 1},
    {"127.1.2.3", 5432, 1},
    {"::1", 8081, 1},
    {"::1", 22, 1},
    {"::ffff:127.0.0.1", 6379, 1},
    /* the listed ports open nothing but loopback */
    {"10.0.0.1", 4000, 1},
    {"192.168.1.1", 8080, 1},
    {"169.254.169.254", 4000, 1},
    {"0.0.0.0", 4000, 1},
    {"::", 4000, 1},
    {"fe80::1", 8080, 1},
    {"::ffff:10.0.0.1", 4000, 1},
    {"fd00::1", 4000, 1},
    /* public addresses are allowed on any port */
    {"93.184.216.34", 4001, 0},
    {"2606:4700::1", 22, 0},
};

static void set_port(struct sockaddr_storage *ss, int port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static void test_guard_ports_table(void)
{
    static const int ports[] = {4000, 8080};
    for (size_t i = 0; i < sizeof port_cases / sizeof *port_cases; i++) {
        const port_case *g = &port_cases[i];
        struct sockaddr_storage ss;
        if (to_sockaddr(g->addr, &ss) != 0) {
            fprintf(stderr, "FAIL bad table address %s\n", g->addr);
            unit_failed++;
            continue;
        }
        set_port(&ss, g->port);
        const struct sockaddr *sa = (struct sockaddr *)&ss;
        const char *why = cl_net_addr_block_reason_ports(sa, 0, ports, 2);
        if ((why != NULL) != g->blocked)
            fprintf(stderr, "FAIL guard %s port %d: %s (want %s)\n", g->addr, g->port,
                    why ? why : "allowed", g->blocked ? "blocked" : "allowed");
        CHECK((why != NULL) == g->blocked);
        /* Without the port list the plain guard decides (loopback refused). */
        CHECK((cl_net_addr_block_reason_ports(sa, 0, NULL, 0) != NULL) ==
              cl_net_addr_blocked(sa, 0));
        CHECK((cl_net_addr_block_reason_ports(sa, 0, ports, 0) != NULL) ==
              cl_net_addr_blocked(sa, 0));
        /* ALLOW_LOOPBACK=true still means every loopback port. */
        CHECK((cl_net_addr_block_reason_ports(sa, 1, ports, 2) != NULL) ==
              cl_net_addr_blocked(sa, 1));
    }
    struct sockaddr_storage ss;
    to_sockaddr("127.0.0.1", &ss);
    set_port(&ss, 4001);
    CHECK_STR(cl_net_addr_block_reason_ports((struct sockaddr *)&ss, 0, ports, 2),
              "loopback address");
    to_sockaddr("169.254.169.254", &ss);
    set_port(&ss, 4000);
    CHECK_STR(cl_net_addr_block_reason_ports((struct sockaddr *)&ss, 0, ports, 2),
              "cloud metadata address");
    struct sockaddr unix_sa = {.sa_family = AF_UNIX};
    CHECK(cl_net_addr_block_reason_ports(&unix_sa, 0, ports, 2) != NULL);
}

/* The setting's parser, and start-up failing on a bad value. */
static void test_loopback_ports_config(void)
{
    int out[CL_CONFIG_MAX_LOOPBACK_PORTS];
    int n = -1;
    char err[256];
    const char *name = "CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS";
    CHECK(cl_config_parse_ports(name, "4000", out, CL_CONFIG_MAX_LOOPBACK_PORTS, &n, err, sizeof err) == 0);
    CHECK(n == 1 && out[0] == 4000);
    CHECK(cl_config_parse_ports(name, " 1, 65535 ,8080", out, CL_CONFIG_MAX_LOOPBACK_PORTS, &n, err, sizeof err) == 0);
    CHECK(n == 3 && out[0] == 1 && out[1] == 65535 && out[2] == 8080);
    CHECK(cl_config_parse_ports(name, "", out, CL_CONFIG_MAX_LOOPBACK_PORTS, &n, err, sizeof err) == 0);
    CHECK(n == 0);
    CHECK(cl_config_parse_ports(name, "  ", out, CL_CONFIG_MAX_LOOPBACK_PORTS, &n, err, sizeof err) == 0);
    CHECK(n == 0);
    static const char *bad[] = {"0", "65536", "99999999999999999999", "-1", "80,", ",80", "80,,81",
                                "80 81", "http", "80;81", "8o", "+80", "80,x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        n = -1;
        int rc = cl_config_parse_ports(name, bad[i], out, CL_CONFIG_MAX_LOOPBACK_PORTS, &n, err, sizeof err);
        if (rc != -1)
            fprintf(stderr, "FAIL ports value '%s' accepted\n", bad[i]);
        CHECK(rc == -1);
        CHECK(n == 0);
        CHECK(strstr(err, name) != NULL);
    }
    CHECK(cl_config_parse_ports(name, "1,2,3", out, 2, &n, err, sizeof err) == -1);
    CHECK(strstr(err, "more than 2 ports") != NULL);

    /* Through cl_config_load: parsed into cl_cfg, or start-up refused. */
    setenv(name, "4000,8080", 1);
    CHECK(cl_config_load(err, sizeof err) == 0);
    CHECK(cl_cfg.http_allow_loopback_port_count == 2);
    CHECK(cl_cfg.http_allow_loopback_ports[0] == 4000 && cl_cfg.http_allow_loopback_ports[1] == 8080);
    setenv(name, "4000,loopback", 1);
    err[0] = '\0';
    CHECK(cl_config_load(err, sizeof err) == -1);
    CHECK(strstr(err, name) != NULL);
    setenv(name, "", 1);
    CHECK(cl_config_load(err, sizeof err) == 0);
    CHECK(cl_cfg.http_allow_loopback_port_count == 0);
    unsetenv(name);
    CHECK(cl_config_load(err, sizeof err) == 0);
    CHECK(cl_cfg.http_allow_loopback_port_count == 0);
}

/* ------------------------------------------------------------------------- */
/* The fake upstream                                                         */
/* ------------------------------------------------------------------------- */

static fake_tmp fake;

static char url_buf[8][2400];
static int url_next;

/* A URL on the fake (rotating static buffers; valid for a few calls). */
static const char *fake_url(const char *path)
{
    char *u = url_buf[url_next++ % 8];
    snprintf(u, sizeof url_buf[0], "http://127.0.0.1:%d%s", fake.port, path);
    return u;
}

static cl_http_request request(const char *method, const char *url)
{
    cl_http_request r;
    memset(&r, 0, sizeof r);
    r.size = sizeof r;
    r.method = method;
    r.url = url;
    return r;
}

typedef struct {
    int rc;
    cl_http_response res;
    cl_error err;
    long elapsed_ms;
} outcome;

static outcome run(cl_call *call, const cl_http_request *req)
{
    outcome o;
    memset(&o, 0, sizeof o);
    o.res.size = sizeof o.res;
    long t0 = now_ms();
    o.rc = cl_http_do(call, req, &o.res, &o.err);
    o.elapsed_ms = now_ms() - t0;
    return o;
}

/* GET path on the fake, retrying up to max_retries times. */
static outcome get_retrying(const char *path, int max_retries)
{
    cl_http_request r = request("GET", fake_url(path));
    r.max_retries = max_retries;
    return run(NULL, &r);
}

/* How many requests carrying ?key=<key> reached the fake. */
static int hits(const char *key)
{
    char path[256];
    snprintf(path, sizeof path, "/hits?key=%s", key);
    cl_http_request r = request("GET", fake_url(path));
    int saved = cl_cfg.http_allow_loopback;
    cl_cfg.http_allow_loopback = 1;
    outcome o = run(NULL, &r);
    cl_cfg.http_allow_loopback = saved;
    int n = -1;
    const char *p = o.rc == CL_OK && o.res.body ? strstr(o.res.body, "\"hits\":") : NULL;
    if (p)
        n = atoi(p + 7);
    cl_http_response_free(&o.res);
    return n;
}

/* ------------------------------------------------------------------------- */
/* End-to-end cases                                                          */
/* ------------------------------------------------------------------------- */

static void test_json_ok(void)
{
    cl_http_request r = request(NULL, fake_url("/json?key=j1"));
    outcome o = run(NULL, &r);
    CHECK(o.rc == CL_OK);
    CHECK(o.res.status == 200);
    CHECK(o.res.attempts == 1);
    CHECK(strncmp(o.res.content_type, "application/json", 16) == 0);
    CHECK(o.res.body && strstr(o.res.body, "\"ok\":true") && strstr(o.res.body, "\"GET\""));
    CHECK(o.res.body && o.res.body[o.res.body_len] == '\0' && strlen(o.res.body) == o.res.body_len);
    CHECK_STR(o.res.effective_url, r.url);
    CHECK(o.res.retry_after_ms == 0);
    cl_http_response_free(&o.res);
    CHECK(o.res.body == NULL && o.res.body_len == 0);
    cl_http_response_free(&o.res); /* twice is fine */

    cl_http_response zero;
    memset(&zero, 0, sizeof zero);
    cl_http_response_free(&zero);
    cl_http_response_free(NULL);

    /* HEAD: a response with no body still gives a NUL-terminated empty body. */
    r = request("HEAD", fake_url("/json"));
    o = run(NULL, &r);
    CHECK(o.rc == CL_OK && o.res.status == 200);
    CHECK(o.res.body && o.res.body_len == 0 && o.res.body[0] == '\0');
    cl_http_response_free(&o.res);
}

static void test_retries_5xx(void)
{
    outcome o = get_retrying("/flaky?key=f1&fail=2&status=500", 2);
    CHECK(o.rc == CL_OK);
    CHECK(o.res.status == 200);
    CHECK(o.res.attempts == 3);
    CHECK(o.res.body && strstr(o.res.body, "\"ok\":true") && strstr(o.res.body, "\"hit\":3"));
    CHECK(o.elapsed_ms >= 550); /* backoff 200 + 400 ms */
    CHECK(hits("f1") == 3);
    cl_http_response_free(&o.res);

    /* Retries exhausted: the last 5xx response is returned with CL_OK. */
    o = get_retrying("/flaky?key=f2&fail=5&status=503", 1);
    CHECK(o.rc == CL_OK);
    CHECK(o.res.status == 503);
    CHECK(o.res.attempts == 2);
    CHECK(o.res.body && strstr(o.res.body, "\"hit\":2"));
    CHECK(hits("f2") == 2);
    cl_http_response_free(&o.res);

    /* max_retries 0: exactly one attempt. */
    o = get_retrying("/flaky?key=f3&fail=1&status=500", 0);
    CHECK(o.rc == CL_OK && o.res.status == 500 && o.res.attempts == 1);
    CHECK(hits("f3") == 1);
    cl_http_response_free(&o.res);
}

static void test_retry_after(void)
{
    /* Reported, not retried. */
    cl_http_request r = request("GET", fake_url("/status/429?retry_after=1"));
    outcome o = run(NULL, &r);
    CHECK(o.rc == CL_OK);
    CHECK(o.res.status == 429);
    CHECK(o.res.retry_after_ms == 1000);
    CHECK(o.err.retry_after_ms == 1000 && o.err.http_status == 429);
    CHECK(o.res.attempts == 1);
    cl_http_response_free(&o.res);

    /* Honoured: the retry waits the announced second, not the 200 ms backoff. */
    o = get_retrying("/flaky?key=r1&fail=1&status=429&retry_after=1", 1);
    CHECK(o.rc == CL_OK);
    CHECK(o.res.status == 200);
    CHECK(o.res.attempts == 2);
    CHECK(o.elapsed_ms >= 900);
    CHECK(o.elapsed_ms < 3000);
    CHECK(o.res.retry_after_ms == 0); /* the final response had none */
    cl_http_response_free(&o.res);

    /* HTTP-date form. */
    r = request("GET", fake_url("/status/503?retry_after_date=3"));
    o = run(NULL, &r);
    CHECK(o.rc == CL_OK && o.res.status == 503);
    CHECK(o.res.retry_after_ms >= 1000 && o.res.retry_after_ms <= 4000);
    cl_http_response_free(&o.res);

    /* Longer than a call may wait: no retry, the 429 comes back at once. */
    o = get_retrying("/flaky?key=r2&fail=1&status=429&retry_after=120", 3);
    CHECK(o.rc == CL_OK && o.res.status == 429 && o.res.attempts == 1);
    CHECK(o.res.retry_after_ms == 120000);
    CHECK(o.elapsed_ms < 1000);
    cl_http_response_free(&o.res);
}

static void test_client_error_not_retried(void)
{
    outcome o = get_retrying("/status/401?key=u1&body=bad%20token", 3);
    CHECK(o.rc == CL_OK);
    CHECK(o.res.status == 401);
    CHECK(o.res.attempts == 1);
    CHECK_STR(o.res.body, "bad token");
    CHECK(strncmp(o.res.content_type, "text/plain", 10) == 0);
    CHECK(hits("u1") == 1);
    cl_http_response_free(&o.res);
}

static void test_timeout(void)
{
    cl_http_request r = request("GET", fake_url("/slow?ms=3000"));
    r.timeout_ms = 300;
    outcome o = run(NULL, &r);
    CHECK(o.rc == CL_ETIMEOUT);
    CHECK(o.err.code == CL_ETIMEOUT);
    CHECK(strstr(o.err.message, "300 ms") != NULL);
    CHECK(o.elapsed_ms < 1500);
    CHECK(o.res.body == NULL && o.res.status == 0);
    cl_http_response_free(&o.res);

    /* Timeouts are retried for GET; headers-then-stall also times out. */
    r = request("GET", fake_url("/slow?ms=3000&headers_first=1&key=t2"));
    r.timeout_ms = 250;
    r.max_retries = 1;
    o = run(NULL, &r);
    CHECK(o.rc == CL_ETIMEOUT);
    CHECK(o.res.attempts == 2);
    CHECK(o.elapsed_ms < 2000);
    CHECK(hits("t2") == 2);
    cl_http_response_free(&o.res);

    /* The host default applies when the request leaves timeout_ms at 0. */
    int saved = cl_cfg.http_timeout_ms;
    cl_cfg.http_timeout_ms = 300;
    r = request("GET", fake_url("/slow?ms=3000"));
    o = run(NULL, &r);
    CHECK(o.rc == CL_ETIMEOUT && o.elapsed_ms < 1500);
    cl_cfg.http_timeout_ms = saved;
    cl_http_response_free(&o.res);
}

static void test_size_cap(void)
{
    cl_http_request r = request("GET", fake_url("/big?bytes=5000"));
    r.max_response_bytes = 1024;
    outcome o = run(NULL, &r);
    CHECK(o.rc == CL_ETOOLARGE && o.err.code == CL_ETOOLARGE);
    CHECK(o.res.body == NULL);

    /* Without Content-Length the cap bites while streaming. */
    r = request("GET", fake_url("/big?bytes=200000&chunked=1"));
    r.max_response_bytes = 4096;
    o = run(NULL, &r);
    CHECK(o.rc == CL_ETOOLARGE);

    /* Exactly at the cap is fine. */
    r = request("GET", fake_url("/big?bytes=1024&chunked=1"));
    r.max_response_bytes = 1024;
    o = run(NULL, &r);
    CHECK(o.rc == CL_OK && o.res.status == 200 && o.res.body_len == 1024);
    CHECK(o.res.body && o.res.body[0] == 'x' && o.res.body[1023] == 'x' && o.res.body[1024] == 0);
    cl_http_response_free(&o.res);

    /* The host default cap applies when the request leaves it at 0. */
    size_t saved = cl_cfg.http_max_response_bytes;
    cl_cfg.http_max_response_bytes = 2048;
    r = request("GET", fake_url("/big?bytes=3000&chunked=1"));
    o = run(NULL, &r);
    CHECK(o.rc == CL_ETOOLARGE);
    cl_cfg.http_max_response_bytes = saved;
}

static void test_redirects(void)
{
    cl_http_request r = request("GET", fake_url("/redirect?to=/json"));
    outcome o = run(NULL, &r);
    CHECK(o.rc == CL_OK);
    CHECK(o.res.status == 302); /* not followed without the flag */
    CHECK_STR(o.res.effective_url, r.url);
    cl_http_response_free(&o.res);

    r = request("GET", fake_url("/redirect?to=/json"));
    r.flags = CL_HTTP_FOLLOW_REDIRECTS;
    o = run(NULL, &r);
    CHECK(o.rc == CL_OK);
    CHECK(o.res.status == 200);
    CHECK_STR(o.res.effective_url, fake_url("/json"));
    CHECK(o.res.body && strstr(o.res.body, "\"ok\":true"));
    cl_http_response_free(&o.res);

    /* effective_url is the whole URL, however long (the crawler allows 2,048
       bytes; a fixed 1,024-byte field used to cut it) */
    char longpath[2100];
    int lp = snprintf(longpath, sizeof longpath, "/redirect?to=/json%%3Fpad%%3D");
    memset(longpath + lp, 'a', 1900);
    longpath[lp + 1900] = '\0';
    r = request("GET", fake_url(longpath));
    r.flags = CL_HTTP_FOLLOW_REDIRECTS;
    o = run(NULL, &r);
    CHECK(o.rc == CL_OK && o.res.status == 200);
    CHECK(o.res.effective_url && strlen(o.res.effective_url) > 1900);
    CHECK(o.res.effective_url && strstr(o.res.effective_url, "/json?pad=aaaa") != NULL);
    cl_http_response_free(&o.res);
    CHECK(o.res.effective_url == NULL);

    /* Two hops with max_redirects 1: too many. */
    r = request("GET", fake_url("/redirect?to=%2Fredirect%3Fto%3D%252Fjson"));
    r.flags = CL_HTTP_FOLLOW_REDIRECTS;
    r.max_redirects = 1;
    o = run(NULL, &r);
    CHECK(o.rc == CL_EUPSTREAM);
    CHECK(strstr(o.err.message, "too many redirects") != NULL);
    r.max_redirects = 2;
    o = run(NULL, &r);
    CHECK(o.rc == CL_OK && o.res.status == 200);
    cl_http_response_free(&o.res);

    /* Only http(s) for redirects too. */
    r = request("GET", fake_url("/redirect?to=file:///etc/passwd"));
    r.flags = CL_HTTP_FOLLOW_REDIRECTS;
    o = run(NULL, &r);
    CHECK(o.rc == CL_EUPSTREAM);
    CHECK(o.res.body == NULL);
    /* The message names the host that redirected and the refused scheme, never "?". */
    CHECK(strstr(o.err.message, "GET 127.0.0.1: redirect to a non-http(s) URL (file:) refused") != NULL);
    CHECK(strstr(o.err.message, "GET ?") == NULL);
    r = request("GET", fake_url("/redirect?to=ftp://files.example/x"));
    r.flags = CL_HTTP_FOLLOW_REDIRECTS;
    o = run(NULL, &r);
    CHECK(o.rc == CL_EUPSTREAM);
    CHECK(strstr(o.err.message, "(ftp:) refused") != NULL);
    CHECK(strstr(o.err.message, "GET ?") == NULL);
}

static void test_post(void)
{
    static const char body[] = "{\"name\":\"clip\",\"n\":1}";
    const char *headers[] = {"Content-Type: application/json", "X-Test: hello world", NULL};
    cl_http_request r = request("POST", fake_url("/echo?key=e1"));
    r.headers = headers;
    r.body = body;
    r.body_len = sizeof body - 1;
    outcome o = run(NULL, &r);
    CHECK(o.rc == CL_OK && o.res.status == 200);
    const char *b = o.res.body ? o.res.body : "";
    CHECK(strstr(b, "\"method\":\"POST\"") != NULL);
    CHECK(strstr(b, "\"x-test\":\"hello world\"") != NULL);
    CHECK(strstr(b, "\"content-type\":\"application/json\"") != NULL);
    CHECK(strstr(b, "\"body\":\"{\\\"name\\\":\\\"clip\\\",\\\"n\\\":1}\"") != NULL);
    CHECK(strstr(b, "\"body_len\":21") != NULL);
    CHECK(strstr(b, "\"user-agent\":\"ClipLoop/") != NULL);
    CHECK(strstr(b, "\"expect\"") == NULL);
    cl_http_response_free(&o.res);

    /* A large body arrives whole (no Expect: 100-continue stall), PUT method kept. */
    size_t big_len = 200000;
    char *big = malloc(big_len);
    memset(big, 'a', big_len);
    r = request("PUT", fake_url("/echo"));
    r.body = big;
    r.body_len = big_len;
    o = run(NULL, &r);
    CHECK(o.rc == CL_OK && o.res.status == 200);
    CHECK(o.res.body && strstr(o.res.body, "\"method\":\"PUT\"") &&
          strstr(o.res.body, "\"body_len\":200000"));
    CHECK(o.elapsed_ms < 900);
    cl_http_response_free(&o.res);
    free(big);

    /* The caller's User-Agent wins. */
    const char *ua[] = {"User-Agent: custom-agent/1", NULL};
    r = request("GET", fake_url("/echo"));
    r.headers = ua;
    o = run(NULL, &r);
    CHECK(o.res.body && strstr(o.res.body, "\"user-agent\":\"custom-agent/1\""));
    CHECK(o.res.body && !strstr(o.res.body, "ClipLoop/"));
    cl_http_response_free(&o.res);

    /* POST 500 is not retried unless the caller says it is safe. */
    r = request("POST", fake_url("/flaky?key=p1&fail=1&status=500"));
    r.body = body;
    r.body_len = sizeof body - 1;
    r.max_retries = 2;
    o = run(NULL, &r);
    CHECK(o.rc == CL_OK && o.res.status == 500 && o.res.attempts == 1);
    CHECK(hits("p1") == 1);
    cl_http_response_free(&o.res);

    r.url = fake_url("/flaky?key=p2&fail=1&status=500");
    r.flags = CL_HTTP_RETRY_UNSAFE;
    o = run(NULL, &r);
    CHECK(o.rc == CL_OK && o.res.status == 200 && o.res.attempts == 2);
    CHECK(hits("p2") == 2);
    cl_http_response_free(&o.res);

    /* PATCH with no body still works (Content-Length: 0). */
    r = request("PATCH", fake_url("/echo"));
    o = run(NULL, &r);
    CHECK(o.rc == CL_OK && o.res.body && strstr(o.res.body, "\"method\":\"PATCH\"") &&
          strstr(o.res.body, "\"body_len\":0"));
    cl_http_response_free(&o.res);
}

static void test_connect_failure(void)
{
    /* A port nobody listens on: bind, read the port, close. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &al);
    close(s);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", ntohs(a.sin_port));

    cl_http_request r = request("GET", url);
    r.max_retries = 1;
    outcome o = run(NULL, &r);
    CHECK(o.rc == CL_EUPSTREAM);
    CHECK(o.res.attempts == 2);
    CHECK(strstr(o.err.message, "GET 127.0.0.1") != NULL);

    /* Nothing was sent, so even POST retries a refused connection. */
    r = request("POST", url);
    r.max_retries = 1;
    o = run(NULL, &r);
    CHECK(o.rc == CL_EUPSTREAM && o.res.attempts == 2);
}

static void *cancel_after(void *arg)
{
    usleep(300 * 1000);
    cl_call_cancel(arg);
    return NULL;
}

static void test_cancellation(void)
{
    cl_call call;
    cl_call_init(&call, NULL, NULL);
    pthread_t t;
    pthread_create(&t, NULL, cancel_after, &call);
    cl_http_request r = request("GET", fake_url("/slow?ms=5000"));
    r.timeout_ms = 10000;
    outcome o = run(&call, &r);
    pthread_join(t, NULL);
    CHECK(o.rc == CL_ECANCELLED);
    CHECK(o.err.code == CL_ECANCELLED);
    CHECK(o.elapsed_ms >= 250 && o.elapsed_ms < 2500);

    /* Cancelled while sleeping between attempts (Retry-After 5 s). */
    cl_call_init(&call, NULL, NULL);
    pthread_create(&t, NULL, cancel_after, &call);
    r = request("GET", fake_url("/flaky?key=c2&fail=5&status=503&retry_after=5"));
    r.max_retries = 2;
    o = run(&call, &r);
    pthread_join(t, NULL);
    CHECK(o.rc == CL_ECANCELLED);
    CHECK(o.elapsed_ms < 1500);
    CHECK(hits("c2") == 1);
    CHECK(o.res.body == NULL);

    /* Already cancelled: no attempt at all. */
    r = request("GET", fake_url("/json?key=c3"));
    o = run(&call, &r);
    CHECK(o.rc == CL_ECANCELLED && o.res.attempts == 0);
    CHECK(hits("c3") == 0);
}

static void test_guard_e2e(void)
{
    /* Loopback refused when not allowed: no request reaches the fake. */
    cl_cfg.http_allow_loopback = 0;
    outcome o = get_retrying("/json?key=g1", 2);
    CHECK(o.rc == CL_EBLOCKED);
    CHECK(o.err.code == CL_EBLOCKED);
    CHECK(strstr(o.err.message, "refusing to connect to 127.0.0.1 (loopback address)") != NULL);
    CHECK(o.res.attempts == 1); /* the guard is not retried */

    char url[128];
    snprintf(url, sizeof url, "http://localhost:%d/json?key=g1", fake.port);
    cl_http_request r = request("GET", url);
    o = run(NULL, &r);
    CHECK(o.rc == CL_EBLOCKED);
    CHECK(strstr(o.err.message, "loopback address") && strstr(o.err.message, "localhost"));
    snprintf(url, sizeof url, "http://[::1]:%d/json?key=g1", fake.port);
    r = request("GET", url);
    o = run(NULL, &r);
    CHECK(o.rc == CL_EBLOCKED);
    CHECK(strstr(o.err.message, "::1") != NULL);
    r = request("GET", "http://169.254.169.254/latest/meta-data/");
    o = run(NULL, &r);
    CHECK(o.rc == CL_EBLOCKED && strstr(o.err.message, "metadata"));
    cl_cfg.http_allow_loopback = 1;
    CHECK(hits("g1") == 0);

    /* Redirect hops are checked too: an inward hop is refused before any
       connection (10.0.0.1 would otherwise hang until the connect timeout). */
    r = request("GET", fake_url("/redirect?to=http://10.0.0.1/admin"));
    r.flags = CL_HTTP_FOLLOW_REDIRECTS;
    r.timeout_ms = 5000;
    o = run(NULL, &r);
    CHECK(o.rc == CL_EBLOCKED);
    CHECK(strstr(o.err.message, "refusing to connect to 10.0.0.1 (private address)") != NULL);
    CHECK(o.elapsed_ms < 1000);
    CHECK(o.res.body == NULL);

    r = request("GET", fake_url("/redirect?to=http://169.254.169.254/latest/meta-data/"));
    r.flags = CL_HTTP_FOLLOW_REDIRECTS;
    r.timeout_ms = 5000;
    o = run(NULL, &r);
    CHECK(o.rc == CL_EBLOCKED);
    CHECK(strstr(o.err.message, "169.254.169.254 (cloud metadata address)") != NULL);
    CHECK(o.elapsed_ms < 1000);

    /* Without the flag the redirect is just a response. */
    r = request("GET", fake_url("/redirect?to=http://10.0.0.1/"));
    o = run(NULL, &r);
    CHECK(o.rc == CL_OK && o.res.status == 302);
    cl_http_response_free(&o.res);
}

/* CLIPLOOP_HTTP_ALLOW_LOOPBACK_PORTS=<fake's port>: the fake is reachable,
   any other loopback port is refused — directly or as a redirect hop, by
   address or by name — and no connection to it is ever made. */
static void test_guard_ports_e2e(void)
{
    /* A trap on another loopback port: it listens, so a connection would
       complete the handshake and show up in accept(). */
    int trap = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    CHECK(trap >= 0);
    CHECK(bind(trap, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(trap, 8) == 0);
    CHECK(getsockname(trap, (struct sockaddr *)&a, &al) == 0);
    int trap_port = ntohs(a.sin_port);
    CHECK(trap_port > 0 && trap_port != fake.port);

    cl_cfg.http_allow_loopback = 0;
    cl_cfg.http_allow_loopback_ports[0] = fake.port;
    cl_cfg.http_allow_loopback_port_count = 1;

    /* The listed port works. */
    cl_http_request r = request("GET", fake_url("/json?key=lp1"));
    outcome o = run(NULL, &r);
    CHECK(o.rc == CL_OK && o.res.status == 200);
    CHECK(o.res.body && strstr(o.res.body, "\"ok\":true"));
    cl_http_response_free(&o.res);

    /* Another loopback port, as the first URL. */
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/admin", trap_port);
    r = request("GET", url);
    r.max_retries = 2;
    o = run(NULL, &r);
    CHECK(o.rc == CL_EBLOCKED);
    CHECK(strstr(o.err.message, "refusing to connect to 127.0.0.1 (loopback address)") != NULL);
    CHECK(o.res.attempts == 1);

    /* ... as a redirect hop to 127.0.0.1: the redirect itself is fetched
       from the fake, the hop is refused. */
    char path[512];
    snprintf(path, sizeof path, "/redirect?key=lp2&to=http://127.0.0.1:%d/admin", trap_port);
    r = request("GET", fake_url(path));
    r.flags = CL_HTTP_FOLLOW_REDIRECTS;
    r.timeout_ms = 5000;
    o = run(NULL, &r);
    CHECK(o.rc == CL_EBLOCKED);
    CHECK(o.err.code == CL_EBLOCKED);
    CHECK(strstr(o.err.message, "refusing to connect to 127.0.0.1 (loopback address)") != NULL);
    CHECK(o.res.body == NULL);
    CHECK(o.elapsed_ms < 1000);
    CHECK(hits("lp2") == 1);

    /* ... as a redirect hop to localhost (::1 and 127.0.0.1 both refused). */
    snprintf(path, sizeof path, "/redirect?key=lp3&to=http://localhost:%d/admin", trap_port);
    r = request("GET", fake_url(path));
    r.flags = CL_HTTP_FOLLOW_REDIRECTS;
    r.timeout_ms = 5000;
    o = run(NULL, &r);
    CHECK(o.rc == CL_EBLOCKED);
    CHECK(strstr(o.err.message, "loopback address") && strstr(o.err.message, "for host localhost"));
    CHECK(o.res.body == NULL);
    CHECK(o.elapsed_ms < 1000);
    CHECK(hits("lp3") == 1);

    /* Nothing ever connected to the trap. */
    int conn = accept(trap, NULL, NULL);
    CHECK(conn < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    if (conn >= 0)
        close(conn);
    close(trap);

    /* A redirect to the listed port by name is followed. */
    snprintf(path, sizeof path, "/redirect?to=http://localhost:%d/json", fake.port);
    r = request("GET", fake_url(path));
    r.flags = CL_HTTP_FOLLOW_REDIRECTS;
    o = run(NULL, &r);
    CHECK(o.rc == CL_OK && o.res.status == 200);
    CHECK(o.res.body && strstr(o.res.body, "\"ok\":true"));
    cl_http_response_free(&o.res);

    /* Other inward ranges stay refused on the listed port. */
    snprintf(path, sizeof path, "/redirect?to=http://10.0.0.1:%d/", fake.port);
    r = request("GET", fake_url(path));
    r.flags = CL_HTTP_FOLLOW_REDIRECTS;
    r.timeout_ms = 5000;
    o = run(NULL, &r);
    CHECK(o.rc == CL_EBLOCKED && strstr(o.err.message, "10.0.0.1 (private address)"));

    cl_cfg.http_allow_loopback_port_count = 0;
    cl_cfg.http_allow_loopback = 1;
}

static void test_invalid(void)
{
    cl_http_request r = request("GET", "ftp://example.invalid/");
    outcome o = run(NULL, &r);
    CHECK(o.rc == CL_EINVAL);
    r = request("GET", NULL);
    o = run(NULL, &r);
    CHECK(o.rc == CL_EINVAL);
    r = request("G ET", fake_url("/json"));
    o = run(NULL, &r);
    CHECK(o.rc == CL_EINVAL);
    r = request("GET", fake_url("/json\r\nX: y"));
    o = run(NULL, &r);
    CHECK(o.rc == CL_EINVAL);
    const char *bad[] = {"X-Evil: a\r\nHost: other", NULL};
    r = request("GET", fake_url("/json"));
    r.headers = bad;
    o = run(NULL, &r);
    CHECK(o.rc == CL_EINVAL);
    const char *noname[] = {": value", NULL};
    r.headers = noname;
    o = run(NULL, &r);
    CHECK(o.rc == CL_EINVAL);
    r = request("POST", fake_url("/echo"));
    r.body_len = 10;
    o = run(NULL, &r);
    CHECK(o.rc == CL_EINVAL);
    r = request("GET", fake_url("/json"));
    r.max_retries = -1;
    o = run(NULL, &r);
    CHECK(o.rc == CL_EINVAL);
    r = request("GET", fake_url("/json"));
    r.size = 8;
    o = run(NULL, &r);
    CHECK(o.rc == CL_EINVAL && strstr(o.err.message, "request size"));

    cl_http_response res;
    memset(&res, 0, sizeof res);
    cl_error err;
    r = request("GET", fake_url("/json"));
    CHECK(cl_http_do(NULL, &r, &res, &err) == CL_EINVAL); /* res.size not set */
    CHECK(cl_http_do(NULL, NULL, &res, &err) == CL_EINVAL);
    /* err may be NULL. */
    res.size = sizeof res;
    CHECK(cl_http_do(NULL, &r, &res, NULL) == CL_OK && res.status == 200);
    cl_http_response_free(&res);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_guard_table();
    test_guard_ports_table();
    test_loopback_ports_config();

    char cfg_err[256];
    if (cl_config_load(cfg_err, sizeof cfg_err) != 0) {
        fprintf(stderr, "config: %s\n", cfg_err);
        return 1;
    }
    CHECK(cl_http_global_init() == 0);
    CHECK(cl_http_global_init() == 0); /* idempotent */
    cl_cfg.http_allow_loopback = 1;
    cl_cfg.http_timeout_ms = 5000;

    if (fake_tmp_start(&fake, "http_fake.mjs") != 0) {
        unit_failed++;
        fake_tmp_stop(&fake);
        return unit_done("test_http_client");
    }
    test_json_ok();
    test_retries_5xx();
    test_retry_after();
    test_client_error_not_retried();
    test_timeout();
    test_size_cap();
    test_redirects();
    test_post();
    test_connect_failure();
    test_cancellation();
    test_guard_e2e();
    test_guard_ports_e2e();
    test_invalid();
    fake_tmp_stop(&fake);
    return unit_done("test_http_client");
}
