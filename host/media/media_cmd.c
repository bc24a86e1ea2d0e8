/*
 * media_cmd.c — `cliploop media`: what the render path sees of a project's
 * media (media.h, brand.h), for operators and tests.
 *
 *   cliploop media list PROJECT [image|audio|font]  the kept assets (default images and audio), JSON
 *   cliploop media get PROJECT MEDIA_ID WORK_DIR     materialize one kept asset's normalized file
 *                                                    into WORK_DIR; prints its path
 *   cliploop media brand PROJECT [WORK_DIR]          the brand kit with fonts (and the logo) resolved
 *                                                    to files, JSON
 *
 * Exit: 0 ok, 1 failure (database, storage), 2 usage or configuration, 3 not found.
 */
#include "commands.h"
#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "media/brand.h"
#include "media/media.h"
#include "media/media_internal.h"
#include "net/http_client.h"
#include "plugins/registry.h"
#include "storage/storage.h"
#include "core/json_out.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "media"

static int usage(void)
{
    fprintf(stderr, "usage: cliploop media list PROJECT [image|audio|font]\n"
                    "       cliploop media get PROJECT MEDIA_ID WORK_DIR\n"
                    "       cliploop media brand PROJECT [WORK_DIR]\n"
                    "See docs/media.md.\n");
    return 2;
}

int cl_cmd_media(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    const char *op = argv[1];
    int64_t pid = cl_parse_id(argv[2]);
    if (!pid)
        return usage();
    if (!cl_cfg.database_url[0]) {
        cl_error(COMP, "DATABASE_URL is not set");
        return 2;
    }
    if (cl_http_global_init() != 0 || cl_plugins_load_dir(cl_cfg.plugin_dir) < 0) {
        cl_error(COMP, "cannot load plugins from %s (CLIPLOOP_PLUGIN_DIR)", cl_cfg.plugin_dir);
        return 2;
    }
    char err[600];
    PGconn *c = cl_db_connect(cl_cfg.database_url, err, sizeof err);
    if (!c) {
        cl_error(COMP, "cannot connect to the database: %s", err);
        return 1;
    }
    int rc = 0;
    if (strcmp(op, "list") == 0 && argc <= 4) {
        cl_media_item *items = NULL;
        size_t n = 0;
        if (cl_media_list_kept(c, pid, argc == 4 ? argv[3] : NULL, &items, &n, err, sizeof err) != 0) {
            cl_error(COMP, "%s", err);
            rc = 1;
        } else {
            cJSON *a = cJSON_CreateArray();
            for (size_t i = 0; i < n; i++)
                cJSON_AddItemToArray(a, cl_media_item_json(&items[i]));
            rc = cl_json_print(a);
        }
        free(items);
    } else if (strcmp(op, "get") == 0 && argc == 5) {
        char path[1200];
        int found = cl_media_materialize_id(c, pid, cl_parse_id(argv[3]), argv[4], path, sizeof path, NULL, err,
                                            sizeof err);
        if (found < 0) {
            cl_error(COMP, "%s", err);
            rc = 1;
        } else if (found == 0) {
            cl_error(COMP, "no kept media %s in project %s", argv[3], argv[2]);
            rc = 3;
        } else {
            printf("%s\n", path);
        }
    } else if (strcmp(op, "brand") == 0 && argc <= 4) {
        cl_brand_kit k;
        if (cl_brand_load(c, pid, argc == 4 ? argv[3] : NULL, &k, err, sizeof err) != 0) {
            cl_error(COMP, "%s", err);
            rc = 1;
        } else {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddBoolToObject(o, "saved", k.saved);
            cJSON_AddNumberToObject(o, "logo_media_id", (double)k.logo_media_id);
            cJSON_AddStringToObject(o, "logo_path", k.logo_path);
            cl_brand_kit_add_json(o, &k, 1);
            rc = cl_json_print(o);
        }
    } else {
        rc = usage();
    }
    PQfinish(c);
    return rc;
}
