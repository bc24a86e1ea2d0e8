/*
 * fake_proc.h — one of the node fakes in tests/fakes/ as a child process of a C unit test:
 * `node <script> <port file>`, the port read back once the fake has written
 * it (up to 10 s). The child gets SIGTERM if the test process dies first.
 */
#ifndef CL_TEST_FAKE_PROC_H
#define CL_TEST_FAKE_PROC_H

#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/** Start the fake; its pid (*port set), or -1 when it did not come up (nothing left running). */
static inline pid_t fake_proc_start(const char *script, const char *port_file, int *port)
{
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

#endif
