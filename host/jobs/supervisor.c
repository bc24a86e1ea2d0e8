/*
 * supervisor.c — runs CLIPLOOP_WORKERS children of `<this executable> worker`
 * and restarts any that dies.
 *
 * One monitor thread does everything that touches the children: it spawns
 * them (so PR_SET_PDEATHSIG, which follows the thread that forked, ties the
 * children to a thread that lives until cl_supervisor_stop: if serve itself
 * is killed the workers get SIGTERM), reaps them with waitpid(pid, WNOHANG)
 * — only our own pids, never anybody else's children — and restarts the
 * dead after a back-off: 1 s, doubling up to 30 s while a child keeps dying
 * within 10 s of its start, back to 1 s after a child that ran longer.
 *
 * Every start is logged as "worker started pid=N" (tests look for it), every
 * exit with its status or signal.
 */
#include "jobs/supervisor.h"
#include "core/config.h"
#include "core/log.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOG "supervisor"
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define HEALTHY_AFTER_MS 10000
#define TICK_MS 50

extern char **environ;

typedef struct child {
    pid_t pid;          /* 0 when not running */
    int64_t started_ms; /* monotonic */
    int64_t restart_at; /* monotonic; when to start it again */
    int backoff_ms;
} child;

static struct {
    pthread_mutex_t mu;
    pthread_t monitor;
    int running;  /* the monitor thread exists */
    int stopping; /* no more (re)starts */
    int done;     /* stopping and every child reaped */
    pthread_cond_t done_cv;
    child *children;
    int n;
    char exe[PATH_MAX];
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .done_cv = PTHREAD_COND_INITIALIZER};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * fork + exec `exe worker`. Between fork and exec the child only makes
 * async-signal-safe calls: it unblocks every signal (serve may block some in
 * its threads, and the mask survives exec), asks for SIGTERM when the
 * monitor thread goes away, and execs with the inherited environment.
 */
static pid_t spawn_worker(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(0);
        char *argv[] = {S.exe, "worker", NULL};
        execve(S.exe, argv, environ);
        _exit(127);
    }
    return pid;
}

static void start_child(child *c)
{
    pid_t pid = spawn_worker();
    if (pid < 0) {
        cl_error(LOG, "cannot start a worker: %s", strerror(errno));
        c->restart_at = mono_ms() + c->backoff_ms;
        return;
    }
    c->pid = pid;
    c->started_ms = mono_ms();
    cl_info(LOG, "worker started pid=%d", (int)pid);
}

static void describe_exit(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "stopped (status 0x%x)", status);
}

static void *monitor_main(void *arg)
{
    pthread_mutex_lock(&S.mu);
    for (int i = 0; i < S.n; i++)
        start_child(&S.children[i]);
    for (;;) {
        int alive = 0;
        int64_t now = mono_ms();
        for (int i = 0; i < S.n; i++) {
            child *c = &S.children[i];
            if (c->pid > 0) {
                int status;
                pid_t r = waitpid(c->pid, &status, WNOHANG);
                if (r == 0 || (r < 0 && errno == EINTR)) {
                    alive++;
                    continue;
                }
                char how[96];
                if (r < 0)
                    snprintf(how, sizeof how, "cannot be waited for (%s)", strerror(errno));
                else
                    describe_exit(status, how, sizeof how);
                int64_t lived = now - c->started_ms;
                c->pid = 0;
                if (S.stopping) {
                    cl_info(LOG, "worker pid=%d %s", (int)r, how);
                    continue;
                }
                if (lived >= HEALTHY_AFTER_MS)
                    c->backoff_ms = BACKOFF_MIN_MS;
                c->restart_at = now + c->backoff_ms;
                c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
                cl_warn(LOG, "worker pid=%d %s after %lld ms; restarting in %lld ms", (int)r, how,
                        (long long)lived, (long long)(c->restart_at - now));
            } else if (!S.stopping && now >= c->restart_at) {
                start_child(c);
                alive += c->pid > 0;
            }
        }
        if (S.stopping && alive == 0)
            break;
        pthread_mutex_unlock(&S.mu);
        struct timespec ts = {0, TICK_MS * 1000000L};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&S.mu);
    }
    S.done = 1;
    pthread_cond_broadcast(&S.done_cv);
    pthread_mutex_unlock(&S.mu);
    return NULL;
}

int cl_supervisor_start(void)
{
    if (cl_cfg.workers <= 0)
        return 0;
    pthread_mutex_lock(&S.mu);
    if (S.running) {
        pthread_mutex_unlock(&S.mu);
        return 0;
    }
    ssize_t len = readlink("/proc/self/exe", S.exe, sizeof S.exe - 1);
    if (len <= 0) {
        pthread_mutex_unlock(&S.mu);
        cl_error(LOG, "cannot find this executable: %s", strerror(errno));
        return -1;
    }
    S.exe[len] = '\0';
    S.children = calloc((size_t)cl_cfg.workers, sizeof *S.children);
    if (!S.children) {
        pthread_mutex_unlock(&S.mu);
        cl_error(LOG, "out of memory");
        return -1;
    }
    S.n = cl_cfg.workers;
    for (int i = 0; i < S.n; i++)
        S.children[i].backoff_ms = BACKOFF_MIN_MS;
    S.stopping = S.done = 0;
    if (pthread_create(&S.monitor, NULL, monitor_main, NULL) != 0) {
        free(S.children);
        S.children = NULL;
        S.n = 0;
        pthread_mutex_unlock(&S.mu);
        cl_error(LOG, "cannot start the monitor thread");
        return -1;
    }
    S.running = 1;
    pthread_mutex_unlock(&S.mu);
    return 0;
}

static void signal_all(int sig)
{
    for (int i = 0; i < S.n; i++)
        if (S.children[i].pid > 0)
            kill(S.children[i].pid, sig);
}

void cl_supervisor_stop(void)
{
    pthread_mutex_lock(&S.mu);
    if (!S.running) {
        pthread_mutex_unlock(&S.mu);
        return;
    }
    /* Signals are sent under the lock, so the monitor cannot reap a pid
       (and the kernel reuse it) between our check and kill(). */
    S.stopping = 1;
    signal_all(SIGTERM);
    /* Workers take CLIPLOOP_SHUTDOWN_TIMEOUT_MS to let jobs finish; wait a
       little longer than that (at least 10 s) before SIGKILL. */
    int64_t wait_ms = cl_cfg.shutdown_timeout_ms + 2000;
    if (wait_ms < 10000)
        wait_ms = 10000;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += wait_ms / 1000;
    dl.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    while (!S.done && pthread_cond_timedwait(&S.done_cv, &S.mu, &dl) != ETIMEDOUT) {
    }
    if (!S.done) {
        cl_warn(LOG, "workers did not stop within %lld ms; sending SIGKILL", (long long)wait_ms);
        signal_all(SIGKILL);
    }
    pthread_mutex_unlock(&S.mu);
    pthread_join(S.monitor, NULL);
    pthread_mutex_lock(&S.mu);
    free(S.children);
    S.children = NULL;
    S.n = 0;
    S.running = 0;
    pthread_mutex_unlock(&S.mu);
}
