/*
 * mock_facts.c — read the facts of a request out of the prompt text (see
 * mock_facts.h). The prompt scripts (the prompt scripts in scripts/prompts/) write labelled
 * lines ("Request: …", "- name: …", "Target channel: …", "Brief:" then
 * "- offer: …") and the business context as JSON; this file reads those, and
 * splits the user's own sentence into product, deal, deadline and action
 * with small word lists. English-first, byte-oriented: non-ASCII bytes are
 * kept as they are (currency signs, accents), never split.
 */
#define _GNU_SOURCE /* strcasestr */
#include "mock_facts.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_TOKENS 64
#define TOKEN_LEN 48

static void copy(char *dst, size_t len, const char *s, size_t n)
{
    if (!len)
        return;
    if (n >= len)
        n = len - 1;
    /* never cut inside a UTF-8 sequence */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (isspace((unsigned char)s[n - 1]) || s[n - 1] == '.' || s[n - 1] == ','))
        s[--n] = '\0';
    size_t i = 0;
    while (s[i] && isspace((unsigned char)s[i]))
        i++;
    memmove(s, s + i, strlen(s + i) + 1);
}

const char *mock_capitalize(const char *s, char *out, size_t len)
{
    snprintf(out, len, "%s", s ? s : "");
    if (out[0])
        out[0] = (char)toupper((unsigned char)out[0]);
    return out;
}

/* ---- the prompt's labelled lines ---------------------------------------- */

/* The value of a JSON string field "key":"…" in text (unescaped simply). */
static void json_field(const char *text, const char *key, char *out, size_t len)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    if (!text || out[0])
        return;
    const char *p = text;
    for (;;) { /* "key":"v" or, as Postgres writes JSON, "key" : "v" */
        p = strstr(p, pat);
        if (!p)
            return;
        p += strlen(pat);
        while (*p == ' ')
            p++;
        if (*p != ':')
            continue;
        p++;
        while (*p == ' ')
            p++;
        if (*p == '"')
            break;
    }
    p++;
    size_t n = 0;
    while (p[n] && p[n] != '"' && n + 1 < len) {
        if (p[n] == '\\' && p[n + 1])
            break;
        n++;
    }
    copy(out, len, p, n);
}

static int starts(const char *line, const char *prefix) { return strncmp(line, prefix, strlen(prefix)) == 0; }

static void read_lines(const char *prompt, mock_facts *f)
{
    enum { NONE, PROFILE, BRIEF } section = NONE;
    for (const char *p = prompt; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char line[800];
        copy(line, sizeof line, p, n);
        p = e ? e + 1 : p + n;
        if (starts(line, "Request: ")) {
            copy(f->request, sizeof f->request, line + 9, strlen(line + 9));
        } else if (starts(line, "Target channel: ")) {
            copy(f->channel, sizeof f->channel, line + 16, strlen(line + 16));
        } else if (strcmp(line, "Business profile:") == 0) {
            section = PROFILE;
        } else if (strcmp(line, "Brief:") == 0) {
            section = BRIEF;
        } else if (starts(line, "- ") && section != NONE) {
            char *colon = strstr(line, ": ");
            if (!colon)
                continue;
            *colon = '\0';
            const char *k = line + 2, *v = colon + 2;
            struct {
                const char *key;
                char *dst;
                size_t len;
            } const map[] = {
                {"name", f->business, sizeof f->business},
                {"category", f->category, sizeof f->category},
                {"location", f->location, sizeof f->location},
                {"audience", f->audience, sizeof f->audience},
                {"tone", f->tone, sizeof f->tone},
                {"offer", section == PROFILE ? f->sells : f->brief_offer,
                 section == PROFILE ? sizeof f->sells : sizeof f->brief_offer},
                {"cta", section == PROFILE ? f->profile_cta : f->brief_cta,
                 section == PROFILE ? sizeof f->profile_cta : sizeof f->brief_cta},
                {"title", f->title, sizeof f->title},
            };
            for (size_t i = 0; i < sizeof map / sizeof *map; i++)
                if (strcmp(k, map[i].key) == 0 && !map[i].dst[0])
                    copy(map[i].dst, map[i].len, v, strlen(v));
        } else if (section == NONE && (starts(line, "name: ") || starts(line, "category: ") ||
                                       starts(line, "location: ") || starts(line, "audience: ") ||
                                       starts(line, "offer: "))) {
            /* posts prompts list the profile as "key: value" */
            char *colon = strstr(line, ": ");
            *colon = '\0';
            char *dst = strcmp(line, "name") == 0       ? f->business
                        : strcmp(line, "category") == 0 ? f->category
                        : strcmp(line, "location") == 0 ? f->location
                        : strcmp(line, "audience") == 0 ? f->audience
                                                        : f->sells;
            size_t len = dst == f->business   ? sizeof f->business
                         : dst == f->category ? sizeof f->category
                         : dst == f->location ? sizeof f->location
                         : dst == f->audience ? sizeof f->audience
                                              : sizeof f->sells;
            if (!dst[0])
                copy(dst, len, colon + 2, strlen(colon + 2));
        } else if (line[0] == '\0') {
            /* a blank line ends a list only when a new header follows */
        } else if (!starts(line, "- ")) {
            section = NONE;
        }
    }
}

