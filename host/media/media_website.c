/*
 * media_website.c — images and colours from a website ingestion (media.h,
 * cl_media_collect_website).
 */
#include "media/media.h"
#include "media/media_internal.h"
#include "core/log.h"
#include "db/db.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "media"
#define MAX_NEW 12     /* images added per run */
#define MAX_FETCHES 24 /* images fetched per run */

static int valid_color(const char *s)
{
    if (strlen(s) != 7 || s[0] != '#')
        return 0;
    for (int i = 1; i < 7; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

int cl_media_collect_website(PGconn *c, int64_t project_id, const cJSON *pages, int *added, char *err,
                             size_t errlen)
{
    *added = 0;
    char pid[24];
    snprintf(pid, sizeof pid, "%" PRId64, project_id);
    const char *p[] = {pid};
    PGresult *r = cl_db_query(c, "SELECT owner_id FROM projects WHERE id = $1", 1, p);
    if (!cl_db_ok(r) || PQntuples(r) != 1) {
        cl_db_errmsg(c, r, err, errlen);
        PQclear(r);
        return cl_db_ok(r) ? 0 : -1; /* the project is gone: nothing to do */
    }
    int64_t owner = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);

    /* colours: first page first, each once, at most 8 */
    char colors[8][8];
    int ncolors = 0;
    const cJSON *pg;
    cJSON_ArrayForEach(pg, pages)
    {
        const cJSON *co, *cs = cJSON_GetObjectItemCaseSensitive(pg, "colors");
        cJSON_ArrayForEach(co, cs)
        {
            if (!cJSON_IsString(co) || !valid_color(co->valuestring) || ncolors == 8)
                continue;
            char up[8];
            for (int i = 0; i < 8; i++)
                up[i] = (char)toupper((unsigned char)co->valuestring[i]);
            int seen = 0;
            for (int k = 0; k < ncolors && !seen; k++)
                seen = strcmp(colors[k], up) == 0;
            if (!seen)
                memcpy(colors[ncolors++], up, 8);
        }
    }
    if (ncolors > 0) {
        char arr[80] = "{";
        for (int k = 0; k < ncolors; k++)
            snprintf(arr + strlen(arr), sizeof arr - strlen(arr), "%s%s", k ? "," : "", colors[k]);
        snprintf(arr + strlen(arr), sizeof arr - strlen(arr), "}");
        const char *cp[] = {pid, arr};
        if (cl_db_exec(c,
                       "INSERT INTO brand_kits (project_id, site_colors) VALUES ($1, $2::text[])"
                       " ON CONFLICT (project_id) DO UPDATE SET site_colors = EXCLUDED.site_colors, updated_at = now()",
                       2, cp, err, errlen) != 0)
            return -1;
    }

    /* images: each URL once, og:image of a page before its <img> */
    int fetches = 0;
    cJSON *seen = cJSON_CreateArray();
    cJSON_ArrayForEach(pg, pages)
    {
        const cJSON *im, *ims = cJSON_GetObjectItemCaseSensitive(pg, "images");
        cJSON_ArrayForEach(im, ims)
        {
            if (!cJSON_IsString(im) || *added >= MAX_NEW || fetches >= MAX_FETCHES)
                continue;
            const char *url = im->valuestring;
            if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
                continue;
            int dupurl = 0;
            const cJSON *s;
            cJSON_ArrayForEach(s, seen) dupurl |= strcmp(s->valuestring, url) == 0;
            if (dupurl)
                continue;
            cJSON_AddItemToArray(seen, cJSON_CreateString(url));
            fetches++;
            cl_media_item m;
            int dup = 0;
            char code[48], msg[512];
            int st = cl_media_add_url(c, owner, project_id, url, &m, &dup, code, sizeof code, msg, sizeof msg);
            if (st == 0 && !dup)
                (*added)++;
            else if (st != 0)
                cl_info(COMP, "project %s: website image %s skipped: %s (%s)", pid, url, msg, code);
        }
    }
    cJSON_Delete(seen);
    return 0;
}
