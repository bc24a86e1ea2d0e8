/*
 * brand.c — the bundled fonts and loading a project's brand kit with its
 * fonts resolved to files (brand.h).
 */
#include "media/brand.h"
#include "media/media.h"
#include "db/db.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEJAVU "/usr/share/fonts/truetype/dejavu/"
#define NOTO "/usr/share/fonts/truetype/noto/"
#define LIBERATION "/usr/share/fonts/truetype/liberation2/"

static const cl_brand_font fonts[] = {
    {"dejavu-sans", "DejaVu Sans", "DejaVu Sans", 0, 0, "fonts-dejavu-core", DEJAVU "DejaVuSans.ttf"},
    {"dejavu-sans-bold", "DejaVu Sans Bold", "DejaVu Sans", 1, 0, "fonts-dejavu-core", DEJAVU "DejaVuSans-Bold.ttf"},
    {"dejavu-serif", "DejaVu Serif", "DejaVu Serif", 0, 1, "fonts-dejavu-core", DEJAVU "DejaVuSerif.ttf"},
    {"dejavu-serif-bold", "DejaVu Serif Bold", "DejaVu Serif", 1, 1, "fonts-dejavu-core",
     DEJAVU "DejaVuSerif-Bold.ttf"},
    {"noto-sans", "Noto Sans", "Noto Sans", 0, 0, "fonts-noto-core", NOTO "NotoSans-Regular.ttf"},
    {"noto-sans-bold", "Noto Sans Bold", "Noto Sans", 1, 0, "fonts-noto-core", NOTO "NotoSans-Bold.ttf"},
    {"noto-sans-display-bold", "Noto Sans Display Bold", "Noto Sans Display", 1, 0, "fonts-noto-core",
     NOTO "NotoSansDisplay-Bold.ttf"},
    {"noto-serif", "Noto Serif", "Noto Serif", 0, 1, "fonts-noto-core", NOTO "NotoSerif-Regular.ttf"},
    {"noto-serif-bold", "Noto Serif Bold", "Noto Serif", 1, 1, "fonts-noto-core", NOTO "NotoSerif-Bold.ttf"},
    {"liberation-sans", "Liberation Sans", "Liberation Sans", 0, 0, "fonts-liberation2",
     LIBERATION "LiberationSans-Regular.ttf"},
    {"liberation-sans-bold", "Liberation Sans Bold", "Liberation Sans", 1, 0, "fonts-liberation2",
     LIBERATION "LiberationSans-Bold.ttf"},
    {"liberation-serif", "Liberation Serif", "Liberation Serif", 0, 1, "fonts-liberation2",
     LIBERATION "LiberationSerif-Regular.ttf"},
    {"liberation-serif-bold", "Liberation Serif Bold", "Liberation Serif", 1, 1, "fonts-liberation2",
     LIBERATION "LiberationSerif-Bold.ttf"},
};

const cl_brand_font *cl_brand_fonts(size_t *n)
{
    *n = sizeof fonts / sizeof *fonts;
    return fonts;
}

const cl_brand_font *cl_brand_font_find(const char *id)
{
    for (size_t i = 0; id && i < sizeof fonts / sizeof *fonts; i++)
        if (strcmp(fonts[i].id, id) == 0)
            return &fonts[i];
    return NULL;
}

int cl_brand_font_installed(const cl_brand_font *f)
{
    return f && access(f->path, R_OK) == 0;
}

/* The file of a bundled font id; DejaVu Sans (bold when bold) when the id is
   unknown or not installed. */
static const char *bundled_path(const char *id, int bold)
{
    const cl_brand_font *f = cl_brand_font_find(id);
    if (f && cl_brand_font_installed(f))
        return f->path;
    return bold ? DEJAVU "DejaVuSans-Bold.ttf" : DEJAVU "DejaVuSans.ttf";
}

