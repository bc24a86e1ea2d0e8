/*
 * site.c — the public pages (see site.h). Templates are kept in memory and
 * read again when their file changes, so edits show up without a restart.
 */
#include "site/site.h"
#include "http/assets.h"

#include "auth/auth.h"
#include "billing/billing.h"
#include "core/config.h"
#include "core/log.h"
#include "credits/policy.h"
#include "db/db.h"
#include "http/http.h"
#include "plans/plans.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#define LOG "site"
#define MAX_TEMPLATE_BYTES ((size_t)256 * 1024)

int cl_html_escape(cl_buf *out, const char *s)
{
    while (s && *s) {
        size_t run = strcspn(s, "&<>\"'");
        if (run && cl_buf_append(out, s, run))
            return -1;
        s += run;
        if (!*s)
            break;
        const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '"' ? "&quot;" : "&#39;";
        if (cl_buf_puts(out, rep))
            return -1;
        s++;
    }
    return 0;
}

int cl_tpl_render(const char *tpl, const cl_tpl_var *vars, size_t nvars, cl_buf *out, char *unknown,
                  size_t unknown_len)
{
    if (unknown && unknown_len)
        unknown[0] = '\0';
    const char *p = tpl;
    for (;;) {
        const char *open = strstr(p, "{{");
        if (!open)
            return cl_buf_puts(out, p);
        int raw = open[2] == '{';
        const char *name = open + (raw ? 3 : 2);
        const char *close = strstr(name, raw ? "}}}" : "}}");
        if (!close)
            return cl_buf_puts(out, p);
        if (cl_buf_append(out, p, (size_t)(open - p)))
            return -1;
        size_t nl = (size_t)(close - name);
        const cl_tpl_var *v = NULL;
        for (size_t i = 0; i < nvars && !v; i++)
            if (strlen(vars[i].name) == nl && memcmp(vars[i].name, name, nl) == 0)
                v = &vars[i];
        if (!v && unknown && unknown_len && !unknown[0])
            snprintf(unknown, unknown_len, "%.*s", (int)nl, name);
        if (v && v->value && (raw ? cl_buf_puts(out, v->value) : cl_html_escape(out, v->value)))
            return -1;
        p = close + (raw ? 3 : 2);
    }
}

/* ---- values ------------------------------------------------------------------ */

/* A growing list of template values; every value is owned by the list. */
typedef struct vars {
    cl_tpl_var v[96];
    char *owned[96];
    size_t n;
} vars;

static void var_set(vars *vs, const char *name, const char *value)
{
    if (vs->n >= sizeof vs->v / sizeof *vs->v)
        return;
    char *copy = value ? strdup(value) : NULL;
    vs->owned[vs->n] = copy;
    vs->v[vs->n].name = name;
    vs->v[vs->n].value = copy;
    vs->n++;
}

static void var_num(vars *vs, const char *name, long long n)
{
    char text[32];
    if (n < 0)
        snprintf(text, sizeof text, "Unlimited");
    else
        snprintf(text, sizeof text, "%lld", n);
    var_set(vs, name, text);
}

static void vars_free(vars *vs)
{
    for (size_t i = 0; i < vs->n; i++)
        free(vs->owned[i]);
    vs->n = 0;
}

/* Plan limits and grants for /pricing, named <prefix>_<field>. The names
   live in static storage because cl_tpl_var borrows them. */
static void plan_vars(vars *vs, cl_plan plan, const char *const names[9])
{
    const cl_plan_limits *l = cl_policy_limits(plan);
    var_num(vs, names[0], l->monthly_generation_grant);
    var_num(vs, names[1], l->monthly_render_grant);
    var_num(vs, names[2], l->active_projects);
    var_num(vs, names[3], l->posts_per_week);
    var_num(vs, names[4], l->posts_per_month);
    var_num(vs, names[5], l->regenerations_per_week);
    var_num(vs, names[6], l->renders_per_month);
    var_num(vs, names[7], l->publishes_per_month);
    var_num(vs, names[8], l->connected_channels);
}

#define PLAN_NAMES(p)                                                                                       \
    {p "_generation", p "_render", p "_projects", p "_posts_week", p "_posts_month", p "_regen_week",          \
     p "_renders_month", p "_publishes_month", p "_channels"}

static const char *const free_names[9] = PLAN_NAMES("free");
static const char *const beta_names[9] = PLAN_NAMES("beta");
static const char *const pro_names[9] = PLAN_NAMES("pro");

