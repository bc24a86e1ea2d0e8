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

/** File extension for a mime we produce or accept ("jpg", "wav", …; "bin" otherwise). Static. */
const char *cl_media_ext(const char *mime);

#endif
