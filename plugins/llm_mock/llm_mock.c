/*
 * llm_mock.c — a deterministic, offline LLM provider (capability
 * llm_provider, id "mock") for tests, demos and MOCK_MODE.
 *
 * The answer is a pure function of (purpose, system, prompt, messages_json):
 * those inputs are hashed with FNV-1a, the hash seeds a small PRNG
 * (splitmix64), and the PRNG picks templates and content words taken from
 * the prompt, so answers look related to what was asked. Every JSON answer
 * also carries "mock_seed" (the hash in hex), so different inputs always give
 * different bytes. Same input, same bytes — on any machine, any thread.
 *
 * Answer shapes by purpose (json_output 1 unless noted):
 *   brief        {"title","channel","tone","duration_seconds","style","cta",
 *                 "caption_hint","audience","offer"}
 *   promo_draft  {"hook","script":[string…],"voiceover":[string…],"caption","cta","caption_hint",
 *   regenerate    "hashtags":[…],"variants":{"instagram":{…},"tiktok":{…},"whatsapp":{…}}}
 *   chat         {"reply"} — plain text when json_output is 0
 *   posts        {"posts":[{"angle","day","channel","title","hook","script":[…],"caption",
 *                 "cta","caption_hint","hashtags":[…],"variants":{…}}…]} — one angle
 *                 per post (offer, product, social proof, behind the scenes, last call)
 *   iteration    {"summary","hooks":[{item_id,from,hook,why}…],"angles":[{item_id,from,angle,hook}…],
 *                 "recommendations":[…]} from the scored posts the prompt lists
 *   other        {"text"} — plain text when json_output is 0
 *
 * Configuration (section LLM_MOCK):
 *   LLM_MOCK_FAIL=auth|rate_limit|upstream|timeout  every call fails with
 *       CL_EAUTH (401) / CL_ERATELIMIT (429, retry after 1000 ms) /
 *       CL_EUPSTREAM (502) / CL_ETIMEOUT, err filled — for error-path tests.
 *   LLM_MOCK_DELAY_MS=N  wait N ms before answering (polls cancellation
 *       every 10 ms) — for progress and cancellation tests.
 *
 * Answers are built as cJSON trees and printed once (no JSON written by
 * hand). The plugin keeps no state of its own, so calls may run concurrently.
 */
#define _GNU_SOURCE /* strcasestr */
#include "cliploop_plugin.h"
#include "mock_facts.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ------------------------------------------------------------------------- */
/* Text helpers (answers are built as cJSON trees and printed once)           */
/* ------------------------------------------------------------------------- */

/* snprintf that may cut: the mock's copy is built from user text of any length. */
static void fmt(char *out, size_t len, const char *f, ...) CL_PRINTF(3, 4);
static void fmt(char *out, size_t len, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(out, len, f, ap);
    va_end(ap);
}

/* Append the string s to the array arr. */
static void add_str(cJSON *arr, const char *s) { cJSON_AddItemToArray(arr, cJSON_CreateString(s)); }

/* ------------------------------------------------------------------------- */
/* Determinism: hash, PRNG, words from the prompt                            */
/* ------------------------------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const char *s)
{
    if (!s) {
        h ^= 0xffu; /* NULL and "" hash differently */
        return h * 0x100000001b3ull;
    }
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return (h ^ 0x1f) * 0x100000001b3ull; /* separator: ("ab","c") != ("a","bc") */
}

static uint64_t next_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

#define MAX_WORDS 48
#define WORD_LEN 24

typedef struct gen {
    uint64_t rng;
    char seed_hex[17];
    char words[MAX_WORDS][WORD_LEN];
    int n_words;
    const char *prompt;
    mock_facts facts;
} gen;

static const char *const stopwords[] = {
    "the", "and", "for", "with", "that", "this", "from", "your", "you", "our", "are", "was",
    "were", "will", "would", "should", "could", "have", "has", "had", "not", "but", "all",
    "any", "can", "its", "into", "about", "than", "then", "them", "they", "their", "there",
    "what", "when", "where", "which", "who", "why", "how", "also", "just", "only", "more",
    "most", "some", "such", "very", "each", "every", "other", "over", "under", "been", "being",
    "does", "did", "doing", "make", "made", "like", "want", "need", "please", "write", "create",
    "generate", "return", "returns", "json", "object", "objects", "key", "keys", "field",
    "fields", "string", "strings", "array", "arrays", "value", "values", "null", "true", "false",
    "format", "output", "answer", "respond", "response", "include", "including", "using", "use",
    "one", "two", "three", "four", "five", "must", "may", "might", "these", "those", "here",
    "user", "assistant", "system", "prompt", "text", "short", "long", "based", "given", "following",
    "exactly", "without", "within", "per", "via", "etc", "let", "get", "got", "out",
    /* words every product prompt carries, which make dull picks */
    "off", "promo", "promote", "promotion", "instagram", "tiktok", "whatsapp", "video", "videos",
    "post", "posts", "caption", "captions", "hashtag", "hashtags", "brief", "draft", "channel",
    "channels", "content", "audience", "tone", "style", "script", "hook", "cta", "plan",
};

static int is_stopword(const char *w)
{
    for (size_t i = 0; i < sizeof stopwords / sizeof *stopwords; i++)
        if (strcmp(w, stopwords[i]) == 0)
            return 1;
    return 0;
}

