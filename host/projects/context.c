/*
 * context.c — the business context loader (see context.h). Relevance is a
 * simple, explainable score, not a search engine: a project has at most a
 * few dozen pages, and the profile's own words are the best signal of what
 * the business is about.
 */
#include "projects/context.h"

#include "db/db.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TERMS 48
#define MAX_DOC_HEADINGS 20
/* Room kept for `],"documents_total":N,"documents_included":M,"truncated":false}`. */
#define SUFFIX_RESERVE 96

typedef struct doc {
    int position;
    const char *url, *title, *description, *headings_json, *text;
    long score;
} doc;

static const char *const stopwords[] = {
    "the", "and", "for", "with", "our", "your", "you", "are", "from", "that", "this", "who",
    "all", "any", "per", "but", "not", "has", "have", "was", "were", "will", "can", "its",
    "their", "they", "them", "into", "out", "more", "most", "very", "just", "also", "who",
    "what", "when", "where", "how", "why", "about", "than", "then", "there", "here", NULL};

static int is_word_byte(unsigned char c) { return isalnum(c) || c >= 0x80; }

/* Split s into lower-case words of 3+ bytes, skipping stopwords and duplicates. */
static void add_terms(const char *s, char terms[][48], int *n)
{
    if (!s)
        return;
    const unsigned char *p = (const unsigned char *)s;
    while (*p && *n < MAX_TERMS) {
        while (*p && !is_word_byte(*p))
            p++;
        char w[48];
        size_t k = 0;
        while (*p && is_word_byte(*p)) {
            if (k + 1 < sizeof w)
                w[k++] = (char)tolower(*p);
            p++;
        }
        w[k] = '\0';
        if (k < 3)
            continue;
        int skip = 0;
        for (const char *const *sw = stopwords; *sw && !skip; sw++)
            skip = strcmp(w, *sw) == 0;
        for (int i = 0; i < *n && !skip; i++)
            skip = strcmp(terms[i], w) == 0;
        if (!skip)
            memcpy(terms[(*n)++], w, k + 1);
    }
}

/* Occurrences of term in s, ASCII case-insensitively, at most cap. */
static long count_in(const char *s, const char *term, long cap)
{
    long n = 0;
    size_t tl = strlen(term);
    for (const char *p = s; p && *p && n < cap; p++)
        if (tolower((unsigned char)*p) == term[0] && strncasecmp(p, term, tl) == 0) {
            n++;
            p += tl - 1;
        }
    return n;
}

static int cmp_docs(const void *a, const void *b)
{
    const doc *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->position - y->position;
}

/* Bytes s takes as a JSON string body (without quotes), as cl_buf_json_str writes it. */
static size_t escaped_len(const unsigned char *s, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        len += (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t') ? 2 : c < 0x20 ? 6 : 1;
    }
    return len;
}

/* The longest prefix of text (cut at a character, preferably a word boundary)
   whose escaped form fits in room bytes. */
static size_t fit_prefix(const char *text, size_t room)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t used = 0, i = 0, last_space = 0;
    while (s[i]) {
        unsigned char c = s[i];
        size_t w = (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t') ? 2 : c < 0x20 ? 6 : 1;
        if (used + w > room)
            break;
        used += w;
        i++;
        if (c == ' ' || c == '\n')
            last_space = i - 1;
    }
    while (i > 0 && (s[i] & 0xC0) == 0x80) /* never split a character */
        i--;
    if (s[i] && last_space > i / 2)
        i = last_space;
    return i;
}

