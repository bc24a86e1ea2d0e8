/*
 * call.h — the host's side of the SDK's opaque cl_call: one capability
 * invocation. The invoker owns it (usually on its stack) and keeps it alive
 * until the capability returns. cancelled may be set from any thread.
 */
#ifndef CL_PLUGINS_CALL_H
#define CL_PLUGINS_CALL_H

#include "cliploop_plugin.h"
#include <stdatomic.h>

struct cl_call {
    atomic_int cancelled;
    /** Called on the invoking thread by api->progress; may be NULL. */
    void (*on_progress)(void *arg, int64_t done, int64_t total);
    void *progress_arg;
};

/** Initialize a call with an optional progress sink. */
static inline void cl_call_init(cl_call *call, void (*on_progress)(void *, int64_t, int64_t),
                                void *arg)
{
    atomic_init(&call->cancelled, 0);
    call->on_progress = on_progress;
    call->progress_arg = arg;
}

/** Ask the capability to stop at its next check. Thread-safe. */
static inline void cl_call_cancel(cl_call *call) { atomic_store(&call->cancelled, 1); }

/**
 * The call of the request this thread is serving, or NULL: the HTTP
 * provider pool sets it around a provider route's handler (cancelled when
 * the client goes away), so code that builds a provider call without a
 * cl_call of its own (cl_llm_json with call NULL) is still cancellable.
 * Not owned; valid while the handler runs. (host_api.c)
 */
cl_call *cl_call_current(void);
void cl_call_set_current(cl_call *call);

/*
 * The one way the host calls a capability callback:
 *
 *     rc = CL_CAP_CALL(p, &err, complete, call, &req, &out, &usage, &err);
 *
 * calls p->complete(p->base.self, call, &req, ...) for a capability found in
 * the registry (cl_plugins_find), and around it:
 *   - resets *err to CL_ERROR_INIT (size set, code 0, empty message);
 *   - holds the capability's own lock when it has CL_CAP_SERIALIZED, so the
 *     header's promise ("never called concurrently") is kept in one place;
 *   - makes the error travel one way: afterwards err->code == rc, and a
 *     failure without a message gets one naming the capability and the code.
 * err may be NULL for callbacks that have none.
 */
void cl_cap_enter(const cl_capability *cap, cl_error *err);
int cl_cap_leave(const cl_capability *cap, cl_error *err, int rc);

#define CL_CAP_CALL(capp, err, method, ...)                                                        \
    cl_cap_leave(&(capp)->base, (err),                                                             \
                 (cl_cap_enter(&(capp)->base, (err)), (capp)->method((capp)->base.self, __VA_ARGS__)))

#endif
