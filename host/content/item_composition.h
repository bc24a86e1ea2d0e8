/*
 * item_composition.h — the composition a content item renders: its
 * template (the draft's choice, restricted by the channel's rules), run on
 * the draft, the project's brand kit and kept images and the channel's
 * frame (host/render/templates.h).
 */
#ifndef CL_CONTENT_ITEM_COMPOSITION_H
#define CL_CONTENT_ITEM_COMPOSITION_H

#include "core/buf.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/** What to build. Borrowed strings. */
typedef struct cl_item_comp_input {
    int64_t project_id;
    const char *draft_json, *profile_json, *channel, *rules_json;
    const char *audio_json; /**< content_items.audio (decides the caption band); NULL = defaults */
    const char *work_dir; /**< where the project's images are materialized; NULL: build
                               without images (their ids are still listed, for timing) */
    int width, height;    /**< 0: the channel's size */
} cl_item_comp_input;

/**
 * Choose the template and build the composition into *out (caller frees
 * with cl_buf_free); the template's name goes into tpl (may be NULL).
 * c is an idle connection (read only). Returns 0, or -1 with err.
 */
int cl_item_composition(PGconn *c, const cl_item_comp_input *in, cl_buf *out, char *tpl, size_t tpllen,
                        char *err, size_t errlen);

#endif
