/*
 * brand_routes.c — the brand kit's HTTP routes (docs/media.md). Owner-only:
 * another user's project answers 404.
 *
 *   GET  /api/fonts                          the bundled fonts (installed ones usable)
 *   GET  /api/fonts/:id/file                 a bundled font's file (for previews in the studio)
 *   GET  /api/projects/:id/brand-kit         the kit (defaults when none was saved)
 *   PUT  /api/projects/:id/brand-kit         {logo_media_id, colors, heading_font, body_font, logo_placement};
 *                                            absent fields keep their value
 *   POST /api/projects/:id/brand-kit/colors  {"from":"logo"|"website"[, "logo_media_id"]}: up to 3
 *                                            proposed colours (nothing is saved)
 */
#include "media/brand.h"
#include "core/json_out.h"
#include "media/media.h"
#include "media/media_internal.h"
#include "auth/auth.h"
#include "core/log.h"
#include "db/db.h"
#include "http/http.h"
#include "storage/storage.h"
#include "http/db_reply.h"
#include "projects/projects.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMP "brand"


static cJSON *font_json(const cl_brand_font *f)
{
    static const cl_json_field fields[] = {
        CL_JSON_CSTR(cl_brand_font, id),     CL_JSON_CSTR(cl_brand_font, label),
        CL_JSON_CSTR(cl_brand_font, family), CL_JSON_BOOL(cl_brand_font, bold),
        CL_JSON_BOOL(cl_brand_font, serif),  CL_JSON_CSTR(cl_brand_font, package),
    };
    cJSON *o = cJSON_CreateObject();
    char url[96];
    cl_json_add_fields(o, f, fields, CL_JSON_NFIELDS(fields));
    cJSON_AddBoolToObject(o, "installed", cl_brand_font_installed(f));
    snprintf(url, sizeof url, "/api/fonts/%s/file", f->id);
    cJSON_AddStringToObject(o, "url", url);
    return o;
}

/* GET /api/fonts — public: the same open-licence fonts for everyone. */
static void list_fonts(cl_req *req, cl_res *res)
{
    (void)req;
    size_t n;
    const cl_brand_font *f = cl_brand_fonts(&n);
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "fonts");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, font_json(&f[i]));
    cl_res_header(res, "cache-control", "public, max-age=300");
    cl_res_json(res, 200, o);
}

/* GET /api/fonts/:id/file */
static void font_file(cl_req *req, cl_res *res)
{
    const cl_brand_font *f = cl_brand_font_find(cl_req_param(req, "id"));
    if (!f || !cl_brand_font_installed(f)) {
        cl_res_error(res, 404, "not_found", "No installed font %s", cl_req_param(req, "id"));
        return;
    }
    cl_res_header(res, "cache-control", "public, max-age=86400");
    cl_res_header(res, "access-control-allow-origin", "*");
    if (cl_res_file(res, f->path, "font/ttf") != 0)
        cl_res_error(res, 500, "internal", "out of memory");
}

/* The kit as JSON (with the logo's media and the site colours). NULL on error (500 set). */
static cJSON *kit_json(PGconn *c, int64_t pid, cl_res *res)
{
    cl_brand_kit k;
    char err[256];
    if (cl_brand_load(c, pid, NULL, &k, err, sizeof err) != 0) {
        cl_error(COMP, "load brand kit: %s", err);
        cl_res_error(res, 500, "internal", "Something went wrong on our side");
        return NULL;
    }
    char sp[CL_DB_ID_LEN];
    const char *p[] = {cl_db_id(sp, pid)};
    PGresult *r = cl_res_db_query(res, COMP, c, "read brand kit",
                                  "SELECT array_to_string(site_colors, ','),"
                                  " to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                                  " FROM brand_kits WHERE project_id = $1",
                                  1, p);
    if (!r)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "project_id", (double)pid);
    cJSON_AddBoolToObject(o, "saved", k.saved);
    cl_media_item logo;
    if (k.logo_media_id && cl_media_get(c, pid, k.logo_media_id, &logo, err, sizeof err) == 1) {
        cJSON_AddNumberToObject(o, "logo_media_id", (double)k.logo_media_id);
        cJSON_AddItemToObject(o, "logo", cl_media_item_json(&logo));
    } else {
        cJSON_AddNullToObject(o, "logo_media_id");
        cJSON_AddNullToObject(o, "logo");
    }
    cl_brand_kit_add_json(o, &k, 0);
    cJSON *sc = cJSON_AddArrayToObject(o, "site_colors");
    if (PQntuples(r) == 1) {
        char *list = PQgetvalue(r, 0, 0);
        for (char *t = strtok(list, ","); t; t = strtok(NULL, ","))
            cJSON_AddItemToArray(sc, cJSON_CreateString(t));
        cJSON_AddStringToObject(o, "updated_at", PQgetvalue(r, 0, 1));
    } else {
        cJSON_AddNullToObject(o, "updated_at");
    }
    PQclear(r);
    return o;
}