static void collect_words(gen *g, const char *s)
{
    while (s && *s && g->n_words < MAX_WORDS) {
        while (*s && !isalnum((unsigned char)*s))
            s++;
        const char *start = s;
        while (*s && isalnum((unsigned char)*s))
            s++;
        size_t n = (size_t)(s - start);
        if (n < 4 || n >= WORD_LEN)
            continue;
        char w[WORD_LEN];
        int digits = 1;
        for (size_t i = 0; i < n; i++) {
            w[i] = (char)tolower((unsigned char)start[i]);
            digits &= isdigit((unsigned char)start[i]) != 0;
        }
        w[n] = '\0';
        if (digits || is_stopword(w))
            continue;
        int dup = 0;
        for (int i = 0; i < g->n_words && !dup; i++)
            dup = strcmp(g->words[i], w) == 0;
        if (!dup)
            memcpy(g->words[g->n_words++], w, n + 1);
    }
}

static const char *const fallback_words[] = {"launch", "offer", "weekend", "studio",
                                             "fresh",  "local", "favourite", "collection"};

static uint64_t rnd(gen *g, uint64_t n) { return n ? next_rand(&g->rng) % n : 0; }

#define PICK(g, arr) ((arr)[rnd((g), sizeof(arr) / sizeof *(arr))])

static const char *word(gen *g)
{
    if (!g->n_words)
        return PICK(g, fallback_words);
    return g->words[rnd(g, (uint64_t)g->n_words)];
}

/* The channel the prompt mentions first, else a pick. */
static const char *channel_of(gen *g)
{
    static const char *const chans[] = {"instagram", "tiktok", "whatsapp"};
    const char *best = NULL, *best_at = NULL;
    for (size_t i = 0; i < 3; i++) {
        const char *at = g->prompt ? strcasestr(g->prompt, chans[i]) : NULL;
        if (at && (!best_at || at < best_at)) {
            best_at = at;
            best = chans[i];
        }
    }
    return best ? best : PICK(g, chans);
}

/* ------------------------------------------------------------------------- */
/* Answer shapes                                                             */
/* ------------------------------------------------------------------------- */

static const char *const tones[] = {"warm", "playful", "confident", "urgent", "friendly", "premium"};
static const char *const styles[] = {"bold captions over close-up product shots",
                                     "clean and minimal with soft light",
                                     "fast cuts with kinetic text", "handheld behind-the-scenes"};

/* Up to n distinct #words from the prompt, appended to tags. */
static void hashtags_inner(cJSON *tags, gen *g, int n)
{
    char used[8][WORD_LEN];
    int k = 0;
    for (int i = 0; i < n * 3 && k < n && k < 8; i++) {
        const char *w = word(g);
        int dup = 0;
        for (int j = 0; j < k && !dup; j++)
            dup = strcmp(used[j], w) == 0;
        if (dup)
            continue;
        snprintf(used[k], WORD_LEN, "%s", w);
        char tag[WORD_LEN + 2];
        fmt(tag, sizeof tag, "#%s", w);
        add_str(tags, tag);
        k++;
    }
}

/* The facts of this request (mock_facts.h), read once per call. */
static const mock_facts *facts_of(gen *g) { return &g->facts; }

static const char *business_or(const mock_facts *f, const char *fallback)
{
    return f->business[0] ? f->business : fallback;
}

static void answer_brief(cJSON *o, gen *g)
{
    const mock_facts *f = facts_of(g);
    const char *channel = channel_of(g);
    char deal[256], t[320], c[320];
    mock_deal(f, 0, deal, sizeof deal);
    /* The title comes from the offer, so outputs can be told apart. */
    if (deal[0])
        fmt(t, sizeof t, "%s", mock_capitalize(deal, c, sizeof c));
    else
        fmt(t, sizeof t, "%s this week", business_or(f, "Our promo"));
    cJSON_AddStringToObject(o, "title", t);
    cJSON_AddStringToObject(o, "channel", channel);
    cJSON_AddStringToObject(o, "tone", f->tone[0] ? f->tone : PICK(g, tones));
    cJSON_AddNumberToObject(o, "duration_seconds", strcmp(channel, "instagram") == 0 ? 20 : 15);
    if (f->product[0])
        fmt(t, sizeof t, "Phone-shot close-ups of the %s, the offer in bold on-screen text", f->product);
    else
        fmt(t, sizeof t, "%s", PICK(g, styles));
    cJSON_AddStringToObject(o, "style", t);
    mock_cta(f, channel, t, sizeof t);
    cJSON_AddStringToObject(o, "cta", t);
    mock_deal(f, 1, deal, sizeof deal);
    if (f->offer[0])
        fmt(t, sizeof t, "Lead with the deal (%s), then say how to get it", deal);
    else if (deal[0])
        fmt(t, sizeof t, "Lead with the %s, then say how to get it", deal);
    else
        fmt(t, sizeof t, "Lead with what is new, then say how to get it");
    cJSON_AddStringToObject(o, "caption_hint", t);
    if (f->audience[0])
        fmt(t, sizeof t, "%s", f->audience);
    else if (f->location[0] && deal[0])
        fmt(t, sizeof t, "People in %s looking for %s", f->location, f->product[0] ? f->product : deal);
    else
        fmt(t, sizeof t, "Customers of %s", business_or(f, "the business"));
    cJSON_AddStringToObject(o, "audience", t);
    /* The offer is the user's deal, never one the mock made up. */
    cJSON_AddStringToObject(o, "offer", f->offer[0] ? deal : "");
}

/* The opening line for a channel: the deal first. */
static void hook_for(gen *g, const char *channel, char *out, size_t len)
{
    const mock_facts *f = facts_of(g);
    char deal[256], c[256];
    mock_deal(f, 1, deal, sizeof deal);
    if (!deal[0])
        fmt(deal, sizeof deal, "%s", f->title[0] ? f->title : business_or(f, "Something new"));
    mock_capitalize(deal, c, sizeof c);
    if (strcmp(channel, "tiktok") == 0)
        fmt(out, len, "POV: %s", c);
    else if (strcmp(channel, "whatsapp") == 0)
        fmt(out, len, "%s!", c);
    else if (f->business[0] && rnd(g, 2))
        fmt(out, len, "%s at %s.", c, f->business);
    else
        fmt(out, len, "%s.", c);
}

