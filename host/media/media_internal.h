/*
 * media_internal.h — shared between the media files (not for other areas):
 * the row columns, decoding and normalizing files, storing a new asset.
 */
#ifndef CL_MEDIA_INTERNAL_H
#define CL_MEDIA_INTERNAL_H

#include "media/media.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/** The columns cl_media_from_row reads, in order ("m" is media_assets). */
#define CL_MEDIA_COLUMNS                                                                                       \
    "m.id, m.project_id, m.kind, m.origin, m.status, m.filename, m.mime, m.normalized_mime, m.bytes, m.sha256," \
    " COALESCE(m.width, 0), COALESCE(m.height, 0), COALESCE(m.duration_ms, 0), m.storage, m.storage_key,"    \
    " m.normalized_key, to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/** Fill *m from row of a result selected with CL_MEDIA_COLUMNS. */
void cl_media_from_row(const PGresult *r, int row, cl_media_item *m);

/** The JSON of an asset as the routes answer it (caller deletes). */
#include <cjson/cJSON.h>
cJSON *cl_media_item_json(const cl_media_item *m);

struct cl_user;
struct cl_res;

/** File extension for a mime we produce or accept ("jpg", "wav", …; "bin" otherwise). Static. */
const char *cl_media_ext(const char *mime);

#endif

/** What decoding a file found (cl_media_process). */
typedef struct cl_media_probe {
    char kind[8];             /**< "image" | "audio" | "font" */
    char mime[48];            /**< the original's type, from decoding */
    char normalized_mime[48]; /**< the normalized copy's type */
    int width, height;        /**< images: the normalized copy's size */
    int src_width, src_height; /**< images: the size the file declares (before orientation) */
    int orientation;          /**< images: the EXIF orientation applied (1..8; 1 = none) */
    int duration_ms;          /**< audio */
} cl_media_probe;

/**
 * Decode the file at path (at most CL_MEDIA_MAX_BYTES) with the FFmpeg
 * libraries (images, audio) or FreeType (fonts), never trusting its name,
 * and write the normalized copy to norm_path. allow_mask: bits of
 * CL_MEDIA_ALLOW_*. Returns 0, or the HTTP status to answer with code and
 * msg filled (413 too large, 415 not a type we read, 422 refused: a
 * decompression bomb, broken, too long). Nothing is left at norm_path on
 * failure.
 */
#define CL_MEDIA_ALLOW_IMAGE 1
#define CL_MEDIA_ALLOW_AUDIO 2
#define CL_MEDIA_ALLOW_FONT 4
int cl_media_process(const char *path, int allow_mask, const char *norm_path, cl_media_probe *out, char *code,
                     size_t codelen, char *msg, size_t msglen);

/**
 * Up to 3 dominant colours ("#RRGGBB") of the image at path (a normalized
 * JPEG or PNG): decoded, scaled to 64x64, transparent and near-white pixels
 * skipped, quantized to 4096 bins; the most-used bins, each at least a
 * visible distance from the ones before. Returns how many (0..3), -1 when
 * the image cannot be decoded.
 */
int cl_media_dominant_colors(const char *path, char colors[3][8]);

struct cl_plan_limits;

/** A new asset for cl_media_add. */
typedef struct cl_media_new {
    int64_t user_id, project_id;
    const char *origin;     /**< "upload" | "website" */
    const char *status;     /**< "kept" | "suggested" */
    const char *filename;   /**< shown to the owner */
    const char *source_url; /**< website images: where it came from; else NULL */
    int allow_mask;         /**< CL_MEDIA_ALLOW_* */
    int min_long_side;      /**< images: refuse a smaller long side (website images: 600); 0 none */
    const struct cl_plan_limits *quota; /**< checked when status is "kept"; NULL none */
    const char *plan_label; /**< for the quota message ("Free") */
    int pooled;             /**< the connection is from the pool: give it back while decoding and storing */
} cl_media_new;

/**
 * Decode, normalize and store the file at path (the caller keeps and
 * removes it) as a new asset of the project, or find the same file (same
 * SHA-256) already there. With n->pooled, *cp goes back to the pool while
 * the file is decoded and stored (seconds for a large image) and a pooled
 * connection is taken again for the insert: *cp may differ on return, or be
 * NULL when none could be had (503); the caller releases *cp. Returns 0 stored (*out filled, *dup = 0), 0 with
 * *dup = 1 when the project already had it (*out is that row; an upload of
 * a suggested or discarded file keeps it), or an HTTP status >= 400 with
 * code and msg (413/415/422 from decoding, 409 media_quota_reached, 500).
 * Nothing is left in storage or the database on failure.
 */
int cl_media_add(PGconn **cp, const cl_media_new *n, const char *path, cl_media_item *out, int *dup, char *code,
                 size_t codelen, char *msg, size_t msglen);

/**
 * Inside an open transaction: lock the user's media quota and check that
 * add_bytes more (one more file) fit. 0 fits, 409 with code/msg when not, 500
 * on a database error.
 */
int cl_media_quota_check(PGconn *c, int64_t user_id, const struct cl_plan_limits *l, const char *plan_label,
                         int64_t add_bytes, char *code, size_t codelen, char *msg, size_t msglen);

/** Fetch url through the host's HTTP client (address guard) and add it as a website image. Same returns. */
int cl_media_add_url(PGconn *c, int64_t user_id, int64_t project_id, const char *url, cl_media_item *out,
                     int *dup, char *code, size_t codelen, char *msg, size_t msglen);