static void reply_kit(PGconn *c, int64_t pid, cl_res *res, int status)
{
    cJSON *k = kit_json(c, pid, res);
    if (!k)
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "brand_kit", k);
    cl_res_json(res, status, o);
}

/* GET /api/projects/:id/brand-kit */
static void get_kit(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t pid = cl_req_param_id(req, "id");
    if (cl_project_owned(c, res, COMP, pid, u->id) == 1)
        reply_kit(c, pid, res, 200);
}

/* A kept asset of kind in the project? 1 yes, 0 no, -1 error. */
static int kept_of_kind(PGconn *c, int64_t pid, int64_t mid, const char *kind)
{
    cl_media_item m;
    char err[256];
    int f = mid > 0 ? cl_media_get(c, pid, mid, &m, err, sizeof err) : 0;
    if (f <= 0)
        return f;
    return strcmp(m.status, "kept") == 0 && strcmp(m.kind, kind) == 0;
}

/* Validate a font id field; its canonical value into out. 1 ok, 0 invalid (errors set), -1 db error. */
static int check_font(PGconn *c, int64_t pid, const cJSON *v, const char *name, char *out, size_t outlen,
                      cJSON *errors)
{
    if (!cJSON_IsString(v)) {
        cJSON_AddStringToObject(errors, name, "must be a font id");
        return 0;
    }
    const char *s = v->valuestring;
    if (strncmp(s, "media:", 6) == 0) {
        int64_t mid = cl_parse_id(s + 6);
        int ok = kept_of_kind(c, pid, mid, "font");
        if (ok < 0)
            return -1;
        if (!ok) {
            cJSON_AddStringToObject(errors, name, "is not an uploaded font kept in this project");
            return 0;
        }
        snprintf(out, outlen, "media:%" PRId64, mid);
        return 1;
    }
    const cl_brand_font *f = cl_brand_font_find(s);
    if (!f || !cl_brand_font_installed(f)) {
        cJSON_AddStringToObject(errors, name, "is not one of the bundled fonts (GET /api/fonts)");
        return 0;
    }
    snprintf(out, outlen, "%s", f->id);
    return 1;
}