static void caption_for(gen *g, const char *channel, const char *cta, char *out, size_t len)
{
    const mock_facts *f = facts_of(g);
    char deal[256], c[256], where[160] = "";
    mock_deal(f, 1, deal, sizeof deal);
    if (!deal[0])
        fmt(deal, sizeof deal, "%s", f->title[0] ? f->title : "Something new");
    mock_capitalize(deal, c, sizeof c);
    if (f->business[0])
        fmt(where, sizeof where, " at %s%s%s", f->business, f->location[0] ? " in " : "", f->location);
    if (strcmp(channel, "whatsapp") == 0) {
        if (f->business[0])
            fmt(out, len, "Hi! %s here. %s. %s.", f->business, c, cta);
        else
            fmt(out, len, "Hi! %s. %s.", c, cta);
    } else if (strcmp(channel, "tiktok") == 0) {
        fmt(out, len, "%s%s. %s.", c, where, cta);
    } else {
        fmt(out, len, "%s%s. %s.", c, where, cta);
    }
}

/* Hashtags from the business, the place and the product: ["#BolaBakes","#Lagos","#birthdaycakes"]. */
static cJSON *grounded_tags(gen *g, int n)
{
    const mock_facts *f = facts_of(g);
    const char *sources[] = {f->business, f->location, f->product, f->category, f->sells};
    char tags[6][64];
    int k = 0;
    for (size_t i = 0; i < sizeof sources / sizeof *sources && k < n && k < 6; i++) {
        char tag[64] = "#";
        size_t t = 1;
        for (const char *p = sources[i]; *p && *p != ',' && t + 1 < sizeof tag; p++)
            if (isalnum((unsigned char)*p))
                tag[t++] = *p;
        tag[t] = '\0';
        if (t < 3)
            continue;
        int dup = 0;
        for (int j = 0; j < k && !dup; j++)
            dup = strcasecmp(tags[j], tag) == 0;
        if (!dup)
            snprintf(tags[k++], sizeof tags[0], "%s", tag);
    }
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < k; i++)
        add_str(arr, tags[i]);
    if (k == 0)
        hashtags_inner(arr, g, n);
    return arr;
}

/* A channel's variant {"caption","cta","hashtags","hook"} under variants[channel]. */
static void variant(cJSON *variants, gen *g, const char *channel, const char *cta)
{
    char t[512];
    cJSON *v = cJSON_AddObjectToObject(variants, channel);
    caption_for(g, channel, cta, t, sizeof t);
    cJSON_AddStringToObject(v, "caption", t);
    cJSON_AddStringToObject(v, "cta", cta);
    cJSON_AddItemToObject(v, "hashtags", strcmp(channel, "whatsapp") == 0
                                             ? cJSON_CreateArray()
                                             : grounded_tags(g, strcmp(channel, "tiktok") == 0 ? 3 : 5));
    hook_for(g, channel, t, sizeof t);
    cJSON_AddStringToObject(v, "hook", t);
}

/* 1 when s names a price or a percentage: "20%", "$12", "N5,000", "9.99 EUR". */
static int names_price(const char *s)
{
    for (const char *p = s; p && *p; p++) {
        if (*p == '%' && p > s && isdigit((unsigned char)p[-1]))
            return 1;
        if ((*p == '$' || !strncmp(p, "\xe2\x82\xac", 3) || !strncmp(p, "\xc2\xa3", 2) ||
             !strncmp(p, "\xe2\x82\xa6", 3)) &&
            strpbrk(p, "0123456789"))
            return 1;
    }
    return 0;
}

static int names_any(const char *s, const char *const *words)
{
    char low[1024];
    size_t n = 0;
    for (; s && s[n] && n < sizeof low - 1; n++)
        low[n] = (char)tolower((unsigned char)s[n]);
    low[n] = '\0';
    for (; *words; words++)
        if (strstr(low, *words))
            return 1;
    return 0;
}

/* The video template, as a model would pick it from the prompt: a quote or
   review -> quote; a % or a price -> offer; kept images -> showcase; a list
   of reasons or benefits -> three_reasons. Only names the prompt's
   "Templates allowed:" line lists (all four when it has none). */
static const char *pick_template(const mock_facts *f, const char *prompt, const char *hook)
{
    static const char *const quote_words[] = {"review", "testimonial", "quote", "customers say", "said", "stars", NULL};
    static const char *const list_words[] = {"reasons", "benefits", "why ", "tips", "steps", "ways to", NULL};
    const char *line = prompt ? strstr(prompt, "Templates allowed:") : NULL;
    char allowed[256] = "showcase, offer, three_reasons, quote";
    if (line)
        sscanf(line, "Templates allowed: %255[^\n]", allowed);
    const char *img = prompt ? strstr(prompt, "Images the owner kept for videos:") : NULL;
    int images = img ? atoi(img + strlen("Images the owner kept for videos:")) : 0;
    const char *want[8];
    int n = 0;
    if (names_any(f->request, quote_words) || names_any(f->title, quote_words) || names_any(f->brief_offer, quote_words))
        want[n++] = "quote";
    if (names_price(f->offer) || names_price(f->brief_offer) || names_price(f->request) || names_price(hook))
        want[n++] = "offer";
    if (images > 0)
        want[n++] = "showcase";
    if (names_any(f->request, list_words) || names_any(f->title, list_words))
        want[n++] = "three_reasons";
    want[n++] = "three_reasons";
    want[n++] = "showcase";
    want[n++] = "quote";
    want[n++] = "offer";
    for (int i = 0; i < n; i++)
        if (strstr(allowed, want[i]))
            return want[i];
    return "three_reasons";
}

