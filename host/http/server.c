/*
 * server.c — H2O glue: listeners, event loops, the blocking-handler pool,
 * static files, the app-shell fallback, the access log and graceful stop.
 *
 * Request life cycle for a routed request:
 *   on_req (loop thread) copies what the handler may read into a task
 *   (method, path, query, headers, body), then either runs the handler at
 *   once (CL_ROUTE_INLINE) or queues the task for a pool (the blocking pool,
 *   or the provider pool for CL_ROUTE_PROVIDER routes). A pool thread
 *   runs the handler and posts the task back to the loop's receiver; the
 *   loop sends the response. If the client went away meanwhile, the request's
 *   memory pool was disposed; a small shared object in that pool clears
 *   task->req on disposal, so the loop then just frees the task.
 */
#include "http/server.h"
#include "http/assets.h"
#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "http/http.h"
#include "http/loopdb.h"
#include "plugins/call.h"

#include <h2o.h>
#include <openssl/crypto.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct loop_thread loop_thread;

typedef struct task {
    h2o_multithread_message_t msg; /* must be first: messages arrive as this */
    loop_thread *lt;
    h2o_req_t *req;       /* NULL once h2o disposed of the request */
    struct task **slot;   /* pool-allocated back pointer, cleared when we finish first */
    cl_handler_fn fn;
    cl_req creq;
    cl_res cres;
    struct task *next;      /* pool queue: the next task of the same lane */
    struct task *next_lane; /* pool queue, in a lane's first task: the next lane */
    struct task *lane_last; /* pool queue, in a lane's first task: the lane's last task */
    uint64_t lane_key;      /* whose lane: the client (provider pool), 0 (blocking pool) */
    /* Provider routes: the call the handler's provider work polls, and the
       loop's list of such tasks whose clients it watches (loop thread only). */
    int provider;
    cl_call call;
    struct task *watch_prev, *watch_next;
    struct read_state *rs; /* a read route answering on the loop (loopdb.h), else NULL */
} task;

struct loop_thread {
    pthread_t tid;
    int index;
    int fd;
    h2o_evloop_t *loop;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t done_receiver;
    h2o_multithread_receiver_t ctl_receiver;
    int stopping;
    task *watching; /* provider tasks in flight from this loop */
    cl_ldb *db;     /* the loop's own database connections (read routes), or NULL */
    h2o_timeout_t watch_timeout;
    h2o_timeout_entry_t watch_entry;
};

static h2o_globalconf_t config;
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int count; /* loops ready to take messages */
} ready = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
static loop_thread *loops;
static int nloops;
static int bound_port;
static atomic_int inflight;
static atomic_int stop_requested;
static char app_shell_path[1200];
static h2o_mimemap_t *static_mimemap; /* the static files' types (set at start-up) */

/* ---- pools ---------------------------------------------------------------
 *
 * Two pools of the same shape: the blocking pool runs handlers that may
 * block briefly (database, files); the provider pool runs CL_ROUTE_PROVIDER
 * handlers, which wait on an outside provider (an LLM) for seconds. A slow
 * provider therefore only ever occupies provider threads, and sessions,
 * database routes and /healthz keep their own threads. */

/* A pool's queue is a ring of lanes, one per client, served round robin:
   a provider task's lane is its client (session cookie, else address), so a
   burst from one client waits behind itself, not in front of everyone else
   waiting for a provider thread. The blocking pool has one lane (key 0), a
   plain FIFO. Lanes are threaded through the tasks: nothing is allocated. */
typedef struct work_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    task *lanes, *lanes_last; /* each lane's first task, in serving order */
    int stop;
    int provider; /* run handlers with the request's call current, give slots back */
    pthread_t *threads;
    int nthreads;
} work_pool;

static work_pool pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
static work_pool ppool = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .provider = 1};

/* Provider calls in flight per user: at most one entry per provider thread
   (a handler holds at most one slot), so a small array is enough. */
static struct {
    pthread_mutex_t mu;
    int64_t *user;
    int *count;
    int n;
} slots = {.mu = PTHREAD_MUTEX_INITIALIZER};

#define SLOT_RETRY_AFTER_S 5

int cl_req_provider_slot(cl_req *req, cl_res *res, int64_t user_id)
{
    if (!req->call || req->slot_user || user_id <= 0 || !slots.n)
        return 0;
    int have = 0, free_i = -1, mine = -1;
    pthread_mutex_lock(&slots.mu);
    for (int i = 0; i < slots.n; i++) {
        if (slots.count[i] && slots.user[i] == user_id)
            mine = i;
        else if (!slots.count[i] && free_i < 0)
            free_i = i;
    }
    have = mine >= 0 ? slots.count[mine] : 0;
    int ok = have < cl_cfg.llm_per_user && (mine >= 0 || free_i >= 0);
    if (ok) {
        if (mine < 0) {
            mine = free_i;
            slots.user[mine] = user_id;
        }
        slots.count[mine]++;
        req->slot_user = user_id;
    }
    pthread_mutex_unlock(&slots.mu);
    if (ok)
        return 0;
    char ra[16];
    snprintf(ra, sizeof ra, "%d", SLOT_RETRY_AFTER_S);
    cl_res_header(res, "Retry-After", ra);
    cl_res_error(res, 429, "too_many_requests",
                 "You already have %d AI request%s running; wait for %s to finish, then try again", have,
                 have == 1 ? "" : "s", have == 1 ? "it" : "one");
    return -1;
}

static void slot_release(cl_req *req)
{
    if (!req->slot_user)
        return;
    pthread_mutex_lock(&slots.mu);
    for (int i = 0; i < slots.n; i++)
        if (slots.count[i] && slots.user[i] == req->slot_user) {
            slots.count[i]--;
            break;
        }
    pthread_mutex_unlock(&slots.mu);
    req->slot_user = 0;
}

static void lane_append(work_pool *p, task *first)
{
    first->next_lane = NULL;
    if (p->lanes_last)
        p->lanes_last->next_lane = first;
    else
        p->lanes = first;
    p->lanes_last = first;
}

