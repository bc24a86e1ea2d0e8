/*
 * log.h — the host's one logger: "2026-11-25T07:54:22.123Z INFO  [component] message"
 * on stderr. Thread-safe (one write(2) per line). Levels are the SDK's
 * CL_LOG_* values so plugin log calls map straight through.
 */
#ifndef CL_CORE_LOG_H
#define CL_CORE_LOG_H

#include "cliploop_plugin.h"
#include <stdarg.h>

/** Set the minimum level printed ("debug", "info", "warn", "error"). Returns 0, or -1 if unknown. */
int cl_log_set_level_name(const char *name);
/** Current minimum level. */
int cl_log_level(void);
/** Log one line for `component` (may be NULL). */
void cl_log(int level, const char *component, const char *fmt, ...) CL_PRINTF(3, 4);
void cl_logv(int level, const char *component, const char *fmt, va_list ap);

#define cl_info(comp, ...) cl_log(CL_LOG_INFO, comp, __VA_ARGS__)
#define cl_warn(comp, ...) cl_log(CL_LOG_WARN, comp, __VA_ARGS__)
#define cl_error(comp, ...) cl_log(CL_LOG_ERROR, comp, __VA_ARGS__)
#define cl_debug(comp, ...)                                                                        \
    do {                                                                                           \
        if (cl_log_level() <= CL_LOG_DEBUG)                                                        \
            cl_log(CL_LOG_DEBUG, comp, __VA_ARGS__);                                               \
    } while (0)

#endif
