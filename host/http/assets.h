/*
 * assets.h — fingerprinted names for the studio's static files (no build
 * step): at start-up the host hashes every file under <web>/assets, reads
 * the ES modules' static imports and the shell's route table, and rewrites
 * the HTML pages it serves so that they reference
 * /assets/<dir>/<name>.<hash>.<ext> (cached for a year, immutable), map the
 * modules' plain names to the fingerprinted ones with an import map, and
 * preload (modulepreload) every module the page's first screen imports.
 *
 * Everything is built once by cl_assets_init before the server threads start
 * and read-only afterwards (no locks). Edits to web/ take effect on restart.
 */
#ifndef CL_HTTP_ASSETS_H
#define CL_HTTP_ASSETS_H

#include <stddef.h>

#define CL_ASSET_HASH_LEN 10 /**< hex digits of SHA-256 in a fingerprinted name */

typedef struct cl_asset {
    char *rel;    /**< "js/app.js" (under assets/) */
    char *hashed; /**< "js/app.0123456789.js" */
    char *file;   /**< absolute path on disk */
} cl_asset;

/**
 * Hash <web_dir>/assets, read the modules' imports and app.js's routes, and
 * pre-render app.html (per route) and the *.html pages of web_dir. 0, or -1
 * (out of memory; a missing directory is not an error). Call once.
 */
int cl_assets_init(const char *web_dir);

/** Free what cl_assets_init built. */
void cl_assets_free(void);

/**
 * The asset for a request path "/assets/…" (len bytes, not NUL-terminated):
 * a fingerprinted name (*hashed = 1) or a plain one (*hashed = 0). NULL when
 * neither. The pointer stays valid until cl_assets_free.
 */
const cl_asset *cl_assets_find(const char *path, size_t len, int *hashed);

/**
 * The pre-rendered studio shell for a client route path (/app/…,
 * /dashboard/…), or the pre-rendered page for "/<name>.html" in web_dir;
 * NULL when there is none (the file is then served as it is). *len is set.
 */
const char *cl_assets_shell(const char *path, size_t len, size_t *out_len);
const char *cl_assets_page(const char *path, size_t len, size_t *out_len);

/**
 * Rewrite html: every "/assets/<rel>" reference to its fingerprinted name,
 * and before the first module script an import map (plus modulepreload
 * links for that script's static imports). Returns a malloc'd string (caller
 * frees; *out_len set) or NULL out of memory. With no assets known, a copy.
 */
char *cl_assets_rewrite_html(const char *html, size_t len, const char *route_module, size_t *out_len);

#endif