static void pool_push(work_pool *p, task *t)
{
    pthread_mutex_lock(&p->mu);
    t->next = NULL;
    task *l = p->lanes;
    while (l && l->lane_key != t->lane_key)
        l = l->next_lane;
    if (l) {
        l->lane_last->next = t;
        l->lane_last = t;
    } else {
        t->lane_last = t;
        lane_append(p, t);
    }
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* The first task of the first lane; the rest of that lane goes to the end of
   the ring. Under p->mu; NULL when empty. */
static task *pool_pop(work_pool *p)
{
    task *t = p->lanes;
    if (!t)
        return NULL;
    p->lanes = t->next_lane;
    if (!p->lanes)
        p->lanes_last = NULL;
    task *rest = t->next;
    if (rest) {
        rest->lane_last = t->lane_last;
        lane_append(p, rest);
    }
    return t;
}

/* The provider pool's lane of a request: its session cookie, or its address. */
static uint64_t client_lane(const cl_req *r)
{
    const char *cookie = cl_req_header(r, "cookie"), *v = cookie ? strstr(cookie, "cliploop_session=") : NULL;
    const char *s = v ? v + strlen("cliploop_session=") : r->remote_addr;
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s && *s != ';'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h | 1; /* never the blocking pool's 0 */
}

/* A handler whose database went away mid-request (server restarted or down)
   answers whatever its error path chose, usually 500: the client is told the
   truth instead, a 503 it may retry. */
static void lost_database_reply(cl_res *res)
{
    if (res->status < 500 || res->status == 503 || res->file_path || !cl_db_lost())
        return;
    cl_res_error(res, 503, "database_unavailable",
                 "The database is not reachable right now; try again in a moment");
}

static void *pool_main(void *arg)
{
    work_pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->lanes && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        task *t = pool_pop(p);
        if (!t) { /* stop requested and the queue is drained */
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        pthread_mutex_unlock(&p->mu);
        cl_db_lost_reset();
        if (p->provider && atomic_load(&t->call.cancelled)) {
            /* The client went away while the task waited for a thread: no
               work, no provider call (nobody reads the answer). */
            cl_res_error(&t->cres, 409, "cancelled", "The client went away before the request started");
        } else if (p->provider) {
            cl_call_set_current(t->creq.call);
            t->fn(&t->creq, &t->cres);
            cl_call_set_current(NULL);
            slot_release(&t->creq);
        } else {
            t->fn(&t->creq, &t->cres);
        }
        lost_database_reply(&t->cres);
        h2o_multithread_send_message(&t->lt->done_receiver, &t->msg);
    }
}

/* ---- tasks --------------------------------------------------------------- */

/* Loop thread: h2o disposed of the request (the client went away, or the
   connection closed): a provider call still running for it stops. */
static void on_req_dispose(void *p)
{
    task *t = *(task **)p;
    if (t) {
        t->req = NULL;
        if (t->provider)
            cl_call_cancel(&t->call);
    }
}

/* ---- watching the clients of provider calls ------------------------------
 *
 * An HTTP/1 connection is not read while its request is being handled, so
 * h2o notices a client that hung up only when the answer is written —
 * seconds later for a provider call. The loop therefore looks at the socket
 * of every provider request in flight every WATCH_MS: end of stream (the
 * peer closed) or a socket error cancels the call, so the provider request
 * is aborted, the route refunds what it charged and the user's slot is
 * free again. (HTTP/2 streams the client resets are disposed by h2o, see
 * on_req_dispose.) */
#define WATCH_MS 200

static int client_gone(h2o_req_t *req)
{
    h2o_socket_t *sock =
        req->conn->callbacks->get_socket ? req->conn->callbacks->get_socket(req->conn) : NULL;
    int fd = sock ? h2o_socket_get_fd(sock) : -1;
    if (fd < 0)
        return 0;
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static void on_watch(h2o_timeout_entry_t *entry)
{
    loop_thread *lt = H2O_STRUCT_FROM_MEMBER(loop_thread, watch_entry, entry);
    for (task *t = lt->watching; t; t = t->watch_next)
        if (t->req && !atomic_load(&t->call.cancelled) && client_gone(t->req)) {
            cl_info("http", "client of %s %s went away; cancelling its provider call", t->creq.method,
                    t->creq.path);
            cl_call_cancel(&t->call);
        }
    if (lt->watching)
        h2o_timeout_link(lt->loop, &lt->watch_timeout, &lt->watch_entry);
}

static void watch_add(loop_thread *lt, task *t)
{
    t->watch_prev = NULL;
    t->watch_next = lt->watching;
    if (lt->watching)
        lt->watching->watch_prev = t;
    lt->watching = t;
    if (!h2o_timeout_is_linked(&lt->watch_entry))
        h2o_timeout_link(lt->loop, &lt->watch_timeout, &lt->watch_entry);
}

static void watch_remove(loop_thread *lt, task *t)
{
    if (t->watch_prev)
        t->watch_prev->watch_next = t->watch_next;
    else
        lt->watching = t->watch_next;
    if (t->watch_next)
        t->watch_next->watch_prev = t->watch_prev;
    t->watch_prev = t->watch_next = NULL;
    if (!lt->watching && h2o_timeout_is_linked(&lt->watch_entry))
        h2o_timeout_unlink(&lt->watch_entry);
}

static char *dup_iov(h2o_iovec_t v)
{
    char *s = malloc(v.len + 1);
    if (s) {
        if (v.len)
            memcpy(s, v.base, v.len);
        s[v.len] = '\0';
    }
    return s;
}

/* Tasks are made and freed on their loop's thread: each loop keeps the ones
   it freed for its next requests (at most RECYCLE_MAX), so a request costs
   no allocation of its task. */
#define RECYCLE_MAX 256
static __thread task *free_tasks;
static __thread int nfree_tasks;

static task *task_new(void)
{
    task *t = free_tasks;
    if (!t)
        return calloc(1, sizeof *t);
    free_tasks = t->next;
    nfree_tasks--;
    memset(t, 0, sizeof *t);
    return t;
}

static void task_free(task *t)
{
    cl_req_clear(&t->creq);
    cl_res_clear(&t->cres);
    if (nfree_tasks < RECYCLE_MAX) {
        t->next = free_tasks;
        free_tasks = t;
        nfree_tasks++;
    } else {
        free(t);
    }
}

/* A loop thread ends: give its kept tasks back. */
static void task_recycler_drain(void)
{
    while (free_tasks) {
        task *t = free_tasks;
        free_tasks = t->next;
        free(t);
    }
    nfree_tasks = 0;
}

/* The peer's numeric address into out (at least 64 bytes): IPv4 by hand
   (this runs for every request; getnameinfo goes through sprintf), anything
   else through getnameinfo. "" when the peer is unknown. */
static void peer_addr(h2o_conn_t *conn, char *out, size_t outlen)
{
    struct sockaddr_storage ss;
    socklen_t sl = conn->callbacks->get_peername(conn, (struct sockaddr *)&ss);
    out[0] = '\0';
    if (sl == 0 || outlen < 16)
        return;
    if (ss.ss_family == AF_INET) {
        const unsigned char *b = (const unsigned char *)&((struct sockaddr_in *)&ss)->sin_addr.s_addr;
        char *o = out;
        for (int i = 0; i < 4; i++) {
            unsigned v = b[i];
            if (v >= 100)
                *o++ = (char)('0' + v / 100);
            if (v >= 10)
                *o++ = (char)('0' + v / 10 % 10);
            *o++ = (char)('0' + v % 10);
            *o++ = i < 3 ? '.' : '\0';
        }
        return;
    }
    if (getnameinfo((struct sockaddr *)&ss, sl, out, (socklen_t)outlen, NULL, 0, NI_NUMERICHOST) != 0)
        out[0] = '\0';
}

/* Copy what a handler may read out of the h2o request. 0 or -1 (out of memory). */
static int copy_request(task *t, h2o_req_t *req)
{
    cl_req *r = &t->creq;
    r->method = dup_iov(req->method);
    /* The raw path (h2o's path_normalized is already percent-decoded): the
       router decodes each captured parameter exactly once, so "%2531" is
       "%31", never "1". */
    r->path = dup_iov(h2o_iovec_init(req->path.base, req->query_at != SIZE_MAX ? req->query_at : req->path.len));
    r->query = req->query_at != SIZE_MAX
                   ? dup_iov(h2o_iovec_init(req->path.base + req->query_at + 1,
                                            req->path.len - req->query_at - 1))
                   : strdup("");
    r->body = dup_iov(req->entity.base ? req->entity : h2o_iovec_init("", 0));
    r->body_len = req->entity.base ? req->entity.len : 0;
    if (!r->method || !r->path || !r->query || !r->body)
        return -1;
    /* h2o keeps Host (and HTTP/2's :authority) in req->authority, not in the
       header list; handlers see it as an ordinary "host" header. */
    r->headers = calloc(req->headers.size + 1, sizeof *r->headers);
    if (!r->headers)
        return -1;
    for (size_t i = 0; i < req->headers.size; i++) {
        h2o_header_t *h = &req->headers.entries[i];
        r->headers[i].name = dup_iov(*h->name);
        r->headers[i].value = dup_iov(h->value);
        r->nheaders = i + 1;
        if (!r->headers[i].name || !r->headers[i].value)
            return -1;
    }
    if (req->authority.len) {
        r->headers[r->nheaders].name = strdup("host");
        r->headers[r->nheaders].value = dup_iov(req->authority);
        r->nheaders++;
        if (!r->headers[r->nheaders - 1].name || !r->headers[r->nheaders - 1].value)
            return -1;
    }
    peer_addr(req->conn, r->remote_addr, sizeof r->remote_addr);
    return 0;
}

/* ---- file replies ---------------------------------------------------------- */

/*
 * Streams a file in FILE_CHUNK pieces with the generator protocol: h2o calls
 * proceed when the previous piece went out, so memory stays bounded whatever
 * the file size. One byte range ("bytes=a-b", "bytes=a-", "bytes=-n") is
 * honoured with 206 + Content-Range; an unsatisfiable one is 416. Multiple
 * ranges are answered with the whole file (allowed by RFC 9110).
 */
/* At shutdown, how long a loop with nothing in flight waits for its last
   responses to flush before it stops with connections still open. */
#define DRAIN_FLUSH_MS 300
#define FILE_CHUNK (64 * 1024)

typedef struct {
    h2o_generator_t super;
    int fd;
    off_t off;
    uint64_t left;
    char *buf;
} file_gen;

static void file_gen_close(file_gen *g)
{
    if (g->fd >= 0) {
        close(g->fd);
        g->fd = -1;
    }
}

static void file_gen_proceed(h2o_generator_t *self, h2o_req_t *req)
{
    file_gen *g = (file_gen *)self;
    size_t want = g->left < FILE_CHUNK ? (size_t)g->left : FILE_CHUNK;
    ssize_t n = want ? pread(g->fd, g->buf, want, g->off) : 0;
    if (n < 0 || (want && n == 0)) {
        file_gen_close(g);
        h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
        return;
    }
    g->off += n;
    g->left -= (uint64_t)n;
    h2o_iovec_t vec = h2o_iovec_init(g->buf, (size_t)n);
    int final = g->left == 0;
    if (final)
        file_gen_close(g);
    h2o_send(req, &vec, 1, final ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void file_gen_stop(h2o_generator_t *self, h2o_req_t *req)
{
    (void)req;
    file_gen_close((file_gen *)self);
}

static void file_gen_dispose(void *p) { file_gen_close(p); }

/* Parse a single "bytes=" range against size. 1 = ranged (start/len set),
   0 = serve whole file, -1 = unsatisfiable. */
static int parse_range(const char *v, size_t vlen, uint64_t size, uint64_t *start, uint64_t *len)
{
    char tmp[128];
    if (vlen >= sizeof tmp || vlen < 7 || strncmp(v, "bytes=", 6) != 0)
        return 0;
    memcpy(tmp, v + 6, vlen - 6);
    tmp[vlen - 6] = '\0';
    if (strchr(tmp, ','))
        return 0;
    char *dash = strchr(tmp, '-');
    if (!dash)
        return 0;
    *dash = '\0';
    char *a = tmp, *b = dash + 1, *end;
    if (!*a) { /* suffix: last n bytes */
        unsigned long long n = strtoull(b, &end, 10);
        if (*end || !*b || n == 0)
            return n == 0 && *b && !*end ? -1 : 0;
        if (size == 0)
            return -1;
        *len = n > size ? size : n;
        *start = size - *len;
        return 1;
    }
    unsigned long long s0 = strtoull(a, &end, 10);
    if (*end)
        return 0;
    if (s0 >= size)
        return -1;
    unsigned long long e0 = size - 1;
    if (*b) {
        e0 = strtoull(b, &end, 10);
        if (*end || e0 < s0)
            return 0;
        if (e0 >= size)
            e0 = size - 1;
    }
    *start = s0;
    *len = e0 - s0 + 1;
    return 1;
}

/* 0 when the response was started; -1 with a JSON error put into res. */
static int send_file(h2o_req_t *req, cl_res *res)
{
    int fd = open(res->file_path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && res->file_temp) {
        unlink(res->file_path); /* the open descriptor keeps it readable */
        res->file_temp = 0;
    }
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        cl_res_error(res, 404, "not_found", "The file is no longer available");
        return -1;
    }
    uint64_t size = (uint64_t)st.st_size, start = 0, len = size;
    /* Validators: an ETag from size and modification time (a re-rendered
       video gets a new one), and Last-Modified. A matching If-None-Match is
       answered 304 without a body. */
    char etag[64], lastmod[H2O_TIMESTR_RFC1123_LEN + 1];
    int etag_len = snprintf(etag, sizeof etag, "\"%llx-%llx%09lx\"", (unsigned long long)size,
                            (unsigned long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    struct tm gmt;
    gmtime_r(&st.st_mtim.tv_sec, &gmt);
    h2o_time2str_rfc1123(lastmod, &gmt);
    ssize_t ni = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
    int not_modified = ni != -1 && h2o_memis(req->headers.entries[ni].value.base, req->headers.entries[ni].value.len,
                                             etag, (size_t)etag_len);
    int ranged = 0;
    ssize_t ri = not_modified ? -1 : h2o_find_header(&req->headers, H2O_TOKEN_RANGE, -1);
    if (ri != -1) {
        h2o_iovec_t v = req->headers.entries[ri].value;
        ranged = parse_range(v.base, v.len, size, &start, &len);
    }
    for (size_t i = 0; i < res->nheaders; i++) {
        h2o_iovec_t name = h2o_strdup(&req->pool, res->headers[i].name, SIZE_MAX);
        h2o_iovec_t value = h2o_strdup(&req->pool, res->headers[i].value, SIZE_MAX);
        h2o_add_header_by_str(&req->pool, &req->res.headers, name.base, name.len, 1, NULL,
                              value.base, value.len);
    }
    char hdr[96];
    if (ranged < 0) {
        close(fd);
        req->res.status = 416;
        req->res.reason = "Range Not Satisfiable";
        int n = snprintf(hdr, sizeof hdr, "bytes */%llu", (unsigned long long)size);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_RANGE, NULL,
                       h2o_strdup(&req->pool, hdr, (size_t)n).base, (size_t)n);
        h2o_send_inline(req, "", 0);
        return 0;
    }
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, h2o_strdup(&req->pool, etag, SIZE_MAX).base,
                   (size_t)etag_len);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LAST_MODIFIED, NULL,
                   h2o_strdup(&req->pool, lastmod, SIZE_MAX).base, strlen(lastmod));
    if (not_modified) {
        close(fd);
        req->res.status = 304;
        req->res.reason = "Not Modified";
        h2o_send_inline(req, "", 0);
        return 0;
    }
    const char *mime = res->file_mime ? res->file_mime : "application/octet-stream";
    req->res.status = ranged ? 206 : 200;
    req->res.reason = ranged ? "Partial Content" : "OK";
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, mime, strlen(mime));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ACCEPT_RANGES, NULL, H2O_STRLIT("bytes"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("private, max-age=3600"));
    if (ranged) {
        int n = snprintf(hdr, sizeof hdr, "bytes %llu-%llu/%llu", (unsigned long long)start,
                         (unsigned long long)(start + len - 1), (unsigned long long)size);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_RANGE, NULL,
                       h2o_strdup(&req->pool, hdr, (size_t)n).base, (size_t)n);
    }
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")) || len == 0) {
        close(fd);
        h2o_send_inline(req, "", 0);
        return 0;
    }
    /* The generator lives in the request pool; its dispose hook closes the
       file if the client goes away before the last piece. */
    file_gen *g = h2o_mem_alloc_shared(&req->pool, sizeof *g, file_gen_dispose);
    g->super.proceed = file_gen_proceed;
    g->super.stop = file_gen_stop;
    g->fd = fd;
    g->off = (off_t)start;
    g->left = len;
    g->buf = h2o_mem_alloc_pool(&req->pool, FILE_CHUNK);
    h2o_start_response(req, &g->super);
    file_gen_proceed(&g->super, req);
    return 0;
}

