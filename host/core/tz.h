/*
 * tz.h — IANA time zone names, checked against the system zone database
 * (CLIPLOOP_ZONEINFO_DIR, default /usr/share/zoneinfo). Used by the project
 * profile (projects.timezone) and the weekly loop.
 */
#ifndef CL_CORE_TZ_H
#define CL_CORE_TZ_H

/**
 * 1 when name is a zone of the system database: a relative path of
 * [A-Za-z0-9_+-] segments (no "..", at most 64 bytes) naming a TZif file.
 * Thread-safe; reads the file's first 4 bytes.
 */
int cl_tz_valid(const char *name);

#endif