static void answer_draft(cJSON *o, gen *g)
{
    const mock_facts *f = facts_of(g);
    const char *channel = f->channel[0] ? f->channel : channel_of(g);
    char hook[256], t[512], cta[160];
    mock_cta(f, channel, cta, sizeof cta);
    hook_for(g, channel, hook, sizeof hook);
    cJSON_AddStringToObject(o, "hook", hook);
    cJSON *script = cJSON_AddArrayToObject(o, "script");
    add_str(script, hook);
    if (f->business[0] && (f->product[0] || f->sells[0]))
        fmt(t, sizeof t, "%s: %s%s%s.", f->business, f->product[0] ? f->product : f->sells,
                 f->location[0] ? ", in " : "", f->location);
    else
        fmt(t, sizeof t, "Show the %s up close.", f->product[0] ? f->product : "product");
    add_str(script, t);
    if (f->when[0])
        fmt(t, sizeof t, "Only %s. Don't miss it.", f->when);
    else if (f->audience[0])
        fmt(t, sizeof t, "Made for %c%s.", tolower((unsigned char)f->audience[0]), f->audience + 1);
    else
        fmt(t, sizeof t, "Come and see for yourself.");
    add_str(script, t);
    add_str(script, cta);
    /* voiceover: the lines a narrator says (no stage directions), from the same facts */
    cJSON *voice = cJSON_AddArrayToObject(o, "voiceover");
    add_str(voice, hook);
    if (f->business[0] && (f->product[0] || f->sells[0])) {
        fmt(t, sizeof t, "%s: %s%s%s.", f->business, f->product[0] ? f->product : f->sells,
            f->location[0] ? ", in " : "", f->location);
        add_str(voice, t);
    }
    if (f->when[0])
        fmt(t, sizeof t, "Only %s. Don't miss it.", f->when);
    else if (f->audience[0])
        fmt(t, sizeof t, "Made for %c%s.", tolower((unsigned char)f->audience[0]), f->audience + 1);
    else
        t[0] = '\0';
    if (t[0])
        add_str(voice, t);
    fmt(t, sizeof t, "%s.", cta);
    add_str(voice, t);
    caption_for(g, channel, cta, t, sizeof t);
    cJSON_AddStringToObject(o, "caption", t);
    cJSON_AddStringToObject(o, "cta", cta);
    cJSON_AddStringToObject(o, "caption_hint", "Keep the deal in the first line and the way to order in the last");
    cJSON_AddItemToObject(o, "hashtags", grounded_tags(g, 4));
    cJSON *variants = cJSON_AddObjectToObject(o, "variants");
    variant(variants, g, "instagram", cta);
    variant(variants, g, "tiktok", cta);
    variant(variants, g, "whatsapp", cta);
    cJSON_AddStringToObject(o, "template", pick_template(f, g->prompt, hook));
}

static void reply_text(gen *g, char *out, size_t len)
{
    const mock_facts *f = facts_of(g);
    char deal[256], cta[160], c[256];
    mock_deal(f, 1, deal, sizeof deal);
    const char *channel = f->channel[0] ? f->channel : channel_of(g);
    mock_cta(f, channel, cta, sizeof cta);
    const char *name = business_or(f, "your business");
    if (f->offer[0] || f->product[0]) {
        fmt(out, len,
                 "For %s I would open with \"%s\" on screen in the first two seconds, show the %s up close, "
                 "and close with \"%s\". Keep it to about 15 seconds for %s. When it reads right, switch to "
                 "Video and I will make it.",
                 name, mock_capitalize(deal, c, sizeof c), f->product[0] ? f->product : "product", cta, channel);
    } else {
        const char *what = f->sells[0] ? f->sells : f->category[0] ? f->category : "your best-seller";
        fmt(out, len,
                 "Three ideas for %s this week: 1) %s up close with the price on screen; 2) a regular customer "
                 "saying why they come back; 3) behind the scenes while you get ready for the day. Open each "
                 "with the offer in the first two seconds and end with \"%s\".",
                 name, what, cta);
    }
}

static void answer_chat(cJSON *o, gen *g)
{
    char t[1024];
    reply_text(g, t, sizeof t);
    cJSON_AddStringToObject(o, "reply", t);
}

/* "7 posts" in the prompt sets the count (1..14), default 5. */
static int post_count(const char *prompt)
{
    for (const char *p = prompt; p && (p = strcasestr(p, "post")) != NULL; p++) {
        const char *q = p;
        while (q > prompt && q[-1] == ' ')
            q--;
        const char *e = q;
        while (q > prompt && isdigit((unsigned char)q[-1]))
            q--;
        if (q < e) {
            int n = atoi(q);
            if (n >= 1 && n <= 14)
                return n;
        }
    }
    return 5;
}

/* The channels the posts prompt lists ("Channels to use: a, b"), else all three. */
static int post_channels(const char *prompt, char chans[3][16])
{
    static const char *const all[] = {"instagram", "tiktok", "whatsapp"};
    const char *line = prompt ? strstr(prompt, "Channels to use:") : NULL;
    const char *end = line ? strchr(line, '\n') : NULL;
    int n = 0;
    for (size_t i = 0; i < 3; i++) {
        const char *at = line ? strstr(line, all[i]) : NULL;
        if (!line || (at && (!end || at < end)))
            snprintf(chans[n++], 16, "%s", all[i]);
    }
    if (!n)
        for (n = 0; n < 3; n++)
            snprintf(chans[n], 16, "%s", all[n]);
    return n;
}

/* A week of posts about the business, each from a different angle:
   the offer, the product, the people, the making of, the last call. */