static void send_response(h2o_req_t *req, cl_res *res)
{
    /* constant data, so several event-loop threads may read it (it used to be
       filled lazily on first use: a data race between those threads) */
    static const char *const reasons[600] = {
        [200] = "OK", [201] = "Created", [202] = "Accepted", [204] = "No Content", [302] = "Found",
        [304] = "Not Modified", [400] = "Bad Request", [401] = "Unauthorized", [402] = "Payment Required",
        [403] = "Forbidden", [404] = "Not Found", [405] = "Method Not Allowed", [409] = "Conflict",
        [413] = "Payload Too Large", [422] = "Unprocessable Entity", [429] = "Too Many Requests",
        [500] = "Internal Server Error", [502] = "Bad Gateway", [503] = "Service Unavailable",
        [504] = "Gateway Timeout"};
    int status = res->status ? res->status : 200;
    if (status < 100 || status > 599)
        status = 500;
    if (res->file_path) {
        if (send_file(req, res) == 0)
            return;
        status = res->status;
    }
    req->res.status = status;
    req->res.reason = reasons[status] ? reasons[status] : "Status";
    const char *ct = res->content_type ? res->content_type : "application/json; charset=utf-8";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ct, strlen(ct));
    int own_cache_control = 0;
    for (size_t i = 0; i < res->nheaders; i++)
        if (strcasecmp(res->headers[i].name, "cache-control") == 0)
            own_cache_control = 1;
    if (!own_cache_control)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                       H2O_STRLIT("no-store"));
    for (size_t i = 0; i < res->nheaders; i++) {
        h2o_iovec_t name = h2o_strdup(&req->pool, res->headers[i].name, SIZE_MAX);
        h2o_iovec_t value = h2o_strdup(&req->pool, res->headers[i].value, SIZE_MAX);
        h2o_add_header_by_str(&req->pool, &req->res.headers, name.base, name.len, 1, NULL,
                              value.base, value.len);
    }
    /* An explicit length keeps the connection alive for empty bodies too
       (h2o 2.2 closes a keep-alive connection after an unsized response). */
    req->res.content_length = res->body.len;
    h2o_send_inline(req, res->body.data ? res->body.data : "", res->body.len);
}

