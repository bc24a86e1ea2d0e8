/*
 * supervisor.h — `cliploop serve` runs CLIPLOOP_WORKERS child processes of
 * `cliploop worker` and restarts any that dies, so a crashing renderer never
 * takes the HTTP host down.
 */
#ifndef CL_JOBS_SUPERVISOR_H
#define CL_JOBS_SUPERVISOR_H

/** Start the children and a monitor thread. 0 or -1. */
int cl_supervisor_start(void);
/** SIGTERM the children, wait for them (bounded), stop the monitor. */
void cl_supervisor_stop(void);

#endif