/* What paid actions cost, as list items. */
static void costs_html(cl_buf *b)
{
    for (size_t i = 0; i < cl_policy_action_count(); i++) {
        const cl_action_cost *a = cl_policy_action_at(i);
        if (a->cost <= 0)
            continue;
        cl_buf_puts(b, "<li>");
        cl_html_escape(b, a->label);
        cl_buf_printf(b, ": <strong>%lld</strong> %s credit%s</li>", (long long)a->cost,
                      cl_credit_kind_name(a->kind), a->cost == 1 ? "" : "s");
    }
}

/* The visitor's session, when the request carries a session cookie. 1 signed
   in (u filled), 0 not. Never writes. */
static int visitor(cl_req *req, cl_user *u)
{
    const char *cookie = cl_req_header(req, "cookie");
    if (!cookie || !strstr(cookie, CL_SESSION_COOKIE "="))
        return 0;
    char err[256];
    PGconn *c = cl_db_acquire(CL_DB_WAIT_FAST_MS, err, sizeof err);
    if (!c)
        return 0;
    cl_res scratch = {0};
    int ok = cl_auth_require(req, &scratch, c, u) == 0;
    cl_res_clear(&scratch);
    cl_db_release(c);
    return ok;
}

/* ---- pages ------------------------------------------------------------------- */

typedef struct page {
    const char *path;
    const char *file; /* web/site/<file>.html */
    const char *title;
    const char *description;
    const char *script; /* module under /assets/js/, or NULL */
    int session;        /* looks up the visitor's session (runs on the pool) */
} page;

static const page pages[] = {
    {"/", "index", "ClipLoop — short-form promo videos for brands, businesses and creators",
     "Describe a promotion in a sentence; ClipLoop writes the script, caption and call to action and renders a "
     "1080x1920 promo video. Invite-only beta, opinionated and intentionally narrow.",
     NULL, 0},
    {"/pricing", "pricing", "Pricing — ClipLoop",
     "Free, Beta and Pro ($5/month): the monthly credits and limits of each ClipLoop plan, and what each action costs.",
     "public.js", 1},
    {"/request-access", "request-access", "Request access — ClipLoop",
     "ClipLoop is an invite-only beta. Tell us what you sell and where you post, and we will email you when a spot "
     "opens.",
     "public.js", 0},
    {"/billing/success", "billing-success", "Thanks for subscribing — ClipLoop",
     "Your ClipLoop Pro checkout is complete; Pro switches on once the payment is confirmed.", NULL, 1},
    {"/billing/cancel", "billing-cancel", "Checkout cancelled — ClipLoop",
     "Your ClipLoop Pro checkout was cancelled; nothing was charged.", NULL, 0},
    {"/terms", "terms", "Terms — ClipLoop", "ClipLoop's terms of service (placeholder during the beta).", NULL, 0},
    {"/privacy", "privacy", "Privacy — ClipLoop", "What ClipLoop stores about you (placeholder during the beta).",
     NULL, 0},
};

/* Templates are cached in memory and read again when the file's mtime or
   size changes (one stat per use), so edits show up without a restart. */
typedef struct tpl_cache {
    char name[32];
    struct timespec mtime;
    off_t size;
    char *data;
} tpl_cache;

static tpl_cache cache[16];
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

/* A malloc'd copy of web/site/<name>.html (caller frees), or NULL. */
static char *read_template(const char *name)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/site/%s.html", cl_cfg.web_dir, name);
    struct stat st;
    if (stat(path, &st) != 0 || st.st_size > (off_t)MAX_TEMPLATE_BYTES)
        return NULL;
    pthread_mutex_lock(&cache_mu);
    tpl_cache *slot = NULL;
    for (size_t i = 0; i < sizeof cache / sizeof *cache && !slot; i++)
        if (strcmp(cache[i].name, name) == 0 || !cache[i].name[0])
            slot = &cache[i];
    char *copy = NULL;
    if (slot && slot->data && slot->size == st.st_size && slot->mtime.tv_sec == st.st_mtim.tv_sec &&
        slot->mtime.tv_nsec == st.st_mtim.tv_nsec) {
        copy = strdup(slot->data);
    } else {
        FILE *f = fopen(path, "rb");
        char *buf = f ? malloc((size_t)st.st_size + 1) : NULL;
        size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
        if (f)
            fclose(f);
        if (buf) {
            buf[n] = '\0';
            /* References to /assets/ become fingerprinted names (http/assets.h). */
            size_t rn = 0;
            char *rw = cl_assets_rewrite_html(buf, n, NULL, &rn);
            if (rw) {
                free(buf);
                buf = rw;
            }
            copy = strdup(buf);
            if (slot) {
                free(slot->data);
                snprintf(slot->name, sizeof slot->name, "%s", name);
                slot->data = buf;
                slot->size = st.st_size;
                slot->mtime = st.st_mtim;
            } else {
                free(buf);
            }
        }
    }
    pthread_mutex_unlock(&cache_mu);
    return copy;
}