/* Loop thread: a pool thread finished a task. */
static void on_task_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m =
            H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        task *t = (task *)m;
        if (t->provider)
            watch_remove(t->lt, t);
        if (t->req) {
            *t->slot = NULL;
            send_response(t->req, &t->cres);
        }
        task_free(t);
        atomic_fetch_sub(&inflight, 1);
    }
}

/* ---- read routes on the loop (loopdb.h) ------------------------------------
 *
 * The session lookup, then the route's statement, each sent on one of the
 * loop's connections; the loop serves other requests meanwhile. Anything the
 * loop path cannot answer as the blocking handler would goes to the
 * blocking pool, where that handler answers it from the start. */

typedef struct read_state {
    cl_ldb_op op; /* must be first: the callback gets this */
    task *t;
    const cl_read_route *rr;
    int stage; /* 1: session lookup, 2: the route's statement */
    cl_user u;
    cl_read_stmt s;
} read_state;

/* Kept like tasks (the loop thread makes and frees them). */
static __thread read_state *free_reads;
static __thread int nfree_reads;

static read_state *read_new(void)
{
    read_state *rs = free_reads;
    if (!rs)
        return malloc(sizeof *rs);
    free_reads = (read_state *)rs->op.next;
    nfree_reads--;
    return rs;
}