/* PUT /api/projects/:id/brand-kit */
static void put_kit(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t pid = cl_req_param_id(req, "id");
    if (cl_project_owned(c, res, COMP, pid, u->id) != 1)
        return;
    cJSON *body = cl_req_json(req, res);
    if (!body)
        return;
    cl_brand_kit cur;
    char err[256];
    if (cl_brand_load(c, pid, NULL, &cur, err, sizeof err) != 0) {
        cJSON_Delete(body);
        cl_res_db_failed(res, COMP, c, NULL, err);
        return;
    }
    cJSON *errors = cJSON_CreateObject();
    int dberr = 0;
    /* logo */
    char logo[24] = "";
    int has_logo = cur.logo_media_id > 0;
    if (has_logo)
        snprintf(logo, sizeof logo, "%" PRId64, cur.logo_media_id);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "logo_media_id");
    if (v && cJSON_IsNull(v)) {
        has_logo = 0;
    } else if (v) {
        int64_t mid = cl_json_id(v);
        int ok = kept_of_kind(c, pid, mid, "image");
        if (ok < 0)
            dberr = 1;
        else if (!ok)
            cJSON_AddStringToObject(errors, "logo_media_id", "is not an image kept in this project");
        else
            has_logo = 1, snprintf(logo, sizeof logo, "%" PRId64, mid);
    }
    /* colours */
    char colors[64] = "{";
    v = cJSON_GetObjectItemCaseSensitive(body, "colors");
    if (v) {
        int bad = !cJSON_IsArray(v) || cJSON_GetArraySize(v) > CL_BRAND_MAX_COLORS;
        const cJSON *e;
        int i = 0;
        cJSON_ArrayForEach(e, v)
        {
            if (bad)
                break;
            const char *s = cJSON_IsString(e) ? e->valuestring : "";
            bad = strlen(s) != 7 || s[0] != '#';
            for (int k = 1; k < 7 && !bad; k++)
                bad = !isxdigit((unsigned char)s[k]);
            if (!bad) {
                char up[8];
                for (int k = 0; k < 8; k++)
                    up[k] = (char)toupper((unsigned char)s[k]);
                snprintf(colors + strlen(colors), sizeof colors - strlen(colors), "%s%s", i++ ? "," : "", up);
            }
        }
        if (bad)
            cJSON_AddStringToObject(errors, "colors", "must be up to 3 colours written #RRGGBB");
    } else {
        for (int i = 0; i < cur.ncolors; i++)
            snprintf(colors + strlen(colors), sizeof colors - strlen(colors), "%s%s", i ? "," : "", cur.colors[i]);
    }
    snprintf(colors + strlen(colors), sizeof colors - strlen(colors), "}");
    /* fonts */
    char heading[48], bodyf[48];
    snprintf(heading, sizeof heading, "%s", cur.heading_font);
    snprintf(bodyf, sizeof bodyf, "%s", cur.body_font);
    v = cJSON_GetObjectItemCaseSensitive(body, "heading_font");
    if (v && check_font(c, pid, v, "heading_font", heading, sizeof heading, errors) < 0)
        dberr = 1;
    v = cJSON_GetObjectItemCaseSensitive(body, "body_font");
    if (v && check_font(c, pid, v, "body_font", bodyf, sizeof bodyf, errors) < 0)
        dberr = 1;
    /* placement */
    char place[16];
    snprintf(place, sizeof place, "%s", cur.logo_placement);
    v = cJSON_GetObjectItemCaseSensitive(body, "logo_placement");
    if (v) {
        static const char *const ok[] = {"top", "bottom", "top-left", "top-right", "none"};
        int found = 0;
        for (size_t i = 0; cJSON_IsString(v) && i < sizeof ok / sizeof *ok; i++)
            found |= strcmp(v->valuestring, ok[i]) == 0;
        if (found)
            snprintf(place, sizeof place, "%s", v->valuestring);
        else
            cJSON_AddStringToObject(errors, "logo_placement", "must be top, bottom, top-left, top-right or none");
    }
    cJSON_Delete(body);
    if (dberr) {
        cJSON_Delete(errors);
        cl_res_db_failed(res, COMP, c, NULL, "validate brand kit");
    } else if (cJSON_GetArraySize(errors) > 0) {
        cl_res_invalid(res, errors);
    } else {
        cJSON_Delete(errors);
        char sp[CL_DB_ID_LEN];
        const char *p[] = {cl_db_id(sp, pid), has_logo ? logo : NULL, colors, heading, bodyf, place};
        if (cl_db_exec(c,
                       "INSERT INTO brand_kits (project_id, logo_media_id, colors, heading_font, body_font,"
                       " logo_placement) VALUES ($1, $2, $3::text[], $4, $5, $6)"
                       " ON CONFLICT (project_id) DO UPDATE SET logo_media_id = EXCLUDED.logo_media_id,"
                       " colors = EXCLUDED.colors, heading_font = EXCLUDED.heading_font,"
                       " body_font = EXCLUDED.body_font, logo_placement = EXCLUDED.logo_placement, updated_at = now()",
                       6, p, err, sizeof err) != 0) {
            cl_res_db_failed(res, COMP, c, NULL, "save brand kit");
        } else {
            reply_kit(c, pid, res, 200);
        }
    }
}

