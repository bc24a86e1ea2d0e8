/*
 * fake_proc.h — one of the node fakes in tests/fakes/ as a child process of a C unit test:
 * `node <script> <port file>`, the port read back once the fake has written
 * it (up to 10 s). The child gets SIGTERM if the test process dies first.
 */
#ifndef CL_TEST_FAKE_PROC_H
#define CL_TEST_FAKE_PROC_H

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/**
 * Start tests/fakes/<name> (under CLIPLOOP_SOURCE_DIR) with its port file
 * <dir>/port, whose path is written to port_file (len bytes). Its pid (*port
 * set), or -1 with a message on stderr (nothing left running).
 */
static inline pid_t fake_proc_start(const char *name, const char *dir, char *port_file, size_t len, int *port)
{
    const char *src = getenv("CLIPLOOP_SOURCE_DIR");
    if (!src) {
        fprintf(stderr, "CLIPLOOP_SOURCE_DIR is not set (run through ctest)\n");
        return -1;
    }
    char script[PATH_MAX];
    snprintf(script, sizeof script, "%s/tests/fakes/%s", src, name);
    snprintf(port_file, len, "%s/port", dir);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a crashed test */
        if (getppid() != parent)
            _exit(1);
        execlp("node", "node", script, port_file, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            int ok = fscanf(f, "%d", port) == 1;
            fclose(f);
            if (ok && *port > 0)
                return pid;
        }
        usleep(50 * 1000);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    fprintf(stderr, "the fake %s did not start\n", name);
    return -1;
}

/** Stop a fake started by fake_proc_start (SIGTERM, reaped); *pid becomes -1. */
static inline void fake_proc_stop(pid_t *pid)
{
    if (*pid > 0) {
        kill(*pid, SIGTERM);
        waitpid(*pid, NULL, 0);
    }
    *pid = -1;
}

/** A fake in a temporary directory of its own, for a test that keeps it running throughout. */
typedef struct {
    pid_t pid;
    int port;
    char dir[64];
    char port_file[128];
} fake_tmp;

/** fake_proc_start of tests/fakes/<name> in a new temporary directory. 0 or -1. */
static inline int fake_tmp_start(fake_tmp *f, const char *name)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/cl_fake_XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->pid = fake_proc_start(name, f->dir, f->port_file, sizeof f->port_file, &f->port);
    return f->pid > 0 ? 0 : -1;
}

/** Stop it and remove its directory. */
static inline void fake_tmp_stop(fake_tmp *f)
{
    fake_proc_stop(&f->pid);
    unlink(f->port_file);
    rmdir(f->dir);
}

#endif