static void read_release(read_state *rs)
{
    OPENSSL_cleanse(&rs->u, sizeof rs->u);
    if (nfree_reads < RECYCLE_MAX) {
        rs->op.next = (cl_ldb_op *)free_reads;
        free_reads = rs;
        nfree_reads++;
    } else {
        free(rs);
    }
}

static void read_recycler_drain(void)
{
    while (free_reads) {
        read_state *rs = free_reads;
        free_reads = (read_state *)rs->op.next;
        free(rs);
    }
    nfree_reads = 0;
}

static void read_free(task *t)
{
    if (t->rs) {
        read_release(t->rs);
        t->rs = NULL;
    }
}

/* The request ends here: reply (unless the client went away) and free it. */
static void read_finish(task *t)
{
    if (t->req) {
        *t->slot = NULL;
        send_response(t->req, &t->cres);
    }
    read_free(t);
    task_free(t);
    atomic_fetch_sub(&inflight, 1);
}

/* The blocking handler answers it instead, from the start. */
static void read_to_pool(task *t)
{
    read_free(t);
    cl_res_clear(&t->cres);
    pool_push(&pool, t);
}

static void on_read_result(cl_ldb_op *op, PGresult *r)
{
    read_state *rs = (read_state *)op;
    task *t = rs->t;
    if (!t->req) { /* the client went away */
        PQclear(r);
        read_finish(t);
        return;
    }
    if (!cl_db_ok(r)) { /* no connection, or the statement failed: the pool's handler says what */
        PQclear(r);
        read_to_pool(t);
        return;
    }
    if (rs->stage == 2) {
        rs->rr->reply(&t->creq, &t->cres, &rs->u, r);
        PQclear(r);
        read_finish(t);
        return;
    }
    int rc = cl_auth_session_result(&t->creq, &t->cres, r, rs->rr->level, &rs->u);
    PQclear(r);
    if (rc == 0)
        rc = rs->rr->plan(&t->creq, &t->cres, &rs->u, &rs->s);
    if (rc > 0) {
        read_to_pool(t);
    } else if (rc < 0) {
        read_finish(t);
    } else if (!rs->s.st) {
        rs->rr->reply(&t->creq, &t->cres, &rs->u, NULL);
        read_finish(t);
    } else {
        rs->stage = 2;
        if (cl_ldb_send(t->lt->db, &rs->op, rs->s.st, rs->s.params, on_read_result) != 0)
            read_to_pool(t);
    }
}

/* Loop thread: start a read route's session lookup. 1 when the loop path
   took the request (answered or in flight), 0 when the pool should. */
static int read_start(task *t, h2o_req_t *req, const cl_read_route *rr)
{
    read_state *rs = read_new();
    if (!rs)
        return 0;
    rs->t = t;
    rs->rr = rr;
    rs->stage = 1;
    if (cl_auth_session_hash(&t->creq, &t->cres, rs->s.buf[0]) != 0) { /* no session: 401 at once */
        read_release(rs);
        send_response(req, &t->cres);
        task_free(t);
        return 1;
    }
    const char *p[] = {rs->s.buf[0]};
    const cl_db_stmt *st = rr->no_credits ? &cl_auth_session_user_stmt : &cl_auth_session_stmt;
    if (cl_ldb_send(t->lt->db, &rs->op, st, p, on_read_result) != 0) {
        read_release(rs);
        return 0;
    }
    t->rs = rs;
    atomic_fetch_add(&inflight, 1);
    t->req = req;
    t->slot = h2o_mem_alloc_shared(&req->pool, sizeof *t->slot, on_req_dispose);
    *t->slot = t;
    return 1;
}

