/*
 * brand.h — a project's brand kit (docs/media.md): a logo (a kept image of
 * the project), up to 3 colours, a heading and a body font, and where the
 * logo goes. Fonts are ids of the bundled set (open-licence fonts installed
 * from Debian packages: DejaVu, Noto, Liberation) or "media:<id>" of a font
 * the owner uploaded (validated with FreeType).
 */
#ifndef CL_MEDIA_BRAND_H
#define CL_MEDIA_BRAND_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#define CL_BRAND_MAX_COLORS 3

/** One bundled font. Every string is static. */
typedef struct cl_brand_font {
    const char *id;      /**< "dejavu-sans-bold" */
    const char *label;   /**< "DejaVu Sans Bold" */
    const char *family;  /**< CSS family for previews: "DejaVu Sans" */
    int bold;            /**< 1 for a bold face */
    int serif;           /**< 1 for a serif face */
    const char *package; /**< the Debian package that installs it */
    const char *path;    /**< absolute path of the file */
} cl_brand_font;

/** The bundled fonts (installed or not), and how many. Static table. */
const cl_brand_font *cl_brand_fonts(size_t *n);
/** The bundled font with this id, or NULL. */
const cl_brand_font *cl_brand_font_find(const char *id);
/** 1 when the font's file is installed (readable). */
int cl_brand_font_installed(const cl_brand_font *f);

/** A project's brand kit with its fonts resolved to files. Caller-owned. */
typedef struct cl_brand_kit {
    int64_t project_id;
    int saved;                    /**< 0: the project has no kit yet (defaults below) */
    int64_t logo_media_id;        /**< 0 when there is no logo */
    char logo_path[1024];         /**< the logo's normalized file in work_dir, "" when none or no work_dir */
    int logo_width, logo_height;  /**< the logo's size, 0 when none */
    int ncolors;
    char colors[CL_BRAND_MAX_COLORS][8]; /**< "#RRGGBB" */
    char heading_font[48];        /**< the font id: bundled id or "media:<id>" */
    char body_font[48];
    char heading_font_path[1024]; /**< absolute path of the font file */
    char body_font_path[1024];
    char logo_placement[16];      /**< "top" | "bottom" | "top-left" | "top-right" | "none" */
} cl_brand_kit;

/**
 * Add the kit's look to the JSON object o (o keeps what it adds): "colors",
 * "heading_font", "body_font", with_paths: "heading_font_path" and
 * "body_font_path", then "logo_placement". The one writer of these fields for
 * the brand-kit route, the template runner's input and `cliploop media brand`.
 */
void cl_brand_kit_add_json(cJSON *o, const cl_brand_kit *k, int with_paths);

/**
 * Load project_id's kit into *out (defaults when it has none: no logo, no
 * colours, dejavu-sans-bold / dejavu-sans, top-right) with its fonts
 * resolved to files. A bundled font resolves to its installed file (a font
 * that is not installed falls back to DejaVu Sans of the same weight); an
 * uploaded font ("media:<id>") and the logo are materialized into work_dir
 * (cl_media_materialize). work_dir may be NULL: then uploaded fonts resolve
 * to the bundled fallback and logo_path stays "". 0, or -1 with err.
 */
int cl_brand_load(PGconn *c, int64_t project_id, const char *work_dir, cl_brand_kit *out, char *err,
                  size_t errlen);

/** Register GET/PUT /api/projects/:id/brand-kit, the colour proposals and GET /api/fonts (serve). */
void cl_brand_register_routes(void);

#endif
