/* version.h — the product version, reported by /api/version and the User-Agent. */
#ifndef CL_CORE_VERSION_H
#define CL_CORE_VERSION_H
#define CLIPLOOP_VERSION "0.1.0"
#endif