static const page *page_for(const char *path)
{
    for (size_t i = 0; i < sizeof pages / sizeof *pages; i++)
        if (strcmp(pages[i].path, path) == 0)
            return &pages[i];
    return NULL;
}

/* The Pro button on /pricing, by situation. */
static void checkout_html(cl_buf *b, int signed_in, const cl_user *u, int available)
{
    static const char next[] = "%2Fpricing%3Fcheckout%3D1";
    if (!available) {
        cl_buf_puts(b, "<p class=\"status warn\" id=\"checkout-unavailable\">Checkout is not available on this "
                       "server yet, so Pro cannot be bought here. <a href=\"/request-access\">Request beta "
                       "access</a> instead.</p>");
        return;
    }
    if (signed_in && u->plan == CL_PLAN_STARTER) {
        cl_buf_puts(b, "<p class=\"status ok\">You are on Pro. <a href=\"/dashboard/settings\">Manage billing</a></p>");
        return;
    }
    if (signed_in) {
        cl_buf_puts(b, "<button class=\"button block\" type=\"button\" id=\"pro-checkout\" data-signed-in>Upgrade "
                       "to Pro</button><p class=\"muted small\">Signed in as ");
        cl_html_escape(b, u->email);
        cl_buf_puts(b, ". You pay on Lemon Squeezy's checkout page.</p>"
                       "<p class=\"status error\" id=\"checkout-error\" role=\"alert\" hidden></p>");
        return;
    }
    cl_buf_printf(b,
                  "<a class=\"button block\" id=\"pro-checkout\" href=\"/signup.html?next=%s\">Get Pro</a>"
                  "<p class=\"muted small\">Create an account first (or <a href=\"/login.html?next=%s\">log "
                  "in</a>); checkout opens right after.</p>",
                  next, next);
}

/* Render pg's page with the usual values plus the (name, value) pairs of
   extra, answering `status`. */