static const char *const post_angles[] = {"offer", "product", "social_proof", "behind_the_scenes", "last_call"};

typedef struct post_copy {
    char title[256], hook[256], caption[512], beat2[256], beat3[256];
} post_copy;

/* Post i's copy for one channel, from the facts (no invented details). */
static void post_copy_for(gen *g, int i, const char *channel, const char *cta, post_copy *pc)
{
    const mock_facts *f = facts_of(g);
    const char *name = business_or(f, "us");
    const char *what = f->product[0] ? f->product : f->sells[0] ? f->sells : f->category[0] ? f->category : "what we make";
    char deal[256], c[256];
    mock_deal(f, 1, deal, sizeof deal);
    const char *focus = deal[0] ? deal : what;
    switch (i % 5) {
    case 0:
        mock_capitalize(focus, pc->title, sizeof pc->title);
        hook_for(g, channel, pc->hook, sizeof pc->hook);
        caption_for(g, channel, cta, pc->caption, sizeof pc->caption);
        fmt(pc->beat2, sizeof pc->beat2, "Show the %s up close, the offer on screen.", what);
        fmt(pc->beat3, sizeof pc->beat3, "%s", f->when[0] ? "Only while it lasts." : "Made fresh for you.");
        break;
    case 1:
        fmt(pc->title, sizeof pc->title, "Up close: %s", what);
        fmt(pc->hook, sizeof pc->hook, "%s at %s, up close.", mock_capitalize(what, c, sizeof c), name);
        fmt(pc->caption, sizeof pc->caption, "%s, the way %s makes it%s%s. %s.", mock_capitalize(what, c, sizeof c), name,
            f->location[0] ? " in " : "", f->location, cta);
        fmt(pc->beat2, sizeof pc->beat2, "Slow close-up: %s.", what);
        fmt(pc->beat3, sizeof pc->beat3, "The details that make %s worth it.", what);
        break;
    case 2:
        fmt(pc->title, sizeof pc->title, "Why customers choose %s", name);
        fmt(pc->hook, sizeof pc->hook, "Ask our customers why they pick %s.", name);
        fmt(pc->caption, sizeof pc->caption, "Our customers say it better than we can. Tell us yours. %s.", cta);
        fmt(pc->beat2, sizeof pc->beat2, "A regular says what they love about %s.", what);
        if (f->audience[0])
            fmt(pc->beat3, sizeof pc->beat3, "Loved by %c%s.", tolower((unsigned char)f->audience[0]), f->audience + 1);
        else
            fmt(pc->beat3, sizeof pc->beat3, "They keep coming back to %s.", name);
        break;
    case 3:
        fmt(pc->title, sizeof pc->title, "Behind the scenes at %s", name);
        fmt(pc->hook, sizeof pc->hook, "Before we open: getting the %s ready.", what);
        fmt(pc->caption, sizeof pc->caption, "A look behind the counter at %s. %s.", name, cta);
        fmt(pc->beat2, sizeof pc->beat2, "Hands at work on the %s.", what);
        fmt(pc->beat3, sizeof pc->beat3, "Ready for you%s%s.", f->location[0] ? " in " : "", f->location);
        break;
    default:
        fmt(pc->title, sizeof pc->title, "Last call: %s", focus);
        fmt(pc->hook, sizeof pc->hook, "Last call for %s.", focus);
        fmt(pc->caption, sizeof pc->caption, "Last call for %s at %s. %s.", focus, name, cta);
        fmt(pc->beat2, sizeof pc->beat2, "%s, one more time.", mock_capitalize(focus, c, sizeof c));
        if (f->when[0])
            fmt(pc->beat3, sizeof pc->beat3, "Ends %s.", f->when);
        else
            fmt(pc->beat3, sizeof pc->beat3, "Don't wait for next week.");
        break;
    }
    if (strcmp(channel, "whatsapp") == 0 && strncmp(pc->caption, "Hi!", 3) != 0) {
        char t[512];
        fmt(t, sizeof t, "Hi! %s", pc->caption);
        snprintf(pc->caption, sizeof pc->caption, "%s", t);
    }
}

/* posts: {"posts":[{"angle","day","channel","title","hook","script",
   "caption","cta","caption_hint","hashtags","variants":{…}}…]} */
static void answer_posts(cJSON *o, gen *g)
{
    static const char *const all[] = {"instagram", "tiktok", "whatsapp"};
    const mock_facts *f = facts_of(g);
    int n = post_count(g->prompt);
    char chans[3][16];
    int nch = post_channels(g->prompt, chans);
    char cta[160];
    post_copy pc;
    cJSON *posts = cJSON_AddArrayToObject(o, "posts");
    for (int i = 0; i < n; i++) {
        const char *channel = chans[i % nch];
        mock_cta(f, channel, cta, sizeof cta);
        post_copy_for(g, i, channel, cta, &pc);
        cJSON *post = cJSON_CreateObject();
        cJSON_AddItemToArray(posts, post);
        cJSON_AddStringToObject(post, "angle", post_angles[i % 5]);
        cJSON_AddNumberToObject(post, "day", i + 1);
        cJSON_AddStringToObject(post, "channel", channel);
        cJSON_AddStringToObject(post, "title", pc.title);
        cJSON_AddStringToObject(post, "hook", pc.hook);
        const char *beats[] = {pc.hook, pc.beat2, pc.beat3, cta};
        cJSON_AddItemToObject(post, "script", cJSON_CreateStringArray(beats, 4));
        cJSON_AddStringToObject(post, "caption", pc.caption);
        cJSON_AddStringToObject(post, "cta", cta);
        cJSON_AddStringToObject(post, "caption_hint", "Keep the angle in the first line and the way to order in the last");
        cJSON_AddItemToObject(post, "hashtags", grounded_tags(g, 4));
        cJSON *variants = cJSON_AddObjectToObject(post, "variants");
        for (int k = 0; k < 3; k++) {
            char vcta[160];
            post_copy vc;
            mock_cta(f, all[k], vcta, sizeof vcta);
            post_copy_for(g, i, all[k], vcta, &vc);
            cJSON *v = cJSON_AddObjectToObject(variants, all[k]);
            cJSON_AddStringToObject(v, "caption", vc.caption);
            cJSON_AddStringToObject(v, "cta", vcta);
            cJSON_AddItemToObject(v, "hashtags", strcmp(all[k], "whatsapp") == 0
                                                     ? cJSON_CreateArray()
                                                     : grounded_tags(g, strcmp(all[k], "tiktok") == 0 ? 3 : 5));
            cJSON_AddStringToObject(v, "hook", vc.hook);
        }
    }
}

