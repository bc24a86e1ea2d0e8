/*
 * storage.h — the host's side of the storage capability (sdk/cliploop_plugin.h,
 * "Storage"): where rendered videos, thumbnails and uploads live.
 *
 * STORAGE (default "local") selects one loaded storage capability; serve,
 * worker and the storage command refuse to start when it is not loaded or
 * not configured, never falling back to another backend. Every stored file
 * is recorded with the backend that holds it (content_assets.storage), its
 * key (content_assets.path — the same relative key in every backend), its
 * size and its SHA-256, and is read back through that backend.
 *
 * All functions are blocking (they may do network I/O): call them from
 * worker threads or the HTTP pool, never from an event loop. Every output
 * buffer is caller-owned; nothing here allocates what the caller must free.
 */
#ifndef CL_STORAGE_STORAGE_H
#define CL_STORAGE_STORAGE_H

#include "cliploop_plugin.h"
#include "http/http.h"

#include <stddef.h>
#include <stdint.h>

/** The configured backend's id (cl_cfg.storage: "local", "s3", …). Static. */
const char *cl_storage_id(void);

/** The loaded storage capability with this id (NULL: the configured one), or NULL. */
const cl_storage *cl_storage_find(const char *id);

/* Start-up check: cl_plugins_check_selection refuses a STORAGE that names no
   loaded storage capability or one that is not configured. */

/**
 * The size and SHA-256 (lower-case hex) of a local file. 0, or -1 with err.
 */
int cl_storage_file_digest(const char *path, int64_t *bytes, char sha256_hex[65], char *err, size_t errlen);

/**
 * Store the local file path under key in the configured backend, after
 * measuring its size and SHA-256 (*bytes, sha256_hex; either may be NULL).
 * backend_id (may be NULL, else at least 64 bytes) receives the id of the
 * backend that now holds it. 0, or -1 with err (cl_status in *code when
 * code is not NULL: retryable are CL_ETIMEOUT, CL_EUPSTREAM, CL_EIO).
 */
int cl_storage_put(const char *key, const char *path, const char *mime, int64_t *bytes, char sha256_hex[65],
                   char *backend_id, int *code, char *err, size_t errlen);

/**
 * A local file with the object's bytes, for code that needs a path (ZIP
 * bundles, publishers): the backend's own file when it has local paths
 * (*is_temp = 0; do not modify it), else a download into a new private file
 * under <CLIPLOOP_STORAGE_DIR>/tmp/storage/ (*is_temp = 1: the caller
 * unlinks it). 0, or -1 with err (a missing object says so).
 */
int cl_storage_local_copy(const char *backend, const char *key, char *path, size_t pathlen, int *is_temp,
                          char *err, size_t errlen);

/**
 * A new private temporary file (dir = 0) or directory (dir = 1):
 * <CLIPLOOP_STORAGE_DIR>/tmp/<area>/<prefix>XXXXXX, folders created on
 * demand; the name goes to path. 0, or -1 with errno set.
 */
int cl_storage_temp(const char *area, const char *prefix, int dir, char *path, size_t len);

/** Remove key from backend (missing is fine). 0, or -1 with err. */
int cl_storage_remove(const char *backend, const char *key, char *err, size_t errlen);

/**
 * Reply with the object, the same way for every backend as seen by a
 * client: a backend with local paths is streamed by the host (Range, ETag);
 * any other answers 302 to a presigned GET URL valid for
 * STORAGE_URL_TTL_SECONDS, which serves Range itself. download_name, when
 * set, makes it an attachment with that file name. Sets a JSON error reply
 * when the backend is not loaded (503) or cannot sign (500).
 */
void cl_storage_reply(cl_res *res, const char *backend, const char *key, const char *mime,
                      const char *download_name);

/**
 * A URL anyone can GET for ttl_seconds when the backend has presigned URLs:
 * 1 with url filled; 0 when it has none (local: use the host's own signed
 * route); -1 with err.
 */
int cl_storage_public_url(const char *backend, const char *key, int ttl_seconds, const char *mime, char *url,
                          size_t urllen, char *err, size_t errlen);

#endif
