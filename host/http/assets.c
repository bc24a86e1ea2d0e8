/*
 * assets.c — fingerprinted static files, import map and module preloads
 * (see assets.h). Built once at start-up, read-only afterwards.
 */
#include "http/assets.h"
#include "core/buf.h"
#include "core/log.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LOG "assets"
#define MAX_FILE_BYTES (8u << 20) /* larger files (videos) keep their plain names */
#define MODULE_TAG "<script type=\"module\"" /* the start of a module script element */

typedef struct {
    cl_asset a;
    char **deps; /* rel paths of static imports (js only) */
    size_t ndeps;
} entry;

typedef struct {
    char *path; /* "/app/create" */
    int prefix;
    char *module; /* rel "js/create.js" */
    char *html;   /* the shell pre-rendered for this route */
    size_t len;
} route;

typedef struct {
    char *name; /* "login.html" */
    char *html;
    size_t len;
} page;

static entry *entries;
static size_t nentries, capentries;
static route *routes;
static size_t nroutes;
static char *shell_default; /* no route matched */
static size_t shell_default_len;
static page *pages;
static size_t npages;

static const char *const FINGERPRINTED[] = {"css", "js", "svg", "png", "jpg", "jpeg", "webp", "ico", "woff2", "vtt"};

static int fingerprinted_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return 0;
    for (size_t i = 0; i < sizeof FINGERPRINTED / sizeof *FINGERPRINTED; i++)
        if (strcmp(dot + 1, FINGERPRINTED[i]) == 0)
            return 1;
    return 0;
}

/* The whole file (NUL-terminated; caller frees) or NULL. */
static char *slurp(const char *file, size_t *len)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        return NULL;
    struct stat st;
    char *data = NULL;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= MAX_FILE_BYTES &&
        (data = malloc((size_t)st.st_size + 1)) != NULL) {
        *len = fread(data, 1, (size_t)st.st_size, f);
        data[*len] = '\0';
    }
    fclose(f);
    return data;
}

/* "js/" + "./api.js" -> "js/api.js"; "js/" + "../css/x.css" -> "css/x.css". NULL when outside. */
static char *resolve(const char *from_rel, const char *spec, size_t speclen)
{
    char buf[512];
    if (speclen >= 8 && memcmp(spec, "/assets/", 8) == 0) {
        snprintf(buf, sizeof buf, "%.*s", (int)(speclen - 8), spec + 8);
        return strdup(buf);
    }
    const char *slash = strrchr(from_rel, '/');
    size_t dirlen = slash ? (size_t)(slash - from_rel) : 0;
    snprintf(buf, sizeof buf, "%.*s", (int)dirlen, from_rel);
    size_t n = strlen(buf);
    while (speclen > 0) {
        if (speclen >= 2 && memcmp(spec, "./", 2) == 0) {
            spec += 2;
            speclen -= 2;
        } else if (speclen >= 3 && memcmp(spec, "../", 3) == 0) {
            if (n == 0)
                return NULL;
            char *s = strrchr(buf, '/');
            n = s ? (size_t)(s - buf) : 0;
            buf[n] = '\0';
            spec += 3;
            speclen -= 3;
        } else {
            break;
        }
    }
    if (n + 1 + speclen + 1 > sizeof buf)
        return NULL;
    if (n)
        buf[n++] = '/';
    memcpy(buf + n, spec, speclen);
    buf[n + speclen] = '\0';
    return strdup(buf);
}

/* Static imports of a module: `from './x.js'` and `import './x.js'` with a relative or /assets/ path. */
static void read_imports(entry *e, const char *src)
{
    static const char *const keys[] = {"from '", "from \"", "import '", "import \""};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        size_t kl = strlen(keys[k]);
        char q = keys[k][kl - 1];
        for (const char *p = strstr(src, keys[k]); p; p = strstr(p + kl, keys[k])) {
            const char *s = p + kl, *end = strchr(s, q);
            if (!end || end - s > 200 || !(s[0] == '.' || strncmp(s, "/assets/", 8) == 0))
                continue;
            char *rel = resolve(e->a.rel, s, (size_t)(end - s));
            char **grown = rel ? realloc(e->deps, (e->ndeps + 1) * sizeof *e->deps) : NULL;
            if (!grown) {
                free(rel);
                continue;
            }
            e->deps = grown;
            e->deps[e->ndeps++] = rel;
        }
    }
}