/*
 * iteration: grounded in the scored posts the prompt lists (iteration.lua):
 *   [item N] class=C score=S clicks=K signups=G conversions=V revenue=R views=W ctr=T channel=X position=P
 *     hook: …
 *     angle: …
 * Winners and neutral posts get an improved version of their own hook that
 * names their own numbers, losers a mutation of their own angle; the
 * summary names the real figures. Nothing is invented: with no tracked
 * numbers the summary says so.
 */
#define IT_MAX 16
typedef struct it_post {
    long long id;
    char cls[12], channel[16];
    double score, clicks, signups, revenue;
    char hook[200], angle[120];
} it_post;

/* The value after "key=" in line (up to a space), or "". */
static void it_field(const char *line, const char *key, char *out, size_t len)
{
    char pat[24];
    snprintf(pat, sizeof pat, " %s=", key);
    const char *at = strstr(line, pat);
    size_t n = 0;
    if (at)
        for (at += strlen(pat); at[n] && at[n] != ' ' && at[n] != '\n' && n + 1 < len; n++)
            out[n] = at[n];
    out[n] = 0;
}

/* The rest of the line after prefix at p (p at the line start), or NULL. */
static void it_rest(const char *p, char *out, size_t len)
{
    size_t n = 0;
    while (p[n] && p[n] != '\n' && n + 1 < len) {
        out[n] = p[n];
        n++;
    }
    out[n] = 0;
}

static int it_parse(const char *prompt, it_post *posts)
{
    int n = 0;
    for (const char *p = prompt; p && *p && n < IT_MAX;) {
        const char *eol = strchr(p, '\n');
        if (!strncmp(p, "[item ", 6)) {
            it_post *it = &posts[n++];
            memset(it, 0, sizeof *it);
            char line[600], v[64];
            it_rest(p, line, sizeof line);
            it->id = strtoll(p + 6, NULL, 10);
            it_field(line, "class", it->cls, sizeof it->cls);
            it_field(line, "channel", it->channel, sizeof it->channel);
            it_field(line, "score", v, sizeof v);
            it->score = strtod(v, NULL);
            it_field(line, "clicks", v, sizeof v);
            it->clicks = strtod(v, NULL);
            it_field(line, "signups", v, sizeof v);
            it->signups = strtod(v, NULL);
            it_field(line, "revenue", v, sizeof v);
            it->revenue = strtod(v, NULL);
        } else if (n && !strncmp(p, "  hook: ", 8)) {
            it_rest(p + 8, posts[n - 1].hook, sizeof posts[n - 1].hook);
        } else if (n && !strncmp(p, "  angle: ", 9)) {
            it_rest(p + 9, posts[n - 1].angle, sizeof posts[n - 1].angle);
        }
        p = eol ? eol + 1 : NULL;
    }
    return n;
}

/* The angle a losing angle turns into (the pack's five angles rotate). */
static const char *it_mutation(const char *angle)
{
    static const char *const from[] = {"offer", "product", "social_proof", "behind_the_scenes", "last_call"};
    static const char *const to[] = {"social_proof", "behind_the_scenes", "offer", "product", "offer"};
    for (int i = 0; i < 5; i++)
        if (!strncmp(angle, from[i], strlen(from[i])))
            return to[i];
    return "offer";
}

static void it_money(double v, const char *cur, char *out, size_t len)
{
    if (v == (double)(long long)v)
        fmt(out, len, "%s %lld", cur, (long long)v);
    else
        fmt(out, len, "%s %.2f", cur, v);
}

/* Append {"item_id":id,"from":from,k1:v1,k2:v2} to arr. */
static void it_entry(cJSON *arr, long long id, const char *from, const char *k1, const char *v1, const char *k2,
                     const char *v2)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddItemToArray(arr, e);
    cJSON_AddNumberToObject(e, "item_id", (double)id);
    cJSON_AddStringToObject(e, "from", from);
    cJSON_AddStringToObject(e, k1, v1);
    cJSON_AddStringToObject(e, k2, v2);
}

