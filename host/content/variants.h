/*
 * variants.h — aspect variants of a render (docs/composition.md, "Aspect
 * variants"): besides the channel's own frame, a render job can make the
 * 9:16 (1080x1920), 1:1 (1080x1080), 4:5 (1080x1350) and 16:9 (1920x1080)
 * videos the channel's rules list (`variants = {"1:1", "4:5"}`), each laid
 * out by the item's template for its size, with the primary's soundtrack and
 * captions, stored as assets of kinds video_<w>x<h> and thumbnail_<w>x<h>
 * (e.g. video_1x1) of the same render.
 */
#ifndef CL_CONTENT_VARIANTS_H
#define CL_CONTENT_VARIANTS_H

#include "content/item_composition.h"
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
 * build each (ci with its size; the primary composition's "audio" and
 * "captions" copied in), render it into <out_dir>/v-<suffix>, store video and
 * thumbnail under <rel>/<suffix>/. Returns 0 with *out filled (n = 0 when the
 * rules list none), or -1 with err and *code (a cl_status; what was stored is
 * listed in *out for cl_variants_unstore).
 */
int cl_variants_render(const cl_item_comp_input *ci, PGconn *c, const char *primary_comp, int primary_w, int primary_h,
                       const char *rel, const char *out_dir, cl_call *call, cl_variant_set *out, int *code, char *err,
                       size_t errlen);

/** Insert the asset rows of *set (inside the caller's transaction). 0 or -1 with err. */
int cl_variants_record(PGconn *c, int64_t item_id, int seq, const char *renderer, const cl_variant_set *set,
                       char *err, size_t errlen);

/** Remove what *set stored (after a failure). */
void cl_variants_unstore(const cl_variant_set *set);

#endif