/* POST /api/projects/:id/brand-kit/colors */
static void propose_colors(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    int64_t pid = cl_req_param_id(req, "id");
    cJSON *body = cl_project_owned(c, res, COMP, pid, u->id) == 1 ? cl_req_json(req, res) : NULL;
    if (!body)
        return;
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(body, "from");
    const char *src = cJSON_IsString(from) ? from->valuestring : "";
    cJSON *out = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(out, "colors");
    cJSON_AddStringToObject(out, "from", src);
    char err[512];
    cl_brand_kit k;
    if (strcmp(src, "logo") != 0 && strcmp(src, "website") != 0) {
        cl_res_error(res, 422, "invalid_source", "from must be \"logo\" or \"website\"");
    } else if (cl_brand_load(c, pid, NULL, &k, err, sizeof err) != 0) {
        cl_res_db_failed(res, COMP, c, NULL, err);
    } else if (strcmp(src, "website") == 0) {
        char sp[CL_DB_ID_LEN];
        const char *p[] = {cl_db_id(sp, pid)};
        PGresult *r = cl_res_db_query(
            res, COMP, c, "read site colours",
            "SELECT s FROM brand_kits, unnest(site_colors) s WHERE project_id = $1 LIMIT 3", 1, p);
        if (!r) {
            /* replied */
        } else if (PQntuples(r) == 0) {
            cl_res_error(res, 409, "no_website_colors",
                         "No colours were found on the website; ingest the website first or pick colours by hand");
        } else {
            for (int i = 0; i < PQntuples(r); i++)
                cJSON_AddItemToArray(arr, cJSON_CreateString(PQgetvalue(r, i, 0)));
            cl_res_json(res, 200, out);
            out = NULL;
        }
        PQclear(r);
    } else {
        const cJSON *lm = cJSON_GetObjectItemCaseSensitive(body, "logo_media_id");
        int64_t mid = lm ? cl_json_id(lm) : k.logo_media_id;
        cl_media_item m;
        char dir[1100], file[1200] = "";
        int found = mid > 0 ? cl_media_get(c, pid, mid, &m, err, sizeof err) : 0;
        if (found < 0) {
            cl_res_db_failed(res, COMP, c, NULL, err);
        } else if (found == 0 || strcmp(m.kind, "image") != 0) {
            cl_res_error(res, 409, "no_logo", "Choose a logo image first");
        } else if (cl_storage_temp("media", "colors-", 1, dir, sizeof dir) != 0) {
            cl_res_error(res, 500, "internal", "No room for a temporary file");
        } else {
            if (cl_media_materialize(&m, dir, file, sizeof file, err, sizeof err) != 0) {
                cl_error(COMP, "%s", err);
                cl_res_error(res, 500, "storage_failed", "The logo could not be read; try again");
            } else {
                char cols[3][8];
                int n = cl_media_dominant_colors(file, cols);
                for (int i = 0; i < n; i++)
                    cJSON_AddItemToArray(arr, cJSON_CreateString(cols[i]));
                if (n <= 0) {
                    cl_res_error(res, 422, "no_colors", "No colours could be taken from this logo");
                } else {
                    cl_res_json(res, 200, out);
                    out = NULL;
                }
            }
            if (file[0])
                unlink(file);
            rmdir(dir);
        }
    }
    cJSON_Delete(out);
    cJSON_Delete(body);
}

static const cl_user_route signed_in_routes[] = {
    {"GET", "/api/projects/:id/brand-kit", get_kit, CL_AUTH_PRODUCT, 0},
    {"PUT", "/api/projects/:id/brand-kit", put_kit, CL_AUTH_PRODUCT, 0},
    {"POST", "/api/projects/:id/brand-kit/colors", propose_colors, CL_AUTH_PRODUCT, 0},
};

void cl_brand_register_routes(void)
{
    cl_route("GET", "/api/fonts", list_fonts, 0);
    cl_route("GET", "/api/fonts/:id/file", font_file, 0);
    CL_ROUTE_USER_TABLE(signed_in_routes);
}
