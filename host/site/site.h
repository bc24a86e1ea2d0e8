/*
 * site.h — the public site: server-rendered HTML pages readable without
 * JavaScript, filled from templates in web/site/ (CLIPLOOP_WEB_DIR).
 *
 *   GET /  /pricing  /request-access  /billing/success  /billing/cancel  /terms  /privacy
 *
 * Each page is web/site/<name>.html wrapped in web/site/layout.html. Values
 * come from C: plan limits, grants and costs from the policy module
 * (credits/policy.h), whether checkout is available from host/billing, and
 * for /pricing the visitor's session (signed in or not, the CSRF token the
 * Pro button needs). Templates use {{name}} (HTML-escaped) and {{{name}}}
 * (trusted HTML built here); an unknown name renders empty and is logged.
 */
#ifndef CL_SITE_SITE_H
#define CL_SITE_SITE_H

#include "core/buf.h"
#include <stddef.h>

/** One template value. */
typedef struct cl_tpl_var {
    const char *name;
    const char *value; /**< NULL renders empty */
} cl_tpl_var;

/**
 * Render tpl into out, replacing {{name}} with the escaped value and
 * {{{name}}} with the raw value. Returns 0, or -1 out of memory.
 * Unknown names render empty; when unknown is not NULL the first unknown
 * name is copied there.
 */
int cl_tpl_render(const char *tpl, const cl_tpl_var *vars, size_t nvars, cl_buf *out, char *unknown,
                  size_t unknown_len);

/** Append s HTML-escaped (& < > " '). 0 or -1. */
int cl_html_escape(cl_buf *out, const char *s);

/** Register the page routes. */
void cl_site_register_routes(void);

/**
 * POST /request-access's urlencoded form as the JSON body of POST
 * /api/access/request ({email?, name?, business?, note?, channels:[…]}; pure,
 * fuzzed). Malloc'd, caller frees; NULL out of memory.
 */
char *cl_site_access_form_json(const char *body);

#endif