/* ---- request handler ---------------------------------------------------- */

static int has_prefix_segment(h2o_iovec_t path, const char *prefix)
{
    size_t n = strlen(prefix);
    return path.len >= n && memcmp(path.base, prefix, n) == 0 &&
           (path.len == n || path.base[n] == '/');
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    loop_thread *lt = NULL;
    for (int i = 0; i < nloops; i++)
        if (&loops[i].ctx == req->conn->ctx)
            lt = &loops[i];

    /* /r/<slug> (tracking links) goes through the router too: its handler
       answers inline from a cache and defers to the pool on a miss. */
    int is_api = has_prefix_segment(req->path_normalized, "/api") ||
                 has_prefix_segment(req->path_normalized, "/r") ||
                 h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/healthz"));
    if (!is_api && req->path_normalized.len < 256 && req->method.len < 8) {
        /* Server-rendered pages (the public site) and their forms are routes too. */
        char path[256], method[8];
        cl_handler_fn fn;
        unsigned fl;
        memcpy(path, req->path_normalized.base, req->path_normalized.len);
        path[req->path_normalized.len] = '\0';
        snprintf(method, sizeof method, "%.*s", (int)req->method.len, req->method.base);
        is_api = cl_router_match(method, path, &fn, &fl, NULL) == 1;
    }
    if (!is_api) {
        int get = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
                  h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
        if (!get)
            return -1;
        h2o_iovec_t p = req->path_normalized;
        /* /assets/…: a fingerprinted name is cached for a year, a plain name briefly (with its ETag). */
        int hashed = 0;
        const cl_asset *a = cl_assets_find(p.base, p.len, &hashed);
        if (a) {
            const char *dot = strrchr(a->file, '.');
            h2o_mimemap_type_t *mt = h2o_mimemap_get_type_by_extension(
                static_mimemap, h2o_iovec_init(dot + 1, strlen(dot + 1)));
            h2o_iovec_t mime = mt && mt->type == H2O_MIMEMAP_TYPE_MIMETYPE ? mt->data.mimetype
                                                                          : h2o_iovec_init(H2O_STRLIT("application/octet-stream"));
            if (hashed)
                h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                               H2O_STRLIT("public, max-age=31536000, immutable"));
            else
                h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                               H2O_STRLIT("public, max-age=300"));
            /* A revalidation with the current ETag (h2o's: mtime and size) is answered 304. */
            struct stat st;
            ssize_t inm = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
            if (inm != -1 && stat(a->file, &st) == 0) {
                char etag[64];
                int n = snprintf(etag, sizeof etag, "\"%08x-%zx\"", (unsigned)st.st_mtime, (size_t)st.st_size);
                if (h2o_memis(req->headers.entries[inm].value.base, req->headers.entries[inm].value.len, etag, (size_t)n)) {
                    req->res.status = 304;
                    req->res.reason = "Not Modified";
                    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, etag, (size_t)n);
                    h2o_send_inline(req, H2O_STRLIT(""));
                    return 0;
                }
            }
            if (h2o_file_send(req, 200, "OK", a->file, mime, 0) == 0)
                return 0;
            return -1;
        }
        /* The studio: /app/... and /dashboard/... are client-side routes served by the shell;
           it and the pages of web/ come pre-rendered with fingerprinted references (assets.h). */
        size_t len = 0;
        const char *html = NULL;
        if (has_prefix_segment(p, "/app") || has_prefix_segment(p, "/dashboard"))
            html = cl_assets_shell(p.base, p.len, &len);
        else if (p.len > 5 && memcmp(p.base + p.len - 5, ".html", 5) == 0)
            html = cl_assets_page(p.base, p.len, &len);
        if (html) {
            req->res.status = 200;
            req->res.reason = "OK";
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                           H2O_STRLIT("text/html; charset=utf-8"));
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-cache"));
            req->res.content_length = len;
            h2o_send_inline(req, html, len);
            return 0;
        }
        if (has_prefix_segment(p, "/app") || has_prefix_segment(p, "/dashboard")) {
            if (h2o_file_send(req, 200, "OK", app_shell_path,
                              h2o_iovec_init(H2O_STRLIT("text/html; charset=utf-8")), 0) == 0)
                return 0;
        }
        return -1; /* static files handler next */
    }

    task *t = task_new();
    if (!t) {
        h2o_send_error_503(req, "Service Unavailable", "out of memory", 0);
        return 0;
    }
    t->lt = lt;
    if (copy_request(t, req) != 0) {
        task_free(t);
        h2o_send_error_503(req, "Service Unavailable", "out of memory", 0);
        return 0;
    }
    unsigned flags = 0;
    int m = cl_router_match(t->creq.method, t->creq.path, &t->fn, &flags, &t->creq);
    if (m <= 0) {
        if (m < 0)
            cl_res_error(&t->cres, 405, "method_not_allowed", "%s is not allowed on %s",
                         t->creq.method, t->creq.path);
        else
            cl_res_error(&t->cres, 404, "not_found", "No API route for %s %s", t->creq.method,
                         t->creq.path);
        send_response(req, &t->cres);
        task_free(t);
        return 0;
    }
    if (t->creq.body_len > cl_cfg.max_body_bytes && !(flags & CL_ROUTE_UPLOAD))
        cl_res_error(&t->cres, 413, "payload_too_large", "The request body is larger than %zu bytes",
                     cl_cfg.max_body_bytes);
    if (t->cres.status == 413 || cl_req_validate(&t->creq, &t->cres) != 0) {
        send_response(req, &t->cres);
        task_free(t);
        return 0;
    }
    const cl_read_route *rr = lt && lt->db ? cl_read_route_of(t->fn) : NULL;
    if (rr && read_start(t, req, rr))
        return 0;
    if ((flags & CL_ROUTE_INLINE) || !lt) {
        t->fn(&t->creq, &t->cres);
        if (!t->cres.defer || !lt) {
            send_response(req, &t->cres);
            task_free(t);
            return 0;
        }
        /* The inline handler asked to finish on the pool (e.g. a cache miss). */
        t->fn = t->cres.defer;
        cl_res_clear(&t->cres);
    }
    atomic_fetch_add(&inflight, 1);
    t->req = req;
    t->slot = h2o_mem_alloc_shared(&req->pool, sizeof *t->slot, on_req_dispose);
    *t->slot = t;
    if (flags & CL_ROUTE_PROVIDER) {
        t->provider = 1;
        cl_call_init(&t->call, NULL, NULL);
        t->creq.call = &t->call;
        t->lane_key = client_lane(&t->creq);
        watch_add(lt, t);
        pool_push(&ppool, t);
    } else {
        pool_push(&pool, t);
    }
    return 0;
}