static void answer_iteration(cJSON *o, gen *g)
{
    it_post posts[IT_MAX];
    int n = it_parse(g->prompt, posts);
    char cur[8] = "";
    const char *rc = strstr(g->prompt, "(revenue in ");
    if (rc && strlen(rc + 12) >= 3 && isupper((unsigned char)rc[12]))
        fmt(cur, sizeof cur, "%.3s", rc + 12);
    const char *me = strstr(g->prompt, "At least ");
    int min_entries = me ? atoi(me + 9) : 5;
    double tclicks = 0, tsignups = 0, trev = 0;
    int winners = 0, losers = 0;
    for (int i = 0; i < n; i++) {
        tclicks += posts[i].clicks;
        tsignups += posts[i].signups;
        trev += posts[i].revenue;
        winners += !strcmp(posts[i].cls, "winner");
        losers += !strcmp(posts[i].cls, "loser");
    }
    char t[900], money[48];
    if (n == 0) {
        fmt(t, sizeof t, "No posts were listed for this week, so there is nothing to learn from yet.");
    } else if (!winners) {
        fmt(t, sizeof t,
            "No clicks, sign-ups or revenue were tracked for these %d posts yet, so none can be called a winner. "
            "Next week keeps each post's idea with a sharper hook and tracks again.",
            n);
    } else {
        const it_post *w = &posts[0], *l = NULL;
        for (int i = n - 1; i >= 0 && !l; i--)
            if (!strcmp(posts[i].cls, "loser"))
                l = &posts[i];
        it_money(w->revenue, cur[0] ? cur : "", money, sizeof money);
        char lpart[400] = "";
        if (l)
            fmt(lpart, sizeof lpart, " \"%s\" (%s angle) trailed with %.0f clicks and %.0f sign-ups (score %.0f).",
                l->hook, l->angle, l->clicks, l->signups, l->score);
        char tot[48];
        it_money(trev, cur[0] ? cur : "", tot, sizeof tot);
        fmt(t, sizeof t,
            "\"%s\" on %s won the week with %.0f click%s, %.0f sign-up%s and %s in revenue (score %.0f).%s "
            "Across %d posts: %.0f click%s, %.0f sign-up%s, %s.",
            w->hook, w->channel, w->clicks, w->clicks == 1 ? "" : "s", w->signups, w->signups == 1 ? "" : "s",
            w->revenue > 0 ? money : "no revenue", w->score, lpart, n, tclicks, tclicks == 1 ? "" : "s", tsignups,
            tsignups == 1 ? "" : "s", trev > 0 ? tot : "no revenue yet");
    }
    cJSON_AddStringToObject(o, "summary", t);

    /* hooks: every winner and neutral post, improved from its own hook;
       extra winner hooks until min_entries entries exist. */
    int entries = 0;
    cJSON *hooks = cJSON_AddArrayToObject(o, "hooks");
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < n; i++) {
            const it_post *it = &posts[i];
            int win = !strcmp(it->cls, "winner");
            if (!strcmp(it->cls, "loser") || (round > 0 && (!win || entries + losers >= min_entries)))
                continue;
            char hook[260], why[300];
            if (round > 0)
                fmt(hook, sizeof hook, "Still the one people pick: %s", it->hook);
            else if (it->signups >= 1)
                fmt(hook, sizeof hook, "%.0f signed up last week: %s", it->signups, it->hook);
            else if (it->clicks >= 2)
                fmt(hook, sizeof hook, "%.0f people tapped this: %s", it->clicks, it->hook);
            else if (it->clicks >= 1)
                fmt(hook, sizeof hook, "Someone tapped this already: %s", it->hook);
            else
                fmt(hook, sizeof hook, "Straight to it: %s", it->hook);
            if (win)
                fmt(why, sizeof why, "Keeps the winning opener (%.0f clicks, %.0f sign-ups) and leads with the proof",
                    it->clicks, it->signups);
            else
                fmt(why, sizeof why, "Same idea, said faster: it had %.0f clicks", it->clicks);
            it_entry(hooks, it->id, it->hook, "hook", hook, "why", why);
            entries++;
        }
    }
    cJSON *angles = cJSON_AddArrayToObject(o, "angles");
    for (int i = 0; i < n; i++) {
        const it_post *it = &posts[i];
        if (strcmp(it->cls, "loser"))
            continue;
        const char *to = it_mutation(it->angle);
        char angle[200], hook[260];
        fmt(angle, sizeof angle, "%s (instead of %s, which drew %.0f clicks)", to, it->angle[0] ? it->angle : "its angle",
            it->clicks);
        fmt(hook, sizeof hook, "%s", !strcmp(to, "social_proof") ? "What our regulars order every week"
                                     : !strcmp(to, "behind_the_scenes") ? "How we make it, start to finish"
                                     : !strcmp(to, "product")           ? "Up close: the one worth trying"
                                                                        : "This week's deal, in one look");
        it_entry(angles, it->id, it->angle, "angle", angle, "hook", hook);
    }
    cJSON *recs = cJSON_AddArrayToObject(o, "recommendations");
    if (winners) {
        fmt(t, sizeof t, "Post the improved \"%s\" first: it had the best score (%.0f)", posts[0].hook, posts[0].score);
        add_str(recs, t);
    }
    fmt(t, sizeof t, "Keep every post's tracking link in the caption: %.0f clicks were counted this week", tclicks);
    add_str(recs, t);
    if (losers)
        add_str(recs, "Give the weakest post a new angle instead of a repeat");
}

/* Any other purpose: {"text"} (the text alone when no JSON is asked for). */
static void other_text(gen *g, char *out, size_t len)
{
    fmt(out, len, "Mock answer about %s and %s. (mock %.8s)", word(g), word(g), g->seed_hex);
}

/* ------------------------------------------------------------------------- */
/* The capability                                                            */
/* ------------------------------------------------------------------------- */

#define fail cl_error_set_http

/* Failure injected through LLM_MOCK_FAIL; returns CL_OK when none is set. */
static int injected_failure(cl_error *err)
{
    const char *f = clp_config("FAIL");
    if (!f || !*f)
        return CL_OK;
    if (strcmp(f, "auth") == 0)
        return fail(err, CL_EAUTH, 401, 0, "mock: LLM_MOCK_FAIL=auth (simulated invalid API key)");
    if (strcmp(f, "rate_limit") == 0)
        return fail(err, CL_ERATELIMIT, 429, 1000, "mock: LLM_MOCK_FAIL=rate_limit (simulated 429)");
    if (strcmp(f, "upstream") == 0)
        return fail(err, CL_EUPSTREAM, 502, 0, "mock: LLM_MOCK_FAIL=upstream (simulated 502)");
    if (strcmp(f, "timeout") == 0)
        return fail(err, CL_ETIMEOUT, 0, 0, "mock: LLM_MOCK_FAIL=timeout (simulated deadline)");
    return fail(err, CL_EINVAL, 0, 0,
                "mock: LLM_MOCK_FAIL=%.64s is not one of auth, rate_limit, upstream, timeout", f);
}