static int add_file(const char *file, const char *rel)
{
    size_t len = 0;
    char *data = slurp(file, &len);
    if (!data)
        return 0; /* too large or unreadable: served under its plain name */
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1) {
        free(data);
        return 0;
    }
    entry *grown = cl_array_room(entries, &capentries, nentries, sizeof *grown, 64);
    if (!grown) {
        free(data);
        return -1;
    }
    entries = grown;
    entry *e = &entries[nentries];
    memset(e, 0, sizeof *e);
    const char *dot = strrchr(rel, '.');
    char hex[CL_ASSET_HASH_LEN + 1];
    for (int i = 0; i < CL_ASSET_HASH_LEN / 2; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    size_t hl = strlen(rel) + CL_ASSET_HASH_LEN + 2;
    e->a.rel = strdup(rel);
    e->a.file = strdup(file);
    e->a.hashed = malloc(hl);
    if (!e->a.rel || !e->a.file || !e->a.hashed) {
        free(e->a.rel);
        free(e->a.file);
        free(e->a.hashed);
        free(data);
        return -1;
    }
    snprintf(e->a.hashed, hl, "%.*s.%s%s", (int)(dot - rel), rel, hex, dot);
    if (strcmp(dot, ".js") == 0)
        read_imports(e, data);
    free(data);
    nentries++;
    return 0;
}