/* ---- access log ---------------------------------------------------------- */

/* s[0..n) for one log line: control bytes, DEL and backslash as \xNN, so
   a decoded "%0a" in a path can never start a forged line. */
static void log_escape(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
}

static void log_access(h2o_logger_t *self, h2o_req_t *req)
{
    (void)self;
    if (!cl_cfg.access_log)
        return;
    char addr[64];
    peer_addr(req->conn, addr, sizeof addr);
    if (!addr[0])
        snprintf(addr, sizeof addr, "-");
    struct timeval now;
    gettimeofday(&now, NULL);
    double ms = (double)(now.tv_sec - req->timestamps.request_begin_at.tv_sec) * 1e3 +
                (double)(now.tv_usec - req->timestamps.request_begin_at.tv_usec) / 1e3;
    /* The path is logged without its query string: queries may carry tokens. */
    char method[64], path[2048];
    log_escape(req->method.base, req->method.len, method, sizeof method);
    log_escape(req->path_normalized.base, req->path_normalized.len, path, sizeof path);
    cl_log(CL_LOG_INFO, "access", "%s %s %s %d %zu %.1fms", addr, method, path, req->res.status, req->bytes_sent,
           ms);
}

/* ---- loops ---------------------------------------------------------------- */

static void on_accept(h2o_socket_t *listener, const char *err)
{
    if (err)
        return;
    loop_thread *lt = listener->data;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock)
        h2o_accept(&lt->accept_ctx, sock);
}

/* Loop thread: the main thread asked us to stop accepting. */
static void on_ctl(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    loop_thread *lt = H2O_STRUCT_FROM_MEMBER(loop_thread, ctl_receiver, receiver);
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m =
            H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        free(m);
    }
    if (!lt->stopping) {
        lt->stopping = 1;
        if (lt->listener) {
            h2o_socket_read_stop(lt->listener);
            h2o_socket_close(lt->listener);
            lt->listener = NULL;
        }
        h2o_context_request_shutdown(&lt->ctx);
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* h2o keeps a per-thread free list of socket buffers; give it back before
   the thread ends (h2o 2.2 has no public call for this). Each free chunk
   starts with the link to the next. */
static void drain_socket_buffer_recycler(void)
{
    h2o_mem_recycle_t *r = &h2o_socket_buffer_prototype.allocator;
    while (r->_link) {
        void **chunk = (void **)r->_link;
        r->_link = *chunk;
        r->cnt--;
        free(chunk);
    }
}

static void *loop_main(void *arg)
{
    loop_thread *lt = arg;
    uint64_t drained_at = 0, stop_at = 0;
    for (;;) {
        h2o_evloop_run(lt->loop, 50);
        if (!lt->stopping)
            continue;
        uint64_t now = now_ms();
        if (!stop_at)
            stop_at = now + (uint64_t)cl_cfg.shutdown_timeout_ms;
        int busy = atomic_load(&inflight) > 0;
        int conns = !h2o_linklist_is_empty(&lt->ctx.http1._conns) ||
                    !h2o_linklist_is_empty(&lt->ctx.http2._conns);
        if (busy) {
            drained_at = 0;
        } else if (!drained_at) {
            drained_at = now;
        }
        /* Done when nothing is in flight and either every connection closed
           or the last responses had a moment to flush. */
        if (drained_at && (!conns || now - drained_at > DRAIN_FLUSH_MS))
            break;
        if (now > stop_at) {
            cl_warn("http", "shutdown timeout: %d request(s) still in flight", atomic_load(&inflight));
            break;
        }
    }
    return NULL;
}

static void *loop_thread_main(void *arg)
{
    loop_thread *lt = arg;
    lt->loop = h2o_evloop_create();
    h2o_context_init(&lt->ctx, lt->loop, &config);
    lt->accept_ctx.ctx = &lt->ctx;
    lt->accept_ctx.hosts = config.hosts;
    lt->queue = h2o_multithread_create_queue(lt->loop);
    h2o_multithread_register_receiver(lt->queue, &lt->done_receiver, on_task_done);
    h2o_multithread_register_receiver(lt->queue, &lt->ctl_receiver, on_ctl);
    if (cl_cfg.db_loop_connections > 0)
        lt->db = cl_ldb_open(lt->loop, lt->queue, cl_cfg.db_loop_connections);
    h2o_timeout_init(lt->loop, &lt->watch_timeout, WATCH_MS);
    lt->watch_entry.cb = on_watch;
    lt->listener = h2o_evloop_socket_create(lt->loop, lt->fd, H2O_SOCKET_FLAG_DONT_READ);
    lt->listener->data = lt;
    h2o_socket_read_start(lt->listener, on_accept);
    pthread_mutex_lock(&ready.mu);
    ready.count++;
    pthread_cond_broadcast(&ready.cv);
    pthread_mutex_unlock(&ready.mu);

    loop_main(lt);
    cl_ldb_close(lt->db);
    task_recycler_drain();
    read_recycler_drain();
    drain_socket_buffer_recycler();
    return NULL;
}

static int bind_listener(const char *host, int port, int *out_fd, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_PASSIVE}, *res = NULL;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "HOST=%s: %s", host, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    *out_fd = fd;
    return 0;
}

