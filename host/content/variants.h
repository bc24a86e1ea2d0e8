/*
 * variants.h — aspect variants of a render (docs/composition.md, "Aspect
 * variants"): besides the channel's own frame, a render job can make the
 * 9:16 (1080x1920), 1:1 (1080x1080), 4:5 (1080x1350) and 16:9 (1920x1080)
 * videos the channel's rules list (`variants = {"1:1", "4:5"}`), each laid
 * out by the item's template for its size, with the primary's soundtrack and
 * captions, rendered together with the primary (cl_render_compositions: one
 * renderer call when the renderer can make several videos), stored as assets of kinds video_<w>x<h> and thumbnail_<w>x<h>
 * (e.g. video_1x1) of the same render.
 */
#ifndef CL_CONTENT_VARIANTS_H
#define CL_CONTENT_VARIANTS_H

#include "content/item_composition.h"
#include "core/buf.h"
#include "plugins/call.h"

#include <libpq-fe.h>
#include <stdint.h>

#define CL_MAX_VARIANTS 4

/** What one render job's variants produced. Plain data, caller-owned. */
typedef struct cl_variant_set {
    int n;
    struct cl_variant_out {
        char suffix[8];                /**< "1x1", "4x5", "16x9", "9x16" */
        char vkey[400], tkey[400];     /**< storage keys, "" when not stored */
        int64_t vbytes, tbytes;
        char vsha[65], tsha[65];
        char backend[64];
    } v[CL_MAX_VARIANTS];
} cl_variant_set;

/**
 * The rules' variants other than the primary frame (primary_w x primary_h):
 * each one's composition (ci laid out at its size by the item's template, the
 * primary composition's "audio" and "captions" copied in) into comps[i]
 * (CL_MAX_VARIANTS caller-owned buffers, initialized with CL_BUF_INIT; the
 * caller frees them), and out->v[i].suffix. Returns 0 with out->n set (0 when
 * the rules list none), or -1 with err and *code (a cl_status).
 */
int cl_variants_build(const cl_item_comp_input *ci, PGconn *c, const char *primary_comp, int primary_w, int primary_h,
                      cl_variant_set *out, cl_buf *comps, int *code, char *err, size_t errlen);

/**
 * Store variant i's rendered video and thumbnail under <rel>/<suffix>/ and
 * note the keys in set->v[i] (for cl_variants_record, or cl_variants_unstore
 * after a failure). 0, or -1 with err and *code.
 */
int cl_variants_store(cl_variant_set *set, int i, const char *rel, const char *video_path, const char *thumbnail_path,
                      int *code, char *err, size_t errlen);

/** Insert the asset rows of *set (inside the caller's transaction). 0 or -1 with err. */
int cl_variants_record(PGconn *c, int64_t item_id, int seq, const char *renderer, const cl_variant_set *set,
                       char *err, size_t errlen);

/** Remove what *set stored (after a failure). */
void cl_variants_unstore(const cl_variant_set *set);

#endif
