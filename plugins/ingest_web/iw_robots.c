/*
 * iw_robots.c — robots.txt as RFC 9309 describes it: groups of user-agent
 * lines followed by Allow/Disallow rules; the crawler obeys the groups that
 * name its product token, or the "*" groups when none does; the longest
 * matching rule decides, Allow winning a tie; '*' matches any run of
 * characters and a trailing '$' anchors the end.
 */
#include "iw.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct rule_list {
    cl_iw_robot_rule *v;
    size_t n, cap;
} rule_list;

static int add_rule(rule_list *l, const char *pat, size_t n, int allow)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        cl_iw_robot_rule *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    char *s = malloc(n + 1);
    if (!s)
        return -1;
    memcpy(s, pat, n);
    s[n] = '\0';
    l->v[l->n++] = (cl_iw_robot_rule){s, allow};
    return 0;
}

static void free_list(rule_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].pattern);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Does the user-agent line's value name our product token? */
static int agent_matches(const char *v, size_t n, const char *agent)
{
    size_t tn = 0;
    while (tn < n && (isalnum((unsigned char)v[tn]) || v[tn] == '-' || v[tn] == '_'))
        tn++;
    return tn > 0 && tn == strlen(agent) && strncasecmp(v, agent, tn) == 0;
}

int cl_iw_robots_parse(const char *txt, size_t len, const char *agent, cl_iw_robots *out)
{
    memset(out, 0, sizeof *out);
    rule_list mine = {0}, star = {0};
    int in_agents = 0;           /* the previous meaningful line was a user-agent line */
    int grp_mine = 0, grp_star = 0; /* the current group applies to us / to "*" */
    int named = 0;               /* some group names us */
    const char *p = txt, *end = txt + len;
    while (p < end) {
        const char *eol = p;
        while (eol < end && *eol != '\n' && *eol != '\r')
            eol++;
        const char *le = eol;
        const char *hash = memchr(p, '#', (size_t)(le - p));
        if (hash)
            le = hash;
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (colon) {
            const char *k = p, *ke = colon;
            while (k < ke && isspace((unsigned char)*k))
                k++;
            while (ke > k && isspace((unsigned char)ke[-1]))
                ke--;
            const char *v = colon + 1, *ve = le;
            while (v < ve && isspace((unsigned char)*v))
                v++;
            while (ve > v && isspace((unsigned char)ve[-1]))
                ve--;
            size_t kn = (size_t)(ke - k), vn = (size_t)(ve - v);
            if (kn == 10 && strncasecmp(k, "user-agent", 10) == 0) {
                if (!in_agents)
                    grp_mine = grp_star = 0;
                in_agents = 1;
                if (vn == 1 && *v == '*')
                    grp_star = 1;
                else if (agent_matches(v, vn, agent)) {
                    grp_mine = 1;
                    named = 1;
                }
            } else if ((kn == 5 && strncasecmp(k, "allow", 5) == 0) ||
                       (kn == 8 && strncasecmp(k, "disallow", 8) == 0)) {
                in_agents = 0;
                int allow = kn == 5;
                if (vn == 0)
                    ; /* an empty rule matches nothing */
                else if ((grp_mine && add_rule(&mine, v, vn, allow)) ||
                         (grp_star && add_rule(&star, v, vn, allow))) {
                    free_list(&mine);
                    free_list(&star);
                    return -1;
                }
            } else if (kn > 0) {
                in_agents = 0; /* sitemap, crawl-delay, ...: ends a run of user-agent lines */
            }
        }
        p = eol;
        while (p < end && (*p == '\n' || *p == '\r'))
            p++;
    }
    rule_list *keep = named ? &mine : &star;
    out->rules = keep->v;
    out->n = keep->n;
    free_list(named ? &star : &mine);
    return 0;
}

/* Match pattern against the start of path: '*' matches any run, a trailing
   '$' anchors the end. Iterative, backtracking only to the last '*', so a
   hostile pattern costs O(pattern x path), not exponential time. */
static int pattern_match(const char *pat, const char *path)
{
    size_t pn = strlen(pat);
    int anchored = pn > 0 && pat[pn - 1] == '$';
    if (anchored)
        pn--;
    const char *s = path, *star_s = NULL;
    size_t i = 0, star_i = 0;
    for (;;) {
        if (i == pn) {
            if (!anchored || *s == '\0')
                return 1;
        } else if (pat[i] == '*') {
            star_i = ++i;
            star_s = s;
            continue;
        } else if (*s && pat[i] == *s) {
            i++;
            s++;
            continue;
        }
        if (!star_s || !*star_s)
            return 0;
        s = ++star_s;
        i = star_i;
    }
}

int cl_iw_robots_allowed(const cl_iw_robots *r, const char *path)
{
    if (strcmp(path, "/robots.txt") == 0)
        return 1;
    if (r->disallow_all)
        return 0;
    size_t best = 0;
    int allowed = 1, found = 0;
    for (size_t i = 0; i < r->n; i++) {
        const cl_iw_robot_rule *rule = &r->rules[i];
        size_t len = strlen(rule->pattern);
        if (!pattern_match(rule->pattern, path))
            continue;
        if (!found || len > best || (len == best && rule->allow)) {
            best = len;
            allowed = rule->allow;
            found = 1;
        }
    }
    return allowed;
}

void cl_iw_robots_free(cl_iw_robots *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->rules[i].pattern);
    free(r->rules);
    memset(r, 0, sizeof *r);
}
