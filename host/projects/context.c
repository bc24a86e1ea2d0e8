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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TERMS 48
#define MAX_DOC_HEADINGS 20
/* Room kept for `],"documents_total":N,"documents_included":M,"truncated":false}`. */
#define SUFFIX_RESERVE 96
/** A document cut shorter than this is left out instead (as before: 16 bytes of text). */
#define MIN_DOC_TEXT 16

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

/* Bytes o takes printed (cJSON, unformatted); SIZE_MAX when out of memory. */
static size_t printed_len(const cJSON *o)
{
    char *t = cJSON_PrintUnformatted(o);
    size_t n = t ? strlen(t) : SIZE_MAX;
    cJSON_free(t);
    return n;
}

/* The document as an object; its text is set by set_text. NULL when out of memory. */
static cJSON *doc_object(const doc *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "url", d->url);
    cJSON_AddStringToObject(o, "title", d->title);
    cJSON_AddStringToObject(o, "description", d->description);
    cJSON *hs = cJSON_Parse(d->headings_json);
    if (!cJSON_IsArray(hs)) {
        cJSON_Delete(hs);
        hs = cJSON_CreateArray();
    }
    while (cJSON_GetArraySize(hs) > MAX_DOC_HEADINGS)
        cJSON_DeleteItemFromArray(hs, MAX_DOC_HEADINGS);
    cJSON_AddItemToObject(o, "headings", hs);
    cJSON_AddStringToObject(o, "text", "");
    cJSON_AddBoolToObject(o, "truncated", 0);
    return o && cJSON_GetObjectItemCaseSensitive(o, "truncated") ? o : (cJSON_Delete(o), NULL);
}

/* o's text = the first cut bytes of text, and its truncated flag. 0 or -1. */
static int set_text(cJSON *o, const char *text, size_t cut)
{
    char *piece = strndup(text, cut);
    cJSON *t = piece ? cJSON_CreateString(piece) : NULL;
    free(piece);
    if (!t)
        return -1;
    cJSON_ReplaceItemInObjectCaseSensitive(o, "text", t);
    cJSON_ReplaceItemInObjectCaseSensitive(o, "truncated", cJSON_CreateBool(text[cut] != '\0'));
    return 0;
}

/* A cut at or before i that does not split a UTF-8 character, at a word
   boundary when one lies in the second half. */
static size_t cut_at(const char *text, size_t i)
{
    const unsigned char *s = (const unsigned char *)text;
    while (i > 0 && (s[i] & 0xC0) == 0x80)
        i--;
    for (size_t j = i; s[i] && j > i / 2; j--)
        if (s[j - 1] == ' ' || s[j - 1] == '\n')
            return j - 1;
    return i;
}

/* Fill o's text with the longest prefix of text whose printed object fits in
   room bytes (binary search on the prefix length; cJSON does the escaping).
   Returns the prefix length, or (size_t)-1 when not even an empty text fits. */
static size_t fit_text(cJSON *o, const char *text, size_t room)
{
    size_t lo = 0, hi = strlen(text);
    if (set_text(o, text, 0) != 0 || printed_len(o) > room)
        return (size_t)-1;
    while (lo < hi) { /* invariant: the prefix lo fits */
        size_t mid = lo + (hi - lo + 1) / 2;
        if (set_text(o, text, mid) != 0)
            return (size_t)-1;
        if (printed_len(o) <= room)
            lo = mid;
        else
            hi = mid - 1;
    }
    size_t cut = cut_at(text, lo);
    return set_text(o, text, cut) == 0 ? cut : (size_t)-1;
}

int cl_context_load(PGconn *conn, int64_t project_id, size_t budget_bytes, cl_buf *out, char *err,
                    size_t errlen)
{
    char id[24];
    const char *p[] = {cl_db_id(id, project_id)};
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
    if (cl_db_check(conn, pr, err, errlen) != 0)
        return -1;
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
    cJSON *root = cJSON_CreateObject();
    cJSON *project = cJSON_Parse(PQgetvalue(pr, 0, 0));
    cJSON_AddItemToObject(root, "project", project ? project : cJSON_CreateObject());
    cJSON *arr = cJSON_AddArrayToObject(root, "documents");
    /* What the object takes so far: the project, the array's brackets, and
       room for the closing counts; each document adds itself and a comma. */
    size_t used = arr ? printed_len(root) + SUFFIX_RESERVE : SIZE_MAX;
    if (used == SIZE_MAX)
        rc = -1;
    for (int i = 0; rc == 0 && i < nd; i++) {
        size_t comma = included ? 1 : 0;
        if (used + comma >= budget_bytes) {
            truncated = 1;
            break;
        }
        size_t room = budget_bytes - used - comma;
        cJSON *o = doc_object(&docs[i]);
        size_t cut = o ? fit_text(o, docs[i].text, room) : (size_t)-1;
        if (!o || cut == (size_t)-1 || (cut < strlen(docs[i].text) && cut < MIN_DOC_TEXT)) {
            cJSON_Delete(o); /* no room for this document (or out of memory: then so says the result) */
            if (!o)
                rc = -1;
            truncated = 1;
            break;
        }
        used += comma + printed_len(o);
        cJSON_AddItemToArray(arr, o);
        included++;
        if (docs[i].text[cut]) {
            truncated = 1;
            break;
        }
    }
    if (rc == 0 && included < nd)
        truncated = 1;
    cJSON_AddNumberToObject(root, "documents_total", nd);
    cJSON_AddNumberToObject(root, "documents_included", included);
    cJSON_AddBoolToObject(root, "truncated", truncated);
    char *text = rc == 0 ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text || cl_buf_puts(out, text))
        rc = -1;
    cJSON_free(text);
    if (rc)
        snprintf(err, errlen, "out of memory");
    free(docs);
    PQclear(pr);
    PQclear(dr);
    return rc;
}
