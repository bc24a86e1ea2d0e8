/*
 * tracking_internal.h — what redirect.c and events.c share; not for other
 * capabilities (they use tracking.h).
 */
#ifndef CL_TRACKING_INTERNAL_H
#define CL_TRACKING_INTERNAL_H

#include <stddef.h>

/** An integer setting from the environment (def when unset); -1 with err naming it. */
int cl_tracking_env_int(const char *name, long def, long min, long max, int *out, char *err, size_t errlen);

/** events.c: read the rate-limit settings. 0 or -1 (err set). */
int cl_tracking_events_configure(char *err, size_t errlen);

/** redirect.c: register GET /r/:slug. */
void cl_tracking_register_redirect_route(void);

#endif