static int scan(const char *dir, const char *rel)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char file[1024], r[512];
        snprintf(file, sizeof file, "%s/%s", dir, de->d_name);
        snprintf(r, sizeof r, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
        struct stat st;
        if (stat(file, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc = scan(file, r);
        else if (S_ISREG(st.st_mode) && fingerprinted_ext(de->d_name))
            rc = add_file(file, r);
    }
    closedir(d);
    return rc;
}

static entry *by_rel(const char *rel, size_t len)
{
    for (size_t i = 0; i < nentries; i++)
        if (strlen(entries[i].a.rel) == len && memcmp(entries[i].a.rel, rel, len) == 0)
            return &entries[i];
    return NULL;
}

/* Mark e and everything it imports (depth first) in seen[]. */
static void closure(entry *e, unsigned char *seen)
{
    size_t i = (size_t)(e - entries);
    if (seen[i])
        return;
    seen[i] = 1;
    for (size_t k = 0; k < e->ndeps; k++) {
        entry *d = by_rel(e->deps[k], strlen(e->deps[k]));
        if (d)
            closure(d, seen);
    }
}

char *cl_assets_rewrite_html(const char *html, size_t len, const char *route_module, size_t *out_len)
{
    cl_buf out = CL_BUF_INIT;
    unsigned char *seen = calloc(nentries + 1, 1);
    if (!seen)
        return NULL;
    const char *end = html + len, *p = html;
    const char *first_module = NULL;
    for (const char *s = html; s && s < end; s++) {
        s = memmem(s, (size_t)(end - s), MODULE_TAG, sizeof MODULE_TAG - 1);
        if (!s)
            break;
        if (!first_module)
            first_module = s;
        const char *src = memmem(s, (size_t)(end - s) < 200 ? (size_t)(end - s) : 200, "src=\"/assets/", 13);
        const char *q = src ? memchr(src + 13, '"', (size_t)(end - src - 13)) : NULL;
        entry *e = q ? by_rel(src + 13, (size_t)(q - src - 13)) : NULL;
        if (e)
            closure(e, seen);
    }
    if (route_module) {
        entry *e = by_rel(route_module, strlen(route_module));
        if (e)
            closure(e, seen);
    }
    int ok = 1;
    while (p < end && ok) {
        const char *hit = memmem(p, (size_t)(end - p), "/assets/", 8);
        const char *stop = hit ? hit : end;
        if (first_module && first_module >= p && first_module < stop) {
            /* The import map (every module) and the preloads, just before the first module script. */
            ok = cl_buf_append(&out, p, (size_t)(first_module - p)) == 0;
            ok = ok && cl_buf_puts(&out, "<script type=\"importmap\">{\"imports\":{") == 0;
            int n = 0;
            for (size_t i = 0; ok && i < nentries; i++) {
                const char *r = entries[i].a.rel;
                size_t rl = strlen(r);
                if (rl > 3 && strcmp(r + rl - 3, ".js") == 0)
                    ok = cl_buf_printf(&out, "%s\"/assets/%s\":\"/assets/%s\"", n++ ? "," : "", r,
                                       entries[i].a.hashed) == 0;
            }
            ok = ok && cl_buf_puts(&out, "}}</script>\n  ") == 0;
            for (size_t i = 0; ok && i < nentries; i++)
                if (seen[i])
                    ok = cl_buf_printf(&out, "<link rel=\"modulepreload\" href=\"/assets/%s\">\n  ",
                                       entries[i].a.hashed) == 0;
            p = first_module;
            first_module = NULL;
            continue;
        }
        if (!hit) {
            ok = cl_buf_append(&out, p, (size_t)(end - p)) == 0;
            break;
        }
        ok = cl_buf_append(&out, p, (size_t)(hit + 8 - p)) == 0;
        p = hit + 8;
        /* The longest known asset name that ends where the reference ends. */
        entry *best = NULL;
        size_t bestlen = 0;
        for (size_t i = 0; i < nentries; i++) {
            size_t rl = strlen(entries[i].a.rel);
            if (rl > bestlen && rl <= (size_t)(end - p) && memcmp(p, entries[i].a.rel, rl) == 0 &&
                (p + rl == end || strchr("\"'?#) \t\n<", p[rl]))) {
                best = &entries[i];
                bestlen = rl;
            }
        }
        if (best) {
            ok = ok && cl_buf_puts(&out, best->a.hashed) == 0;
            p += bestlen;
        }
    }
    free(seen);
    if (!ok || cl_buf_puts(&out, "") != 0) {
        cl_buf_free(&out);
        return NULL;
    }
    *out_len = out.len;
    return cl_buf_steal(&out);
}

/* The studio's routes from app.js: lines with `path: '…'` and `import('./….js')`. */
static int read_routes(void)
{
    entry *app = by_rel("js/app.js", 9);
    if (!app)
        return 0;
    size_t len = 0;
    char *src = slurp(app->a.file, &len);
    if (!src)
        return 0;
    int rc = 0;
    for (char *line = src, *next; line && *line && rc == 0; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *path = strstr(line, "path: '"), *imp = strstr(line, "import('./");
        if (!path || !imp)
            continue;
        path += 7;
        imp += 8;
        char *pe = strchr(path, '\''), *ie = strchr(imp, '\'');
        if (!pe || !ie)
            continue;
        route *grown = realloc(routes, (nroutes + 1) * sizeof *routes);
        if (!grown) {
            rc = -1;
            break;
        }
        routes = grown;
        route *r = &routes[nroutes];
        memset(r, 0, sizeof *r);
        r->path = strndup(path, (size_t)(pe - path));
        r->module = resolve("js/app.js", imp, (size_t)(ie - imp));
        r->prefix = strstr(line, "prefix: true") != NULL;
        if (!r->path || !r->module) {
            free(r->path);
            free(r->module);
            rc = -1;
            break;
        }
        nroutes++;
    }
    free(src);
    return rc;
}

/* As app.js's findRoute: the longest exact or prefix match; /dashboard is the first route. */
static route *find_route(const char *path, size_t len)
{
    while (len > 1 && path[len - 1] == '/')
        len--;
    route *best = NULL;
    size_t bestlen = 0;
    for (size_t i = 0; i < nroutes; i++) {
        size_t rl = strlen(routes[i].path);
        if (rl < bestlen || rl > len || memcmp(path, routes[i].path, rl) != 0)
            continue;
        if (rl == len || (routes[i].prefix && path[rl] == '/')) {
            if (!best || rl > bestlen) {
                best = &routes[i];
                bestlen = rl;
            }
        }
    }
    if (!best && nroutes && len == 10 && memcmp(path, "/dashboard", 10) == 0)
        best = &routes[0];
    return best;
}

static int add_page(const char *web_dir, const char *name)
{
    char file[1024];
    snprintf(file, sizeof file, "%s/%s", web_dir, name);
    size_t len = 0;
    char *src = slurp(file, &len);
    if (!src)
        return 0;
    page *grown = realloc(pages, (npages + 1) * sizeof *pages);
    if (!grown) {
        free(src);
        return -1;
    }
    pages = grown;
    page *pg = &pages[npages];
    pg->name = strdup(name);
    pg->html = cl_assets_rewrite_html(src, len, NULL, &pg->len);
    free(src);
    if (!pg->name || !pg->html) {
        free(pg->name);
        free(pg->html);
        return -1;
    }
    npages++;
    return 0;
}

int cl_assets_init(const char *web_dir)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/assets", web_dir);
    if (scan(dir, "") != 0 || read_routes() != 0)
        return -1;
    DIR *d = opendir(web_dir);
    struct dirent *de;
    int rc = 0;
    while (d && rc == 0 && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (de->d_name[0] != '.' && n > 5 && strcmp(de->d_name + n - 5, ".html") == 0)
            rc = add_page(web_dir, de->d_name);
    }
    if (d)
        closedir(d);
    if (rc != 0)
        return -1;
    /* The shell once per route (its page module preloaded) and once without. */
    snprintf(dir, sizeof dir, "%s/app.html", web_dir);
    size_t len = 0;
    char *shell = slurp(dir, &len);
    if (shell) {
        for (size_t i = 0; i < nroutes && rc == 0; i++) {
            routes[i].html = cl_assets_rewrite_html(shell, len, routes[i].module, &routes[i].len);
            if (!routes[i].html)
                rc = -1;
        }
        shell_default = rc == 0 ? cl_assets_rewrite_html(shell, len, NULL, &shell_default_len) : NULL;
        if (!shell_default)
            rc = -1;
        free(shell);
    }
    if (rc == 0)
        cl_info(LOG, "%zu static files fingerprinted, %zu studio routes, %zu pages", nentries, nroutes, npages);
    return rc;
}