/* Resolve one font id into path (see cl_brand_load). 0 or -1 with err. */
static int resolve_font(PGconn *c, int64_t project_id, const char *id, int bold, const char *work_dir, char *path,
                        size_t pathlen, char *err, size_t errlen)
{
    if (strncmp(id, "media:", 6) == 0) {
        int64_t mid = strtoll(id + 6, NULL, 10);
        if (work_dir && mid > 0) {
            cl_media_item m;
            int found = cl_media_materialize_id(c, project_id, mid, work_dir, path, pathlen, &m, err, errlen);
            if (found < 0)
                return -1;
            if (found == 1 && strcmp(m.kind, "font") == 0)
                return 0;
        }
    }
    snprintf(path, pathlen, "%s", bundled_path(id, bold));
    return 0;
}

int cl_brand_load(PGconn *c, int64_t project_id, const char *work_dir, cl_brand_kit *out, char *err,
                  size_t errlen)
{
    static const cl_db_stmt st = {
        "brand_load",
        "SELECT COALESCE(b.logo_media_id, 0), array_to_string(b.colors, ','), b.heading_font, b.body_font,"
        " b.logo_placement, COALESCE(m.width, 0), COALESCE(m.height, 0)"
        " FROM brand_kits b LEFT JOIN media_assets m ON m.id = b.logo_media_id AND m.status = 'kept'"
        " WHERE b.project_id = $1",
        1};
    memset(out, 0, sizeof *out);
    out->project_id = project_id;
    snprintf(out->heading_font, sizeof out->heading_font, "dejavu-sans-bold");
    snprintf(out->body_font, sizeof out->body_font, "dejavu-sans");
    snprintf(out->logo_placement, sizeof out->logo_placement, "top-right");
    char pid[24];
    snprintf(pid, sizeof pid, "%" PRId64, project_id);
    const char *p[] = {pid};
    PGresult *r = cl_db_prepared(c, &st, p);
    if (!cl_db_ok(r)) {
        cl_db_errmsg(c, r, err, errlen);
        PQclear(r);
        return -1;
    }
    if (PQntuples(r) == 1) {
        out->saved = 1;
        out->logo_media_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        const char *cs = PQgetvalue(r, 0, 1);
        while (*cs && out->ncolors < CL_BRAND_MAX_COLORS) {
            snprintf(out->colors[out->ncolors++], 8, "%.7s", cs);
            cs = strchr(cs, ',');
            if (!cs)
                break;
            cs++;
        }
        snprintf(out->heading_font, sizeof out->heading_font, "%s", PQgetvalue(r, 0, 2));
        snprintf(out->body_font, sizeof out->body_font, "%s", PQgetvalue(r, 0, 3));
        snprintf(out->logo_placement, sizeof out->logo_placement, "%s", PQgetvalue(r, 0, 4));
        out->logo_width = atoi(PQgetvalue(r, 0, 5));
        out->logo_height = atoi(PQgetvalue(r, 0, 6));
        if (out->logo_width == 0) /* the logo was discarded or deleted meanwhile */
            out->logo_media_id = 0;
    }
    PQclear(r);
    if (resolve_font(c, project_id, out->heading_font, 1, work_dir, out->heading_font_path,
                     sizeof out->heading_font_path, err, errlen) != 0 ||
        resolve_font(c, project_id, out->body_font, 0, work_dir, out->body_font_path, sizeof out->body_font_path,
                     err, errlen) != 0)
        return -1;
    if (out->logo_media_id && work_dir) {
        int found = cl_media_materialize_id(c, project_id, out->logo_media_id, work_dir, out->logo_path,
                                            sizeof out->logo_path, NULL, err, errlen);
        if (found < 0)
            return -1;
        if (found == 0) {
            out->logo_media_id = 0;
            out->logo_path[0] = '\0';
        }
    }
    return 0;
}

void cl_brand_kit_add_json(cJSON *o, const cl_brand_kit *k, int with_paths)
{
    cJSON *cs = cJSON_AddArrayToObject(o, "colors");
    for (int i = 0; i < k->ncolors; i++)
        cJSON_AddItemToArray(cs, cJSON_CreateString(k->colors[i]));
    cJSON_AddStringToObject(o, "heading_font", k->heading_font);
    cJSON_AddStringToObject(o, "body_font", k->body_font);
    if (with_paths) {
        cJSON_AddStringToObject(o, "heading_font_path", k->heading_font_path);
        cJSON_AddStringToObject(o, "body_font_path", k->body_font_path);
    }
    cJSON_AddStringToObject(o, "logo_placement", k->logo_placement);
}