static void render_page(cl_req *req, cl_res *res, const page *pg, const cl_tpl_var *extra, size_t nextra, int status)
{
    char *layout = read_template("layout");
    char *body = pg ? read_template(pg->file) : NULL;
    if (!pg || !layout || !body) {
        free(layout);
        free(body);
        cl_error(LOG, "missing template for %s under %s/site", req->path, cl_cfg.web_dir);
        cl_res_error(res, 500, "internal", "This page is missing on the server");
        return;
    }
    vars vs = {0};
    char origin[600];
    cl_public_origin(req, origin, sizeof origin);
    cl_user u;
    memset(&u, 0, sizeof u);
    int is_pricing = strcmp(pg->path, "/pricing") == 0, is_success = strcmp(pg->path, "/billing/success") == 0;
    int signed_in = (is_pricing || is_success) && visitor(req, &u);

    char price[32];
    snprintf(price, sizeof price, "$%d", CL_POLICY_PRO_MONTHLY_PRICE_CENTS / 100);
    var_set(&vs, "pro_price", price);
    /* /billing/success: whether the provider's confirmation has arrived. While
       it has not, the page refreshes itself (no script needed), up to 2 minutes. */
    int refresh = 0;
    if (is_success) {
        char n[8] = "";
        cl_req_query(req, "n", n, sizeof n);
        int tries = atoi(n);
        const char *state;
        if (!signed_in)
            state = "<p class=\"muted\" id=\"pro-status\">Log in to see your plan.</p>";
        else if (u.plan == CL_PLAN_STARTER)
            state = "<p class=\"status ok\" id=\"pro-status\" role=\"status\"><strong>Pro is active on your "
                    "account.</strong>This month's Pro credits are in your balance.</p>";
        else if (tries < 24) {
            state = "<p class=\"status\" id=\"pro-status\" role=\"status\"><strong>Waiting for the payment "
                    "confirmation…</strong>This page checks again every 5 seconds.</p>";
            refresh = tries + 1;
        } else
            state = "<p class=\"status warn\" id=\"pro-status\" role=\"status\"><strong>The confirmation has not "
                    "arrived yet.</strong>It can take a few minutes; Settings shows your plan as soon as it does. If "
                    "you were charged and Pro does not appear within the hour, reply to your receipt email.</p>";
        var_set(&vs, "pro_status", state);
    }
    if (is_pricing) {
        plan_vars(&vs, CL_PLAN_FREE, free_names);
        plan_vars(&vs, CL_PLAN_BETA, beta_names);
        plan_vars(&vs, CL_PLAN_STARTER, pro_names);
        var_set(&vs, "free_label", cl_plan_label(CL_PLAN_FREE));
        var_set(&vs, "free_note", cl_cfg.invite_only_mode
                                      ? "An account. While the beta is invite-only, a free account waits on the list."
                                      : "An account with the studio and a small monthly grant.");
        var_set(&vs, "beta_label", cl_plan_label(CL_PLAN_BETA));
        var_set(&vs, "pro_label", cl_plan_label(CL_PLAN_STARTER));
        cl_buf tmp = CL_BUF_INIT;
        costs_html(&tmp);
        var_set(&vs, "costs", tmp.data);
        tmp.len = 0;
        checkout_html(&tmp, signed_in, &u, cl_billing_available());
        var_set(&vs, "checkout", tmp.data);
        cl_buf_free(&tmp);
    }
    /* Page-specific values; a name also set by extra wins (first match). */
    vars ex = {0};
    for (size_t i = 0; i < nextra; i++)
        var_set(&ex, extra[i].name, extra[i].value);
    for (size_t i = 0; i < vs.n && ex.n < sizeof ex.v / sizeof *ex.v; i++) {
        ex.v[ex.n] = vs.v[i];
        ex.owned[ex.n++] = NULL; /* still owned by vs */
    }

    cl_buf content = CL_BUF_INIT;
    char unknown[64];
    cl_tpl_render(body, ex.v, ex.n, &content, unknown, sizeof unknown);
    if (unknown[0])
        cl_warn(LOG, "site/%s.html uses unknown value {{%s}}", pg->file, unknown);

    vars lv = {0};
    char url[800], script[200] = "", meta[200] = "";
    snprintf(url, sizeof url, "%s%s", origin, pg->path);
    if (pg->script)
        snprintf(script, sizeof script, "<script type=\"module\" src=\"/assets/js/%s\"></script>", pg->script);
    /* The module under its fingerprinted name, after the import map and its imports' preloads. */
    size_t script_len = 0;
    char *script_html = pg->script ? cl_assets_rewrite_html(script, strlen(script), NULL, &script_len) : NULL;
    if (signed_in && is_pricing)
        snprintf(meta, sizeof meta, "<meta name=\"csrf-token\" content=\"%s\">", u.csrf_token);
    else if (refresh)
        snprintf(meta, sizeof meta, "<meta http-equiv=\"refresh\" content=\"5; url=/billing/success?n=%d\">", refresh);
    var_set(&lv, "title", pg->title);
    var_set(&lv, "description", pg->description);
    var_set(&lv, "url", url);
    var_set(&lv, "origin", origin);
    var_set(&lv, "page", pg->file);
    var_set(&lv, "script", script_html ? script_html : script);
    var_set(&lv, "session_meta", meta);
    var_set(&lv, "content", content.data ? content.data : "");
    cl_buf html = CL_BUF_INIT;
    int rc = cl_tpl_render(layout, lv.v, lv.n, &html, unknown, sizeof unknown);
    if (unknown[0])
        cl_warn(LOG, "site/layout.html uses unknown value {{%s}}", unknown);
    vars_free(&vs);
    vars_free(&ex);
    vars_free(&lv);
    free(script_html);
    cl_buf_free(&content);
    free(layout);
    free(body);
    if (rc != 0) {
        cl_buf_free(&html);
        cl_res_error(res, 500, "internal", "Out of memory");
        return;
    }
    cl_buf_free(&res->body);
    res->body = html;
    res->status = status;
    res->content_type = "text/html; charset=utf-8";
    /* A signed-in page carries the session's state (and on /pricing its CSRF
       token): never cache it. */
    cl_res_header(res, "Cache-Control", signed_in ? "private, no-store" : "no-cache");
}

