/*
 * item_composition.c — see item_composition.h.
 */
#include "content/item_composition.h"
#include "render/templates.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The project's brand kit and kept images as the template runner takes
   them. Until the media library is in place both are empty: templates draw
   their no-image design with the profile's colours. */
static int project_media(PGconn *c, const cl_item_comp_input *in, char **brand_json, char **media_json, char *err,
                         size_t errlen)
{
    (void)c, (void)in, (void)err, (void)errlen;
    *brand_json = NULL;
    *media_json = strdup("[]");
    return *media_json ? 0 : -1;
}

int cl_item_composition(PGconn *c, const cl_item_comp_input *in, cl_buf *out, char *tpl, size_t tpllen,
                        char *err, size_t errlen)
{
    char *brand = NULL, *media = NULL;
    if (project_media(c, in, &brand, &media, err, errlen) != 0)
        return -1;
    cJSON *m = cJSON_Parse(media);
    int has_images = cJSON_GetArraySize(m) > 0;
    cJSON_Delete(m);
    char name[64];
    cl_template_choose(in->draft_json, in->rules_json, has_images, name, sizeof name);
    cl_template_input ti = {.draft_json = in->draft_json,
                            .profile_json = in->profile_json,
                            .channel = in->channel,
                            .rules_json = in->rules_json,
                            .brand_json = brand,
                            .media_json = media,
                            .width = in->width,
                            .height = in->height};
    int rc = cl_template_build(name, &ti, out, err, errlen);
    if (rc == 0 && tpl)
        snprintf(tpl, tpllen, "%s", name);
    free(brand);
    free(media);
    return rc;
}
