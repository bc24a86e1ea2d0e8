/*
 * variants.c — see variants.h.
 */
#include "content/variants.h"
#include "core/log.h"
#include "db/db.h"
#include "render/render.h"
#include "storage/storage.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *aspect, *suffix;
    int w, h;
} aspects[] = {
    {"9:16", "9x16", 1080, 1920},
    {"1:1", "1x1", 1080, 1080},
    {"4:5", "4x5", 1080, 1350},
    {"16:9", "16x9", 1920, 1080},
};

/* The primary composition's soundtrack and captions into the variant's. */
static int copy_sound(const char *primary, cl_buf *variant)
{
    cJSON *p = cJSON_Parse(primary), *v = cJSON_Parse(variant->data);
    int rc = -1;
    if (p && v) {
        static const char *const keys[] = {"audio", "captions"};
        for (int i = 0; i < 2; i++) {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(p, keys[i]);
            if (x) {
                cJSON_DeleteItemFromObjectCaseSensitive(v, keys[i]);
                cJSON_AddItemToObject(v, keys[i], cJSON_Duplicate(x, 1));
            }
        }
        char *text = cJSON_PrintUnformatted(v);
        if (text) {
            variant->len = 0;
            rc = cl_buf_puts(variant, text);
            free(text);
        }
    }
    cJSON_Delete(p);
    cJSON_Delete(v);
    return rc;
}

int cl_variants_build(const cl_item_comp_input *ci, PGconn *c, const char *primary_comp, int primary_w, int primary_h,
                      cl_variant_set *out, cl_buf *comps, int *code, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    *code = CL_OK;
    cJSON *rules = ci->rules_json ? cJSON_Parse(ci->rules_json) : NULL;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(rules, "variants"), *a;
    int rc = 0;
    cJSON_ArrayForEach(a, list)
    {
        if (rc || out->n == CL_MAX_VARIANTS || !cJSON_IsString(a))
            continue;
        size_t k = 0;
        while (k < sizeof aspects / sizeof *aspects && strcmp(aspects[k].aspect, a->valuestring) != 0)
            k++;
        if (k == sizeof aspects / sizeof *aspects || (aspects[k].w == primary_w && aspects[k].h == primary_h))
            continue; /* unknown, or the primary itself */
        int dup = 0;
        for (int i = 0; i < out->n; i++)
            dup |= !strcmp(out->v[i].suffix, aspects[k].suffix);
        if (dup)
            continue;
        cl_item_comp_input vi = *ci;
        vi.width = aspects[k].w;
        vi.height = aspects[k].h;
        cl_buf *comp = &comps[out->n];
        comp->len = 0;
        if (cl_item_composition(c, &vi, comp, NULL, 0, err, errlen) != 0 || copy_sound(primary_comp, comp) != 0) {
            if (!err[0])
                snprintf(err, errlen, "the %s variant could not be laid out", aspects[k].aspect);
            *code = CL_EINVAL;
            rc = -1;
            continue;
        }
        snprintf(out->v[out->n].suffix, sizeof out->v[out->n].suffix, "%s", aspects[k].suffix);
        out->n++;
    }
    cJSON_Delete(rules);
    return rc;
}

int cl_variants_store(cl_variant_set *set, int i, const char *rel, const char *video_path, const char *thumbnail_path,
                      int *code, char *err, size_t errlen)
{
    struct cl_variant_out *v = &set->v[i];
    char key[400];
    snprintf(key, sizeof key, "%s/%s/%s", rel, v->suffix, CL_RENDER_VIDEO_NAME);
    if (cl_storage_put(key, video_path, "video/mp4", &v->vbytes, v->vsha, v->backend, code, err, errlen) != 0)
        return -1;
    snprintf(v->vkey, sizeof v->vkey, "%s", key);
    snprintf(key, sizeof key, "%s/%s/%s", rel, v->suffix, CL_RENDER_THUMBNAIL_NAME);
    if (cl_storage_put(key, thumbnail_path, "image/jpeg", &v->tbytes, v->tsha, v->backend, code, err, errlen) != 0)
        return -1;
    snprintf(v->tkey, sizeof v->tkey, "%s", key);
    return 0;
}

int cl_variants_record(PGconn *c, int64_t item_id, int seq, const char *renderer, const cl_variant_set *set,
                       char *err, size_t errlen)
{
    char id[24], sq[16];
    snprintf(id, sizeof id, "%" PRId64, item_id);
    snprintf(sq, sizeof sq, "%d", seq);
    for (int i = 0; i < set->n; i++) {
        const struct cl_variant_out *v = &set->v[i];
        char vk[24], tk[24], vb[24], tb[24];
        snprintf(vk, sizeof vk, "video_%s", v->suffix);
        snprintf(tk, sizeof tk, "thumbnail_%s", v->suffix);
        snprintf(vb, sizeof vb, "%" PRId64, v->vbytes);
        snprintf(tb, sizeof tb, "%" PRId64, v->tbytes);
        const char *a[] = {id, vk, v->vkey, vb, renderer, sq, v->backend, v->vsha, tk, v->tkey, tb, v->tsha};
        if (cl_db_exec(c,
                       "INSERT INTO content_assets (content_item_id, kind, path, mime, bytes, renderer, render_seq,"
                       "                            storage, sha256)"
                       " VALUES ($1, $2, $3, 'video/mp4', $4, $5, $6, $7, $8),"
                       "        ($1, $9, $10, 'image/jpeg', $11, $5, $6, $7, $12)"
                       " ON CONFLICT (content_item_id, render_seq, kind) DO UPDATE"
                       "   SET path = EXCLUDED.path, bytes = EXCLUDED.bytes, renderer = EXCLUDED.renderer,"
                       "       storage = EXCLUDED.storage, sha256 = EXCLUDED.sha256",
                       12, a, err, errlen) != 0)
            return -1;
    }
    return 0;
}

void cl_variants_unstore(const cl_variant_set *set)
{
    char serr[512];
    for (int i = 0; i < set->n; i++) {
        const char *keys[] = {set->v[i].vkey, set->v[i].tkey};
        for (int k = 0; k < 2; k++)
            if (keys[k][0] && cl_storage_remove(NULL, keys[k], serr, sizeof serr) != 0)
                cl_warn("render-job", "%s", serr);
    }
}