/* ---- the user's words ----------------------------------------------------- */

typedef struct token {
    char text[TOKEN_LEN];  /* as written, trailing punctuation removed */
    char lower[TOKEN_LEN]; /* ASCII lower case */
    int clause;            /* index of the clause it belongs to */
    enum { FREE_WORD, OFFER, WHEN, CHANNEL, ACTION, FILLER } role;
} token;

static int is_any(const char *w, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(w, *list) == 0)
            return 1;
    return 0;
}

static const char *const channel_words[] = {"instagram", "ig", "insta", "tiktok", "whatsapp", "reels", "reel",
                                            "status", "facebook", "fb", NULL};
static const char *const action_verbs[] = {"order", "book", "dm", "message", "call", "visit", "shop", "reply",
                                           "tap", "send", "come", "grab", "reserve", "text", "contact",
                                           "click", "pre-order", "preorder", "whatsapp", "swing", "pop", NULL};
static const char *const fillers[] = {"promo", "promos", "promotion", "promote", "promoting", "advert", "ad",
                                      "ads", "post", "posts", "video", "videos", "campaign", "content",
                                      "for", "our", "my", "the", "a", "an", "we", "i", "to", "on", "at",
                                      "with", "and", "of", "about", "make", "create", "please", "announce",
                                      "announcing", "us", "your", "all", "in", "is", "are", "get", "now",
                                      "new-ish", "some", "this", "that", "it", "its", "short", "quick", NULL};
static const char *const weekdays[] = {"monday",   "tuesday",  "wednesday", "thursday", "friday",
                                       "saturday", "sunday",   "mondays",   "tuesdays", "wednesdays",
                                       "thursdays", "fridays", "saturdays", "sundays",  NULL};
static const char *const time_words[] = {"today", "tonight", "tomorrow", "weekend", "weekends", NULL};
static const char *const time_lead[] = {"this", "next", "all", "every", "until", "till", "til", "through",
                                        "before", "ends", "ending", NULL};
static const char *const time_units[] = {"week", "weekend", "month", "morning", "afternoon", "evening", "day",
                                         "only", NULL};
static const char *const deal_words[] = {"sale", "deal", "deals", "discount", "discounts", "clearance",
                                         "giveaway", "offer", NULL};
static const char *const services[] = {"salon", "hair", "braid", "braids", "nail", "nails", "spa", "clinic",
                                       "class", "classes", "lesson", "lessons", "barber", "barbing", "gym",
                                       "fitness", "massage", "makeup", "lash", "lashes", "beauty", "yoga",
                                       "tutoring", "repair", "repairs", "cleaning", "photography", "training",
                                       "consultation", "session", "sessions", "appointment", NULL};

static int has_digit(const char *s)
{
    for (; *s; s++)
        if (isdigit((unsigned char)*s))
            return 1;
    return 0;
}

/* A price-like word: "₦5,000", "$10", "5000naira", "N2500". */
static int is_price(const char *w, const char *lower)
{
    if (!has_digit(w))
        return 0;
    unsigned char c = (unsigned char)w[0];
    return c == '$' || c >= 0x80 || strstr(lower, "naira") || strstr(lower, "ngn") ||
           (lower[0] == 'n' && isdigit((unsigned char)lower[1])) || strstr(lower, "k") == lower + strlen(lower) - 1;
}

