/*
 * media.h — the media library of a project (docs/media.md): images, audio
 * and fonts uploaded by the owner or collected from the website at
 * ingestion, each stored twice through the storage capability (the
 * original, and the normalized copy renders use: images oriented by EXIF,
 * long side <= 2160, JPEG or PNG with alpha; audio 48 kHz stereo; fonts as
 * uploaded).
 *
 * For the render path: cl_media_list_kept lists what the owner kept,
 * cl_media_materialize puts one asset's normalized file into a work
 * directory (a local copy for storage_local, a download for storage_s3),
 * so a renderer only ever reads files under its request's work directory.
 *
 * Blocking (database and storage I/O): call from worker threads or the HTTP
 * pool. Ownership is spelled out per function.
 */
#ifndef CL_MEDIA_MEDIA_H
#define CL_MEDIA_MEDIA_H

#include "http/http.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#define CL_MEDIA_MAX_BYTES ((int)CL_MAX_UPLOAD_BYTES) /**< one uploaded file, bytes (20 MiB) */
#define CL_MEDIA_MAX_PIXELS (40000000LL)       /**< width x height an image may claim (decompression bombs) */
#define CL_MEDIA_MAX_SIDE 16384                /**< either side of an image, pixels */
#define CL_MEDIA_NORMALIZED_SIDE 2160          /**< the normalized copy's long side at most */
#define CL_MEDIA_AUDIO_RATE 48000              /**< the normalized audio's sample rate (stereo) */
#define CL_MEDIA_MAX_AUDIO_MS (15 * 60 * 1000) /**< the longest audio accepted */

/** One media asset (a media_assets row) as the render path sees it. */
typedef struct cl_media_item {
    int64_t id;
    int64_t project_id;
    char kind[8];              /**< "image" | "audio" | "font" */
    char origin[8];            /**< "upload" | "website" */
    char status[12];           /**< "kept" | "suggested" | "discarded" */
    char filename[256];        /**< as uploaded (or derived from the URL) */
    char mime[48];             /**< the original's type, from decoding */
    char normalized_mime[48];  /**< "image/jpeg", "image/png", "audio/wav", "font/ttf", "font/otf" */
    int64_t bytes;             /**< the original's size */
    char sha256[65];           /**< the original's SHA-256, lower-case hex */
    int width, height;         /**< images: the normalized copy's size (orientation applied); else 0 */
    int duration_ms;           /**< audio: duration; else 0 */
    char storage[64];          /**< the backend that holds both files */
    char storage_key[512];     /**< the original */
    char normalized_key[512];  /**< the normalized copy */
    char created_at[32];       /**< ISO 8601 UTC */
} cl_media_item;

/**
 * The kept assets of a project for rendering: kind "image", "audio" or
 * "font", or NULL for images and audio; oldest first (the order the owner
 * added them). *out is a malloc'd array of *n items (NULL when none): the
 * caller frees it with free(). 0, or -1 with err.
 */
int cl_media_list_kept(PGconn *c, int64_t project_id, const char *kind, cl_media_item **out, size_t *n,
                       char *err, size_t errlen);

/**
 * One asset of a project, any status, into *out (caller-owned). 1 found, 0
 * no such asset in this project, -1 error (err set).
 */
int cl_media_get(PGconn *c, int64_t project_id, int64_t media_id, cl_media_item *out, char *err,
                 size_t errlen);

/**
 * Put m's normalized file into work_dir (an existing directory the caller
 * owns and removes) as "<work_dir>/media-<id>.<ext>" and write that
 * absolute path to path. Works for every storage backend (local: a copy;
 * s3: a download). Calling it twice for the same asset and directory reuses
 * the file. 0, or -1 with err (a missing object says so).
 */
int cl_media_materialize(const cl_media_item *m, const char *work_dir, char *path, size_t pathlen, char *err,
                         size_t errlen);

/**
 * cl_media_get + cl_media_materialize in one call, for a composition's
 * {"media": id}: only an asset of this project that is kept (a suggested or
 * discarded one is "not found"). *item may be NULL. 1 done, 0 not found (no
 * file written), -1 error (err set).
 */
int cl_media_materialize_id(PGconn *c, int64_t project_id, int64_t media_id, const char *work_dir,
                            char *path, size_t pathlen, cl_media_item *item, char *err, size_t errlen);

/**
 * After a website ingestion: fetch the images the crawler found (pages: the
 * ingester's page array; each page's "images", og:image first) through the
 * host's HTTP client and its address guard, keep those whose decoded long
 * side is at least 600 px as origin 'website', status 'suggested' (one per
 * SHA-256 in the project; at most 12 new ones a run), and store the pages'
 * "colors" as the brand kit's site colours. *added receives how many images
 * were added. 0, or -1 with err (a database error; a failed image is
 * skipped and logged).
 */
struct cJSON;
int cl_media_collect_website(PGconn *c, int64_t project_id, const struct cJSON *pages, int *added, char *err,
                             size_t errlen);

/** The stored files of a project's media (opaque; cl_media_project_files). */
typedef struct cl_media_files cl_media_files;

/**
 * Before a project is deleted (its media rows go with it, ON DELETE
 * CASCADE): the storage keys of all its media. NULL when it has none or on a
 * database error (logged). Caller frees with cl_media_files_free.
 */
cl_media_files *cl_media_project_files(PGconn *c, int64_t project_id);
/** After the delete committed: remove every file (failures logged). NULL is fine. */
void cl_media_files_remove(const cl_media_files *f);
/** Free what cl_media_project_files returned. NULL is fine. */
void cl_media_files_free(cl_media_files *f);

/** Register the /api/projects/:id/media routes and GET /api/media/:id/file (serve). */
void cl_media_register_routes(void);

#endif
