/*
 * item_composition.c — see item_composition.h.
 */
#include "content/item_composition.h"
#include "media/brand.h"
#include "media/media.h"
#include "render/templates.h"

/* At most this many kept images are materialized for one render (a template uses up to 5). */
#define CL_ITEM_MAX_IMAGES 8

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The project's brand kit and kept images as the template runner takes
   them: {"colors", "heading_font(_path)", "body_font(_path)", "logo_media_id",
   "logo_placement"} and [{"id", "path", "width", "height"}]. With a work
   directory every kept image (and the logo) is materialized into it; without
   one no images are listed (the words and their times do not depend on them). */
static int project_media(PGconn *c, const cl_item_comp_input *in, char **brand_json, char **media_json, char *err,
                         size_t errlen)
{
    *brand_json = *media_json = NULL;
    cl_brand_kit kit;
    if (cl_brand_load(c, in->project_id, in->work_dir, &kit, err, errlen) != 0)
        return -1;
    cJSON *b = cJSON_CreateObject(), *media = cJSON_CreateArray();
    cl_brand_kit_add_json(b, &kit, 1);
    int rc = 0;
    if (in->work_dir) {
        if (kit.logo_media_id && kit.logo_path[0] && strcmp(kit.logo_placement, "none") != 0) {
            cJSON_AddNumberToObject(b, "logo_media_id", (double)kit.logo_media_id);
            cJSON *one = cJSON_CreateObject();
            cJSON_AddNumberToObject(one, "id", (double)kit.logo_media_id);
            cJSON_AddStringToObject(one, "path", kit.logo_path);
            cJSON_AddNumberToObject(one, "width", kit.logo_width);
            cJSON_AddNumberToObject(one, "height", kit.logo_height);
            cJSON_AddItemToArray(media, one);
        }
        cl_media_item *items = NULL;
        size_t n = 0;
        rc = cl_media_list_kept(c, in->project_id, "image", &items, &n, err, errlen);
        for (size_t i = 0; rc == 0 && i < n && i < CL_ITEM_MAX_IMAGES; i++) {
            if (items[i].id == kit.logo_media_id)
                continue;
            char path[1200];
            if ((rc = cl_media_materialize(&items[i], in->work_dir, path, sizeof path, err, errlen)) != 0)
                break;
            cJSON *one = cJSON_CreateObject();
            cJSON_AddNumberToObject(one, "id", (double)items[i].id);
            cJSON_AddStringToObject(one, "path", path);
            cJSON_AddNumberToObject(one, "width", items[i].width);
            cJSON_AddNumberToObject(one, "height", items[i].height);
            cJSON_AddItemToArray(media, one);
        }
        free(items);
    }
    if (rc == 0) {
        *brand_json = cJSON_PrintUnformatted(b);
        *media_json = cJSON_PrintUnformatted(media);
        if (!*brand_json || !*media_json) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
    }
    cJSON_Delete(b);
    cJSON_Delete(media);
    return rc;
}

int cl_item_composition(PGconn *c, const cl_item_comp_input *in, cl_buf *out, char *tpl, size_t tpllen,
                        char *err, size_t errlen)
{
    char *brand = NULL, *media = NULL;
    if (project_media(c, in, &brand, &media, err, errlen) != 0) {
        free(brand);
        free(media);
        return -1;
    }
    cJSON *m = cJSON_Parse(media);
    int has_images = cJSON_GetArraySize(m) > (strstr(brand, "logo_media_id") ? 1 : 0);
    cJSON_Delete(m);
    char name[64];
    cl_template_choose(in->draft_json, in->rules_json, has_images, name, sizeof name);
    cl_template_input ti = {.draft_json = in->draft_json,
                            .profile_json = in->profile_json,
                            .channel = in->channel,
                            .rules_json = in->rules_json,
                            .brand_json = brand,
                            .media_json = media,
                            .audio_json = in->audio_json,
                            .width = in->width,
                            .height = in->height};
    int rc = cl_template_build(name, &ti, out, err, errlen);
    if (rc == 0 && tpl)
        snprintf(tpl, tpllen, "%s", name);
    free(brand);
    free(media);
    return rc;
}
