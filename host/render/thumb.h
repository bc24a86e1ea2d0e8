/*
 * thumb.h — a small thumbnail beside a render's full-size one, for cards and
 * lists (a 1080x1920 JPEG shown at 170 px wide wastes a phone's bandwidth).
 */
#ifndef CL_RENDER_THUMB_H
#define CL_RENDER_THUMB_H

#include <stddef.h>

/** File name of the small thumbnail in a render's output directory. */
#define CL_RENDER_THUMBNAIL_SMALL_NAME "thumbnail-360.jpg"
/** Its width in pixels (the height keeps the picture's aspect, even). */
#define CL_RENDER_THUMBNAIL_SMALL_WIDTH 360

/**
 * Decode the picture at in_path (a JPEG), scale it to width pixels wide (never
 * up) and write it as a JPEG to out_path; *out_w / *out_h (may be NULL) get
 * the size written. 0, or -1 with err filled and no file left behind.
 */
int cl_thumbnail_small(const char *in_path, const char *out_path, int width, int *out_w, int *out_h,
                       char *err, size_t errlen);

#endif