int cl_context_load(PGconn *conn, int64_t project_id, size_t budget_bytes, cl_buf *out, char *err,
                    size_t errlen)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, project_id);
    const char *p[] = {id};
    PGresult *pr = cl_db_query(
        conn,
        "SELECT json_build_object('id', p.id, 'name', p.name, 'project_type', p.project_type,"
        " 'business_name', p.business_name, 'category', p.category, 'city', p.city, 'state', p.state,"
        " 'target_audience', p.target_audience, 'primary_offer', p.primary_offer,"
        " 'price_range', p.price_range, 'tone', p.tone, 'cta', p.cta,"
        " 'instagram_handle', p.instagram_handle, 'whatsapp_number', p.whatsapp_number,"
        " 'website_url', p.website_url, 'preferred_channels', to_json(p.preferred_channels),"
        " 'language_style', p.language_style),"
        " concat_ws(' ', p.name, p.business_name, p.category, p.primary_offer, p.target_audience, p.city)"
        " FROM projects p WHERE p.id = $1",
        1, p);
    if (!cl_db_ok(pr)) {
        cl_db_errmsg(conn, pr, err, errlen);
        PQclear(pr);
        return -1;
    }
    if (PQntuples(pr) == 0) {
        PQclear(pr);
        return 1;
    }
    PGresult *dr = cl_db_query(conn,
                               "SELECT position, url, title, description, headings::text, body_text"
                               " FROM context_documents WHERE project_id = $1 ORDER BY position, id",
                               1, p);
    if (!cl_db_ok(dr)) {
        cl_db_errmsg(conn, dr, err, errlen);
        PQclear(pr);
        PQclear(dr);
        return -1;
    }

    char terms[MAX_TERMS][48];
    int nterms = 0;
    add_terms(PQgetvalue(pr, 0, 1), terms, &nterms);

    int nd = PQntuples(dr);
    doc *docs = calloc(nd > 0 ? (size_t)nd : 1, sizeof *docs);
    if (!docs) {
        snprintf(err, errlen, "out of memory");
        PQclear(pr);
        PQclear(dr);
        return -1;
    }
    for (int i = 0; i < nd; i++) {
        doc *d = &docs[i];
        d->position = atoi(PQgetvalue(dr, i, 0));
        d->url = PQgetvalue(dr, i, 1);
        d->title = PQgetvalue(dr, i, 2);
        d->description = PQgetvalue(dr, i, 3);
        d->headings_json = PQgetvalue(dr, i, 4);
        d->text = PQgetvalue(dr, i, 5);
        long s = d->position == 0 ? 10 : 0;
        for (int t = 0; t < nterms; t++)
            s += 3 * count_in(d->title, terms[t], 5) + 2 * count_in(d->description, terms[t], 5) +
                 2 * count_in(d->headings_json, terms[t], 5) + count_in(d->text, terms[t], 5);
        d->score = s;
    }
    qsort(docs, (size_t)nd, sizeof *docs, cmp_docs);

    int rc = 0, included = 0, truncated = 0;
    size_t start = out->len;
    if (cl_buf_puts(out, "{\"project\":") || cl_buf_puts(out, PQgetvalue(pr, 0, 0)) ||
        cl_buf_puts(out, ",\"documents\":["))
        rc = -1;
    for (int i = 0; rc == 0 && i < nd; i++) {
        const doc *d = &docs[i];
        size_t used = out->len - start;
        if (used + SUFFIX_RESERVE >= budget_bytes) {
            truncated = 1;
            break;
        }
        size_t room = budget_bytes - used - SUFFIX_RESERVE;
        /* The document without its text, headings trimmed to MAX_DOC_HEADINGS. */
        cl_buf skel = CL_BUF_INIT;
        cJSON *hs = cJSON_Parse(d->headings_json);
        while (cJSON_GetArraySize(hs) > MAX_DOC_HEADINGS)
            cJSON_DeleteItemFromArray(hs, MAX_DOC_HEADINGS);
        char *htext = hs ? cJSON_PrintUnformatted(hs) : NULL;
        cJSON_Delete(hs);
        int e = cl_buf_puts(&skel, included ? ",{\"url\":" : "{\"url\":") || cl_buf_json_str(&skel, d->url) ||
                cl_buf_puts(&skel, ",\"title\":") || cl_buf_json_str(&skel, d->title) ||
                cl_buf_puts(&skel, ",\"description\":") || cl_buf_json_str(&skel, d->description) ||
                cl_buf_puts(&skel, ",\"headings\":") || cl_buf_puts(&skel, htext ? htext : "[]") ||
                cl_buf_puts(&skel, ",\"text\":\"");
        free(htext);
        /* closing: `","truncated":false}` */
        const size_t closing = 21;
        if (e) {
            cl_buf_free(&skel);
            rc = -1;
            break;
        }
        if (skel.len + closing + 16 > room) {
            cl_buf_free(&skel);
            truncated = 1;
            break;
        }
        size_t tlen = strlen(d->text);
        size_t avail = room - skel.len - closing;
        size_t cut = escaped_len((const unsigned char *)d->text, tlen) <= avail ? tlen
                                                                              : fit_prefix(d->text, avail);
        int doc_truncated = cut < tlen;
        /* Append the text escaped, through a NUL-terminated copy of the prefix. */
        char *piece = strndup(d->text, cut);
        cl_buf q = CL_BUF_INIT;
        e = !piece || cl_buf_json_str(&q, piece);
        free(piece);
        if (!e) {
            /* q is "\"...\"": drop the quotes, skel already opened the string. */
            e = cl_buf_append(out, skel.data, skel.len) || cl_buf_append(out, q.data + 1, q.len - 2) ||
                cl_buf_puts(out, doc_truncated ? "\",\"truncated\":true}" : "\",\"truncated\":false}");
        }
        cl_buf_free(&q);
        cl_buf_free(&skel);
        if (e) {
            rc = -1;
            break;
        }
        included++;
        if (doc_truncated) {
            truncated = 1;
            break;
        }
    }
    if (rc == 0 && included < nd)
        truncated = 1;
    if (rc == 0 && cl_buf_printf(out, "],\"documents_total\":%d,\"documents_included\":%d,\"truncated\":%s}",
                                 nd, included, truncated ? "true" : "false"))
        rc = -1;
    if (rc)
        snprintf(err, errlen, "out of memory");
    free(docs);
    PQclear(pr);
    PQclear(dr);
    return rc;
}