/* Wait LLM_MOCK_DELAY_MS (at most MOCK_MAX_DELAY_MS) in MOCK_DELAY_STEP_MS steps,
   reporting progress. Returns CL_OK or CL_ECANCELLED. */
#define MOCK_MAX_DELAY_MS 600000
#define MOCK_DELAY_STEP_MS 10
static int delay(cl_call *call)
{
    int64_t ms = clp_config_int("DELAY_MS", 0);
    if (ms > MOCK_MAX_DELAY_MS)
        ms = MOCK_MAX_DELAY_MS;
    for (int64_t waited = 0; waited < ms; waited += MOCK_DELAY_STEP_MS) {
        if (clp_sleep(call, MOCK_DELAY_STEP_MS) != CL_OK)
            return CL_ECANCELLED;
        clp_progress(call, waited + MOCK_DELAY_STEP_MS < ms ? waited + MOCK_DELAY_STEP_MS : ms, ms);
    }
    return CL_OK;
}

/* The answer for purpose as text: a JSON object, or plain text for chat and
   unknown purposes without json. NULL when out of memory. */
static char *answer(gen *g, const char *purpose, int json)
{
    char t[1024];
    int chat = strcmp(purpose, "chat") == 0;
    int known = chat || strcmp(purpose, "brief") == 0 || strcmp(purpose, "promo_draft") == 0 ||
                strcmp(purpose, "regenerate") == 0 || strcmp(purpose, "posts") == 0 ||
                strcmp(purpose, "iteration") == 0;
    if (!json && (chat || !known)) {
        if (chat)
            reply_text(g, t, sizeof t);
        else
            other_text(g, t, sizeof t);
        return strdup(t);
    }
    cJSON *o = cJSON_CreateObject();
    if (strcmp(purpose, "brief") == 0)
        answer_brief(o, g);
    else if (strcmp(purpose, "promo_draft") == 0 || strcmp(purpose, "regenerate") == 0)
        answer_draft(o, g);
    else if (chat)
        answer_chat(o, g);
    else if (strcmp(purpose, "posts") == 0)
        answer_posts(o, g);
    else if (strcmp(purpose, "iteration") == 0)
        answer_iteration(o, g);
    else {
        other_text(g, t, sizeof t);
        cJSON_AddStringToObject(o, "text", t);
    }
    cJSON_AddStringToObject(o, "mock_seed", g->seed_hex);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

static int mock_complete(void *self, cl_call *call, const cl_llm_request *req, cl_output *out,
                         cl_llm_usage *usage, cl_error *err)
{
    (void)self;
    if (!req || !out)
        return fail(err, CL_EINVAL, 0, 0, "mock: no request or output");
    if (!req->prompt)
        return fail(err, CL_EINVAL, 0, 0, "mock: prompt is required");
    int rc = injected_failure(err);
    if (rc != CL_OK)
        return rc;
    if ((rc = delay(call)) != CL_OK || clp_cancelled(call))
        return fail(err, CL_ECANCELLED, 0, 0, "mock: cancelled");

    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv1a(h, req->purpose);
    h = fnv1a(h, req->system);
    h = fnv1a(h, req->prompt);
    h = fnv1a(h, req->messages_json);

    gen *g = calloc(1, sizeof *g);
    if (!g)
        return fail(err, CL_ENOMEM, 0, 0, "mock: out of memory");
    g->rng = h;
    g->prompt = req->prompt;
    snprintf(g->seed_hex, sizeof g->seed_hex, "%016llx", (unsigned long long)h);
    mock_facts_read(req->system, req->prompt, &g->facts);
    collect_words(g, req->prompt);
    if (g->n_words < 4)
        collect_words(g, req->system);
    char *text = answer(g, req->purpose ? req->purpose : "", req->json_output);
    free(g);
    if (!text)
        return fail(err, CL_ENOMEM, 0, 0, "mock: out of memory");
    if (clp_cancelled(call)) {
        free(text);
        return fail(err, CL_ECANCELLED, 0, 0, "mock: cancelled");
    }
    size_t len = strlen(text);
    rc = clp_output_append(out, text, len);
    if (rc == CL_OK && usage) {
        size_t in = strlen(req->prompt) + (req->system ? strlen(req->system) : 0) +
                    (req->messages_json ? strlen(req->messages_json) : 0);
        usage->prompt_tokens = (int)(in / 4 + 1);
        usage->completion_tokens = (int)(len / 4 + 1);
        snprintf(usage->model, sizeof usage->model, "mock-1");
    }
    free(text);
    if (rc != CL_OK)
        return fail(err, rc, 0, 0, "mock: output buffer refused the answer (%d)", rc);
    return CL_OK;
}

static int mock_setup(cl_error *err)
{
    cl_llm_provider p = {
        .base = {.kind = CL_CAP_LLM_PROVIDER,
                 .id = "mock",
                 .description = "Deterministic offline LLM (answers derived from the prompt)"},
        .complete = mock_complete,
    };
    int rc = clp_register(&p);
    return rc ? cl_error_set(err, rc, "registering llm_provider 'mock' failed") : CL_OK;
}

CL_PLUGIN("llm_mock", "1.0.0", "LLM_MOCK", mock_setup)