void cl_assets_free(void)
{
    for (size_t i = 0; i < nentries; i++) {
        free(entries[i].a.rel);
        free(entries[i].a.hashed);
        free(entries[i].a.file);
        for (size_t k = 0; k < entries[i].ndeps; k++)
            free(entries[i].deps[k]);
        free(entries[i].deps);
    }
    free(entries);
    entries = NULL;
    nentries = capentries = 0;
    for (size_t i = 0; i < nroutes; i++) {
        free(routes[i].path);
        free(routes[i].module);
        free(routes[i].html);
    }
    free(routes);
    routes = NULL;
    nroutes = 0;
    for (size_t i = 0; i < npages; i++) {
        free(pages[i].name);
        free(pages[i].html);
    }
    free(pages);
    pages = NULL;
    npages = 0;
    free(shell_default);
    shell_default = NULL;
}

const cl_asset *cl_assets_find(const char *path, size_t len, int *hashed)
{
    if (len <= 8 || memcmp(path, "/assets/", 8) != 0)
        return NULL;
    path += 8;
    len -= 8;
    for (size_t i = 0; i < nentries; i++) {
        if (strlen(entries[i].a.hashed) == len && memcmp(entries[i].a.hashed, path, len) == 0) {
            *hashed = 1;
            return &entries[i].a;
        }
    }
    entry *e = by_rel(path, len);
    if (e) {
        *hashed = 0;
        return &e->a;
    }
    return NULL;
}

const char *cl_assets_shell(const char *path, size_t len, size_t *out_len)
{
    route *r = find_route(path, len);
    if (r && r->html) {
        *out_len = r->len;
        return r->html;
    }
    *out_len = shell_default_len;
    return shell_default;
}

const char *cl_assets_page(const char *path, size_t len, size_t *out_len)
{
    if (len < 2 || path[0] != '/')
        return NULL;
    for (size_t i = 0; i < npages; i++) {
        if (strlen(pages[i].name) == len - 1 && memcmp(pages[i].name, path + 1, len - 1) == 0) {
            *out_len = pages[i].len;
            return pages[i].html;
        }
    }
    return NULL;
}