static void serve_page(cl_req *req, cl_res *res)
{
    static const cl_tpl_var defaults[] = {{"notice", ""}, {"form_attr", ""}, {"done_attr", "hidden"}};
    render_page(req, res, page_for(req->path), defaults, sizeof defaults / sizeof *defaults, 200);
}

/* Event loop: a page that shows the visitor's session goes to the pool only
   when the request carries a session cookie; signed-out visitors (most of a
   public page's traffic) are answered here from the cached template. */
static void serve_page_inline(cl_req *req, cl_res *res)
{
    const page *pg = page_for(req->path);
    const char *cookie = cl_req_header(req, "cookie");
    if (pg && pg->session && cookie && strstr(cookie, CL_SESSION_COOKIE "=")) {
        cl_res_defer(res, serve_page);
        return;
    }
    serve_page(req, res);
}

/* Is seg one of the '&'-separated segments of an urlencoded body? */
static int form_has(const char *body, const char *seg)
{
    size_t n = strlen(seg);
    for (const char *p = body; p && *p;) {
        size_t len = strcspn(p, "&");
        if (len == n && strncmp(p, seg, n) == 0)
            return 1;
        p += len;
        if (*p == '&')
            p++;
    }
    return 0;
}

char *cl_site_access_form_json(const char *body)
{
    static const char *const fields[][2] = {{"email", "300"}, {"name", "256"}, {"business", "600"}, {"note", "2100"}};
    static const char *const channels[] = {"instagram", "tiktok", "whatsapp", "other"};
    cl_req form;
    memset(&form, 0, sizeof form);
    form.query = (char *)(body ? body : "");
    cJSON *j = cJSON_CreateObject();
    char value[2200];
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        if (cl_req_query(&form, fields[i][0], value, (size_t)atoi(fields[i][1])) && value[0])
            cJSON_AddStringToObject(j, fields[i][0], value);
    cJSON *ch = cJSON_AddArrayToObject(j, "channels");
    for (size_t i = 0; i < sizeof channels / sizeof *channels; i++) {
        snprintf(value, sizeof value, "channels=%s", channels[i]);
        if (form_has(form.query, value))
            cJSON_AddItemToArray(ch, cJSON_CreateString(channels[i]));
    }
    char *json = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return json;
}

/* POST /request-access: the form without JavaScript (urlencoded). The same
   route as POST /api/access/request does the work; the answer is a page. */
static void request_access_form(cl_req *req, cl_res *res)
{
    if (req->body_len > 16384) {
        cl_res_error(res, 413, "payload_too_large", "The form is too large");
        return;
    }
    char *json = cl_site_access_form_json(req->body);
    cl_req sub = *req;
    sub.body = json;
    sub.body_len = json ? strlen(json) : 0;
    cl_res r = {0};
    r.status = 200;
    cl_access_request_route(&sub, &r);
    free(json);
    cl_buf notice = CL_BUF_INIT;
    int ok = r.status == 202;
    if (!ok) {
        cJSON *e = cJSON_ParseWithLength(r.body.data ? r.body.data : "", r.body.len);
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "error"), "message");
        cl_buf_puts(&notice, "<p class=\"status error\" role=\"alert\">");
        cl_html_escape(&notice, cJSON_IsString(msg) ? msg->valuestring : "Something went wrong; try again.");
        cl_buf_puts(&notice, "</p>");
        cJSON_Delete(e);
    }
    const cl_tpl_var extra[] = {{"notice", notice.data ? notice.data : ""},
                                {"form_attr", ok ? "hidden" : ""},
                                {"done_attr", ok ? "" : "hidden"}};
    int status = ok ? 200 : (r.status >= 400 ? r.status : 500);
    cl_res_clear(&r);
    render_page(req, res, page_for("/request-access"), extra, sizeof extra / sizeof *extra, status);
    cl_buf_free(&notice);
}

void cl_site_register_routes(void)
{
    cl_route("POST", "/request-access", request_access_form, 0);
    /* Pages render on the event loop (the templates come from memory);
       /pricing and /billing/success move to the pool to look up the
       visitor's session when there is a session cookie. */
    for (size_t i = 0; i < sizeof pages / sizeof *pages; i++)
        cl_route("GET", pages[i].path, serve_page_inline, CL_ROUTE_INLINE);
}