/* Split the request into tokens, with clause numbers. */
static int tokenize(const char *s, token *t, int max)
{
    int n = 0, clause = 0;
    const char *p = s;
    while (*p && n < max) {
        while (*p && (isspace((unsigned char)*p) || *p == '"' || *p == '(' || *p == ')'))
            p++;
        if (!*p)
            break;
        /* clause breaks: , ; . ! ? (not inside numbers), dashes between spaces */
        if (strchr(",;.!?:", *p) || ((*p == '-') && p[1] == ' ')) {
            clause++;
            p++;
            continue;
        }
        if ((unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80 &&
            ((unsigned char)p[2] == 0x94 || (unsigned char)p[2] == 0x93)) { /* — – */
            clause++;
            p += 3;
            continue;
        }
        const char *start = p;
        while (*p && !isspace((unsigned char)*p) && *p != '"' && *p != '(' && *p != ')') {
            if (strchr(",;!?:", *p) && !(isdigit((unsigned char)p[1]) && p > start && isdigit((unsigned char)p[-1])))
                break;
            if (*p == '.' && !(isdigit((unsigned char)p[1]) && p > start && isdigit((unsigned char)p[-1])))
                break;
            p++;
        }
        size_t len = (size_t)(p - start);
        if (!len) {
            p++;
            continue;
        }
        token *k = &t[n++];
        memset(k, 0, sizeof *k);
        copy(k->text, sizeof k->text, start, len);
        for (size_t i = 0; k->text[i]; i++)
            k->lower[i] = (char)tolower((unsigned char)k->text[i]);
        k->clause = clause;
    }
    return n;
}

static void mark(token *t, int from, int to, int role)
{
    for (int i = from; i <= to; i++)
        t[i].role = role;
}

static void join(const token *t, int from, int to, char *out, size_t len)
{
    out[0] = '\0';
    for (int i = from; i <= to; i++) {
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%s%s", used ? " " : "", t[i].text);
    }
}

/* Find the deal: returns its first and last token, or -1. */
static int find_offer(token *t, int n, int *last)
{
    for (int i = 0; i < n; i++) {
        const char *w = t[i].lower;
        int end = -1, start = i;
        if (strchr(w, '%')) {
            end = i;
            if (i + 1 < n && (strcmp(t[i + 1].lower, "off") == 0 || strcmp(t[i + 1].lower, "discount") == 0))
                end = i + 1;
            if (i > 0 && (strcmp(t[i - 1].lower, "flat") == 0 || strcmp(t[i - 1].lower, "extra") == 0))
                start = i - 1;
            if (i > 1 && strcmp(t[i - 2].lower, "up") == 0 && strcmp(t[i - 1].lower, "to") == 0)
                start = i - 2;
        } else if (strcmp(w, "half-price") == 0 || strcmp(w, "half-off") == 0 || strcmp(w, "bogo") == 0) {
            end = i;
        } else if (strcmp(w, "half") == 0 && i + 1 < n &&
                   (strcmp(t[i + 1].lower, "price") == 0 || strcmp(t[i + 1].lower, "off") == 0)) {
            end = i + 1;
        } else if (strcmp(w, "buy") == 0) {
            for (int j = i + 1; j < n && j <= i + 6; j++)
                if (strcmp(t[j].lower, "free") == 0 || strcmp(t[j].lower, "half") == 0) {
                    end = strcmp(t[j].lower, "half") == 0 && j + 1 < n ? j + 1 : j;
                    break;
                }
        } else if (strcmp(w, "free") == 0 && i + 1 < n && t[i + 1].clause == t[i].clause &&
                   !is_any(t[i + 1].lower, fillers)) {
            end = i + 1;
        } else if (isdigit((unsigned char)w[0]) && i + 2 < n && strcmp(t[i + 1].lower, "for") == 0 &&
                   isdigit((unsigned char)t[i + 2].lower[0]) && !is_price(t[i + 2].text, t[i + 2].lower)) {
            end = i + 2; /* "2 for 1" */
        } else if (strcmp(w, "2-for-1") == 0 || strcmp(w, "two-for-one") == 0) {
            end = i;
        } else if (is_price(t[i].text, w)) {
            end = i;
            if (i + 1 < n && strcmp(t[i + 1].lower, "off") == 0)
                end = i + 1;
            else if (i > 0 && is_any(t[i - 1].lower, (const char *const[]){"for", "only", "just", "from", "at", NULL}))
                start = i - 1;
        } else if (is_any(w, deal_words)) {
            end = i;
        }
        if (end >= 0) {
            /* "10% off and free delivery": one deal */
            int j = end + 1;
            if (j + 1 < n && (strcmp(t[j].lower, "and") == 0 || strcmp(t[j].lower, "plus") == 0 ||
                              strcmp(t[j].lower, "+") == 0)) {
                int more_last;
                int more = find_offer(t + j + 1, n - j - 1, &more_last);
                if (more == 0)
                    end = j + 1 + more_last;
            }
            *last = end;
            return start;
        }
    }
    return -1;
}

static void find_when(token *t, int n, mock_facts *f)
{
    for (int i = 0; i < n; i++) {
        const char *w = t[i].lower;
        int end = -1, start = i;
        if (is_any(w, time_lead) && i + 1 < n &&
            (is_any(t[i + 1].lower, time_units) || is_any(t[i + 1].lower, weekdays) ||
             is_any(t[i + 1].lower, time_words) || has_digit(t[i + 1].lower))) {
            end = i + 1;
            if ((strcmp(w, "this") == 0 || strcmp(w, "next") == 0) && end + 1 < n &&
                strcmp(t[end + 1].lower, "only") == 0)
                end++;
        } else if (is_any(w, time_words) || is_any(w, weekdays)) {
            end = i;
            if (i > 0 && strcmp(t[i - 1].lower, "on") == 0)
                start = i - 1;
        }
        if (end >= 0 && t[start].role == FREE_WORD) {
            mark(t, start, end, WHEN);
            if (!f->when[0])
                join(t, start, end, f->when, sizeof f->when);
            i = end;
        }
    }
}

static void read_request(const char *request, mock_facts *f)
{
    char text[600];
    copy(text, sizeof text, request, strlen(request));
    /* "… (for tiktok)" added by the create form */
    char *paren = strstr(text, " (for ");
    if (paren)
        *paren = '\0';
    token t[MAX_TOKENS];
    int n = tokenize(text, t, MAX_TOKENS);

    /* the action the user named: a clause that starts with an action verb */
    for (int i = 0; i < n; i++) {
        int clause_start = i == 0 || t[i - 1].clause != t[i].clause;
        if (clause_start && is_any(t[i].lower, action_verbs) &&
            !(i + 1 < n && t[i + 1].clause == t[i].clause && strcmp(t[i].lower, "whatsapp") == 0 &&
              strcmp(t[i + 1].lower, "us") != 0)) {
            int j = i;
            while (j + 1 < n && t[j + 1].clause == t[i].clause)
                j++;
            if (j - i < 8) {
                mark(t, i, j, ACTION);
                char a[96];
                join(t, i, j, a, sizeof a);
                mock_capitalize(a, f->action, sizeof f->action);
            }
            i = j;
        }
    }
    int last, first = find_offer(t, n, &last);
    if (first >= 0 && t[first].role == FREE_WORD) {
        join(t, first, last, f->offer, sizeof f->offer);
        mark(t, first, last, OFFER);
    }
    find_when(t, n, f);
    for (int i = 0; i < n; i++) {
        if (t[i].role != FREE_WORD)
            continue;
        if (is_any(t[i].lower, channel_words)) {
            t[i].role = CHANNEL;
            if (i > 0 && t[i - 1].role == FREE_WORD &&
                is_any(t[i - 1].lower, (const char *const[]){"on", "via", "for", "through", "in", NULL}))
                t[i - 1].role = CHANNEL;
        }
    }
    /* the product: the longest run of remaining words in one clause, without
       fillers at its edges */
    int best = -1, best_len = 0;
    for (int i = 0; i < n;) {
        if (t[i].role != FREE_WORD) {
            i++;
            continue;
        }
        int j = i;
        while (j + 1 < n && t[j + 1].role == FREE_WORD && t[j + 1].clause == t[i].clause)
            j++;
        int a = i, b = j;
        while (a <= b && is_any(t[a].lower, fillers))
            a++;
        while (b >= a && is_any(t[b].lower, fillers))
            b--;
        if (b >= a && b - a + 1 > best_len) {
            best = a;
            best_len = b - a + 1;
        }
        i = j + 1;
    }
    if (best >= 0) {
        if (best_len > 6)
            best_len = 6;
        join(t, best, best + best_len - 1, f->product, sizeof f->product);
        /* "Birthday cakes" at the start of the sentence reads "birthday
           cakes" mid-sentence; a capital elsewhere is the user's (a name) */
        if (best == 0 && isupper((unsigned char)f->product[0]) && islower((unsigned char)f->product[1]))
            f->product[0] = (char)tolower((unsigned char)f->product[0]);
    }
}

static void detect_service(mock_facts *f)
{
    const char *fields[] = {f->category, f->sells, f->product, f->request, f->title};
    for (size_t i = 0; i < sizeof fields / sizeof *fields && !f->service; i++)
        for (const char *const *s = services; *s && !f->service; s++) {
            const char *at = strcasestr(fields[i], *s);
            size_t n = strlen(*s);
            f->service = at && (at == fields[i] || !isalpha((unsigned char)at[-1])) && !isalpha((unsigned char)at[n]);
        }
}

void mock_facts_read(const char *system, const char *prompt, mock_facts *f)
{
    memset(f, 0, sizeof *f);
    read_lines(prompt, f);
    /* business context JSON (draft, regenerate, chat prompts) */
    json_field(prompt, "business_name", f->business, sizeof f->business);
    json_field(prompt, "name", f->business, sizeof f->business);
    json_field(prompt, "city", f->location, sizeof f->location);
    json_field(prompt, "category", f->category, sizeof f->category);
    json_field(prompt, "primary_offer", f->sells, sizeof f->sells);
    json_field(prompt, "target_audience", f->audience, sizeof f->audience);
    json_field(prompt, "cta", f->profile_cta, sizeof f->profile_cta);
    /* chat: "You are ClipLoop's promo assistant for <name>, …" */
    const char *who = system ? strstr(system, "assistant for ") : NULL;
    if (who && !f->business[0]) {
        who += strlen("assistant for ");
        const char *e = strstr(who, ", a ");
        copy(f->business, sizeof f->business, who, e ? (size_t)(e - who) : strcspn(who, ",\n"));
    }
    if (!f->request[0] && !f->title[0] && prompt) {
        /* chat: the message is the prompt up to the business context */
        const char *e = strstr(prompt, "\n\n(Business context:");
        copy(f->request, sizeof f->request, prompt, e ? (size_t)(e - prompt) : strlen(prompt));
    }
    if (f->request[0])
        read_request(f->request, f);
    else if (f->brief_offer[0] || f->title[0]) {
        /* a brief: its offer line is the deal in the user's (edited) words */
        mock_facts from_brief;
        memset(&from_brief, 0, sizeof from_brief);
        read_request(f->brief_offer[0] ? f->brief_offer : f->title, &from_brief);
        snprintf(f->product, sizeof f->product, "%s", from_brief.product);
        snprintf(f->offer, sizeof f->offer, "%s", from_brief.offer);
        snprintf(f->when, sizeof f->when, "%s", from_brief.when);
        if (!f->product[0] && f->title[0]) {
            memset(&from_brief, 0, sizeof from_brief);
            read_request(f->title, &from_brief);
            snprintf(f->product, sizeof f->product, "%s", from_brief.product);
        }
    }
    if (f->brief_cta[0])
        copy(f->action, sizeof f->action, f->brief_cta, strlen(f->brief_cta));
    trim(f->product);
    detect_service(f);
}

void mock_deal(const mock_facts *f, int with_when, char *out, size_t len)
{
    const char *product = f->product[0] ? f->product : f->sells[0] ? f->sells : "";
    const char *o = f->offer;
    char lower[128];
    size_t i = 0;
    for (; o[i] && i + 1 < sizeof lower; i++)
        lower[i] = (char)tolower((unsigned char)o[i]);
    lower[i] = '\0';
    if (!o[0])
        snprintf(out, len, "%s", product);
    else if (!product[0])
        snprintf(out, len, "%s", o);
    else if (strncmp(lower, "free ", 5) == 0) {
        /* mid-sentence: "meat pies with free delivery" */
        snprintf(out, len, "%s with %s", product, o);
        char *at = out + strlen(product) + 6;
        if (islower((unsigned char)at[1]))
            at[0] = (char)tolower((unsigned char)at[0]);
    }
    else if (strncmp(lower, "buy ", 4) == 0 || strcmp(lower, "bogo") == 0 || strstr(lower, " for "))
        snprintf(out, len, "%s on %s", o, product);
    else if (is_any(lower, deal_words) || strncmp(lower, "for ", 4) == 0 || strncmp(lower, "only ", 5) == 0 ||
             strncmp(lower, "just ", 5) == 0 || strncmp(lower, "from ", 5) == 0 || strncmp(lower, "at ", 3) == 0)
        snprintf(out, len, "%s %s", product, o);
    else
        snprintf(out, len, "%s %s", o, product);
    if (with_when && f->when[0] && strlen(out) + strlen(f->when) + 2 < len) {
        size_t n = strlen(out);
        snprintf(out + n, len - n, "%s%s", n ? " " : "", f->when);
    }
}

void mock_cta(const mock_facts *f, const char *channel, char *out, size_t len)
{
    if (f->action[0]) {
        snprintf(out, len, "%s", f->action);
        return;
    }
    if (f->profile_cta[0]) {
        snprintf(out, len, "%s", f->profile_cta);
        return;
    }
    const char *verb = f->service ? "book" : "order";
    if (channel && strcmp(channel, "whatsapp") == 0)
        snprintf(out, len, f->service ? "Message us to book" : "Reply ORDER to reserve yours");
    else if (channel && strcmp(channel, "tiktok") == 0)
        snprintf(out, len, "Tap the link to %s", verb);
    else
        snprintf(out, len, "DM us to %s", verb);
}