int cl_server_start(char *err, size_t errlen)
{
    snprintf(app_shell_path, sizeof app_shell_path, "%s/app.html", cl_cfg.web_dir);
    struct stat st;
    if (stat(app_shell_path, &st) != 0)
        cl_warn("http", "web shell %s is missing; /app pages will 404", app_shell_path);

    h2o_config_init(&config);
    /* H2O's limit is global: the larger of the two; routes without
       CL_ROUTE_UPLOAD are held to max_body_bytes in on_req. */
    config.max_request_entity_size =
        cl_cfg.max_body_bytes > CL_MAX_UPLOAD_BYTES ? cl_cfg.max_body_bytes : CL_MAX_UPLOAD_BYTES;
    config.server_name = h2o_iovec_init(H2O_STRLIT("cliploop"));
    h2o_hostconf_t *hostconf =
        h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/", 0);
    h2o_handler_t *handler = h2o_create_handler(pathconf, sizeof *handler);
    handler->on_req = on_req;
    static_mimemap = pathconf->mimemap;
    if (cl_assets_init(cl_cfg.web_dir) != 0) {
        snprintf(err, errlen, "out of memory reading %s", cl_cfg.web_dir);
        return -1;
    }
    static const char *index_files[] = {"index.html", NULL};
    h2o_file_register(pathconf, cl_cfg.web_dir, index_files, NULL, 0);
    /* gzip (and brotli where libh2o has it) for compressible types — HTML,
       CSS, JavaScript, JSON — above 1 KiB, when the client accepts it.
       Level 5: most of the saving at a fraction of level 9's CPU. */
    h2o_compress_args_t compress = {.min_size = 1024, .gzip = {.quality = 5}, .brotli = {.quality = -1}};
#ifdef H2O_USE_BROTLI
    compress.brotli.quality = 4;
#endif
    h2o_compress_register(pathconf, &compress);
    h2o_logger_t *logger = h2o_create_logger(pathconf, sizeof *logger);
    logger->log_access = log_access;

    nloops = cl_cfg.http_threads;
    loops = calloc((size_t)nloops, sizeof *loops);
    pool.nthreads = cl_cfg.http_pool_threads;
    pool.threads = calloc((size_t)pool.nthreads, sizeof *pool.threads);
    ppool.nthreads = cl_cfg.llm_threads;
    ppool.threads = calloc((size_t)ppool.nthreads, sizeof *ppool.threads);
    slots.n = ppool.nthreads;
    slots.user = calloc((size_t)slots.n, sizeof *slots.user);
    slots.count = calloc((size_t)slots.n, sizeof *slots.count);
    if (!loops || !pool.threads || !ppool.threads || !slots.user || !slots.count) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    /* One listening socket, bound before any thread starts so a busy port
       fails start-up cleanly (no SO_REUSEPORT: a second server on the same
       port must fail, not share traffic). Each loop accepts on its own dup. */
    int fd0;
    if (bind_listener(cl_cfg.host, cl_cfg.port, &fd0, err, errlen) != 0)
        return -1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd0, (struct sockaddr *)&ss, &sl);
    bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                : ((struct sockaddr_in *)&ss)->sin_port);
    loops[0].fd = fd0;
    for (int i = 1; i < nloops; i++)
        loops[i].fd = fcntl(fd0, F_DUPFD_CLOEXEC, 0);

    for (int i = 0; i < pool.nthreads; i++)
        pthread_create(&pool.threads[i], NULL, pool_main, &pool);
    for (int i = 0; i < ppool.nthreads; i++)
        pthread_create(&ppool.threads[i], NULL, pool_main, &ppool);

    /* Each loop builds its evloop, context, queue and listener on its own
       thread: h2o binds socket buffers and memory pools to the creating
       thread's TLS, so objects made on the main thread and then used by two
       loops would share (and corrupt) the main thread's free lists. Start-up
       waits until every loop is ready to take messages. */
    for (int i = 0; i < nloops; i++) {
        loops[i].index = i;
        pthread_create(&loops[i].tid, NULL, loop_thread_main, &loops[i]);
    }
    pthread_mutex_lock(&ready.mu);
    while (ready.count < nloops)
        pthread_cond_wait(&ready.cv, &ready.mu);
    pthread_mutex_unlock(&ready.mu);
    cl_info("http", "listening on http://%s:%d (%d loop thread(s), %d pool thread(s), %d provider thread(s))",
            cl_cfg.host, bound_port, nloops, pool.nthreads, ppool.nthreads);
    return 0;
}

int cl_server_port(void) { return bound_port; }

void cl_server_stop(void)
{
    if (atomic_exchange(&stop_requested, 1))
        return;
    cl_info("http", "stopping: no new connections; %d request(s) in flight", atomic_load(&inflight));
    for (int i = 0; i < nloops; i++) {
        h2o_multithread_message_t *m = calloc(1, sizeof *m);
        if (m)
            h2o_multithread_send_message(&loops[i].ctl_receiver, m);
    }
    for (int i = 0; i < nloops; i++)
        pthread_join(loops[i].tid, NULL);

    /* The loops have ended: provider calls still running past the shutdown
       deadline are cancelled (nobody reads their answers) so their threads
       can be joined. Tasks stay alive until their loop frees them, which no
       longer happens, so walking the lists is safe. */
    for (int i = 0; i < nloops; i++)
        for (task *t = loops[i].watching; t; t = t->watch_next)
            cl_call_cancel(&t->call);
    work_pool *pools[2] = {&pool, &ppool};
    for (int k = 0; k < 2; k++) {
        pthread_mutex_lock(&pools[k]->mu);
        pools[k]->stop = 1;
        pthread_cond_broadcast(&pools[k]->cv);
        pthread_mutex_unlock(&pools[k]->mu);
    }
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < pools[k]->nthreads; i++)
            pthread_join(pools[k]->threads[i], NULL);
    /* Nothing may run a loop after its thread ended: h2o keeps per-thread
       state (socket-buffer recyclers, memory pools) in that thread's TLS,
       which is gone, and deferred socket closes would write into it. A loop
       only ends once nothing is in flight (or at the shutdown deadline), so
       no finished task is left behind except after that deadline; contexts
       are not disposed either (h2o asserts no connection timer is pending),
       and everything stays reachable from `loops` until exit. */
    cl_assets_free();
    cl_info("http", "stopped");
}
