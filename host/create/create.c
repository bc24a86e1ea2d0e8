/*
 * create.c — see create.h. The flow for both briefs and drafts:
 *
 *   Lua prompt script (scripts/prompts/<name>.lua) renders {system, prompt}
 *   from a context built here -> the configured llm_provider answers JSON ->
 *   the answer is validated -> (drafts) the channel rules are enforced.
 *
 * A rejected answer is retried with the reason added to the context
 * (ctx.retry_reason), which the prompt scripts pass on to the model; that
 * also changes the prompt, so a deterministic provider gets a new chance.
 */
#include "create/create.h"
#include "render/templates.h"
#include "core/config.h"
#include "core/log.h"
#include "lua/lua_runtime.h"
#include "core/jschema.h"
#include "plugins/call.h"
#include "plugins/llm.h"
#include "core/buf.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COMPONENT "create"
#define MAX_BEATS 12

/* A fresh error (no stale status) filled by the SDK's cl_error_set. */
#define fail(err, ...) (*(err) = (cl_error)CL_ERROR_INIT, cl_error_set((err), __VA_ARGS__))

/* ------------------------------------------------------------------------- */
/* Small JSON helpers                                                        */
/* ------------------------------------------------------------------------- */

static const char *str_field(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *nonempty(const char *s) { return s && *s ? s : NULL; }

/* rules.<a>.<b> as a number, or def. */
static double rule_num(const cJSON *rules, const char *a, const char *b, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rules, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static const char *rule_str(const cJSON *rules, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rules, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void set_str(cJSON *o, const char *key, const char *value)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    cJSON_AddStringToObject(o, key, value ? value : "");
}

static void note(cJSON *adjustments, const char *label, const char *fmt, ...) CL_PRINTF(3, 4);
static void note(cJSON *adjustments, const char *label, const char *fmt, ...)
{
    if (!adjustments)
        return;
    char msg[256], line[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (label && *label)
        snprintf(line, sizeof line, "%s: %s", label, msg);
    else
        snprintf(line, sizeof line, "%s", msg);
    cJSON_AddItemToArray(adjustments, cJSON_CreateString(line));
}

/* ------------------------------------------------------------------------- */
/* Text rules                                                                */
/* ------------------------------------------------------------------------- */

static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* Byte offset just after the first n code points of s. */
static size_t utf8_offset(const char *s, size_t n)
{
    size_t i = 0;
    while (s[i] && n) {
        i++;
        while (((unsigned char)s[i] & 0xc0) == 0x80)
            i++;
        n--;
    }
    return i;
}

char *cl_truncate_words(const char *s, int max_chars)
{
    if (!s)
        s = "";
    if (max_chars < 0 || utf8_len(s) <= (size_t)max_chars)
        return strdup(s);
    if (max_chars <= 1)
        return strdup(max_chars == 1 ? "\xe2\x80\xa6" : "");
    size_t limit = utf8_offset(s, (size_t)max_chars - 1); /* room for "…" */
    size_t end = limit;
    if (!isspace((unsigned char)s[limit])) {
        size_t p = limit;
        while (p > 0 && !isspace((unsigned char)s[p - 1]))
            p--;
        if (p > 0)
            end = p; /* the start of the word that did not fit */
    }
    while (end > 0 && (isspace((unsigned char)s[end - 1]) || strchr(",;:-(", s[end - 1])))
        end--;
    char *out = malloc(end + 4);
    if (!out)
        return NULL;
    memcpy(out, s, end);
    memcpy(out + end, "\xe2\x80\xa6", 4); /* "…" and the NUL */
    return out;
}

static int tag_char(unsigned char c) { return isalnum(c) || c == '_' || c >= 0x80; }

/* Remove inline #tags beyond the first `keep` from s; returns a malloc'd
   string and the number removed in *removed. */
static char *strip_inline_tags(const char *s, int keep, int *removed)
{
    cl_buf b = CL_BUF_INIT;
    int seen = 0;
    *removed = 0;
    for (size_t i = 0; s[i];) {
        int at_word_start = i == 0 || isspace((unsigned char)s[i - 1]);
        if (s[i] == '#' && at_word_start && tag_char((unsigned char)s[i + 1])) {
            size_t j = i + 1;
            while (s[j] && tag_char((unsigned char)s[j]))
                j++;
            if (seen++ >= keep) {
                (*removed)++;
                while (b.len && b.data[b.len - 1] == ' ')
                    b.data[--b.len] = '\0'; /* no double space left behind */
                i = j;
                continue;
            }
            cl_buf_append(&b, s + i, j - i);
            i = j;
            continue;
        }
        if (s[i] == ' ' && b.len == 0) { /* no leading space after a removed tag */
            i++;
            continue;
        }
        cl_buf_append(&b, s + i, 1);
        i++;
    }
    while (b.len && isspace((unsigned char)b.data[b.len - 1]))
        b.data[--b.len] = '\0';
    if (!b.data)
        cl_buf_append(&b, "", 0);
    return cl_buf_steal(&b);
}

/* Normalize a hashtag: "#" + the tag characters; "" when nothing is left. */
static void normalize_tag(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    if (outlen < 2) {
        if (outlen)
            out[0] = '\0';
        return;
    }
    out[n++] = '#';
    for (const char *p = in; *p && n + 1 < outlen; p++)
        if (tag_char((unsigned char)*p))
            out[n++] = *p;
    out[n] = '\0';
    if (n == 1)
        out[0] = '\0';
}

/* Cap the words of a string field. */
static void cap_words(cJSON *o, const char *key, int max_words, const char *label, cJSON *adj)
{
    const char *s = str_field(o, key);
    if (!s || max_words <= 0)
        return;
    cl_buf b = CL_BUF_INIT;
    int words = 0, cut = 0;
    for (const char *p = s; *p;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (words == max_words) {
            cut = 1;
            break;
        }
        if (words++)
            cl_buf_append(&b, " ", 1);
        cl_buf_append(&b, start, (size_t)(p - start));
    }
    if (cut) {
        set_str(o, key, b.data ? b.data : "");
        note(adj, label, "%s shortened to %d words", key, max_words);
    }
    cl_buf_free(&b);
}

void cl_draft_apply_rules(cJSON *draft, const cJSON *rules, const char *label, cJSON *adj)
{
    if (!cJSON_IsObject(draft) || !cJSON_IsObject(rules))
        return;
    int max_tags = (int)rule_num(rules, "hashtags", "max", -1);
    int max_chars = (int)rule_num(rules, "caption", "max_chars", -1);
    int max_words = (int)rule_num(rules, "hook", "max_words", -1);
    int max_beats = (int)rule_num(rules, "script", "max_beats", -1);

    /* hashtags: normalized, de-duplicated, capped */
    cJSON *tags = cJSON_GetObjectItemCaseSensitive(draft, "hashtags");
    if (cJSON_IsArray(tags)) {
        cJSON *clean = cJSON_CreateArray();
        int total = 0, kept = 0;
        const cJSON *t;
        cJSON_ArrayForEach(t, tags)
        {
            char tag[128];
            if (!cJSON_IsString(t))
                continue;
            normalize_tag(t->valuestring, tag, sizeof tag);
            if (!tag[0])
                continue;
            int dup = 0;
            const cJSON *k;
            cJSON_ArrayForEach(k, clean) dup |= strcasecmp(k->valuestring, tag) == 0;
            if (dup)
                continue;
            total++;
            if (max_tags >= 0 && kept >= max_tags)
                continue;
            cJSON_AddItemToArray(clean, cJSON_CreateString(tag));
            kept++;
        }
        if (max_tags >= 0 && total > max_tags)
            note(adj, label, "hashtags capped at %d (had %d)", max_tags, total);
        cJSON_ReplaceItemInObjectCaseSensitive(draft, "hashtags", clean);
    }

    /* caption: inline tags within the policy, then the length limit */
    const char *caption = str_field(draft, "caption");
    if (caption && max_tags >= 0) {
        int removed = 0;
        char *c = strip_inline_tags(caption, max_tags, &removed);
        if (c && removed) {
            set_str(draft, "caption", c);
            note(adj, label, "removed %d hashtag%s from the caption", removed, removed == 1 ? "" : "s");
        }
        free(c);
    }
    caption = str_field(draft, "caption");
    if (caption && max_chars > 0 && utf8_len(caption) > (size_t)max_chars) {
        char *c = cl_truncate_words(caption, max_chars);
        if (c) {
            set_str(draft, "caption", c);
            note(adj, label, "caption shortened to %d characters", max_chars);
        }
        free(c);
    }

    cap_words(draft, "hook", max_words, label, adj);

    cJSON *script = cJSON_GetObjectItemCaseSensitive(draft, "script");
    int beats = cJSON_GetArraySize(script);
    if (cJSON_IsArray(script) && max_beats > 0 && beats > max_beats) {
        /* keep the opening beats and the closing (CTA) beat */
        while (cJSON_GetArraySize(script) > max_beats)
            cJSON_DeleteItemFromArray(script, cJSON_GetArraySize(script) - 2);
        note(adj, label, "script cut to %d beats (had %d)", max_beats, beats);
    }
}

/* ------------------------------------------------------------------------- */
/* Validation                                                                */
/* ------------------------------------------------------------------------- */

/* Copy a string field into out; required means non-empty. */
static int take_str(const cJSON *in, cJSON *out, const char *key, int required, char *why,
                    size_t whylen, const char *where)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, key);
    if (!v || cJSON_IsNull(v)) {
        if (required)
            return cl_errf(why, whylen, "%s'%s' is missing", where, key);
        return 0;
    }
    if (!cJSON_IsString(v))
        return cl_errf(why, whylen, "%s'%s' must be a string", where, key);
    const char *s = v->valuestring;
    while (isspace((unsigned char)*s))
        s++;
    if (required && !*s)
        return cl_errf(why, whylen, "%s'%s' is empty", where, key);
    cJSON_AddStringToObject(out, key, v->valuestring);
    return 0;
}

static int take_tags(const cJSON *in, cJSON *out, char *why, size_t whylen, const char *where)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, "hashtags");
    cJSON *arr = cJSON_AddArrayToObject(out, "hashtags");
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v))
        return cl_errf(why, whylen, "%s'hashtags' must be an array of strings", where);
    const cJSON *t;
    cJSON_ArrayForEach(t, v)
    {
        if (!cJSON_IsString(t))
            return cl_errf(why, whylen, "%s'hashtags' must be an array of strings", where);
        cJSON_AddItemToArray(arr, cJSON_CreateString(t->valuestring));
    }
    return 0;
}

cJSON *cl_draft_validate(const char *answer, char *why, size_t whylen)
{
    cJSON *in = answer ? cJSON_Parse(answer) : NULL;
    if (!cJSON_IsObject(in)) {
        cJSON_Delete(in);
        cl_errf(why, whylen, "the answer is not a JSON object");
        return NULL;
    }
    cJSON *out = cJSON_CreateObject();
    if (take_str(in, out, "hook", 1, why, whylen, "") != 0)
        goto bad;
    const cJSON *script = cJSON_GetObjectItemCaseSensitive(in, "script");
    if (!cJSON_IsArray(script)) {
        cl_errf(why, whylen, "'script' must be an array of beats (strings)");
        goto bad;
    }
    int n = cJSON_GetArraySize(script);
    if (n < 1 || n > MAX_BEATS) {
        cl_errf(why, whylen, "'script' must have 1 to %d beats, has %d", MAX_BEATS, n);
        goto bad;
    }
    cJSON *beats = cJSON_AddArrayToObject(out, "script");
    const cJSON *b;
    cJSON_ArrayForEach(b, script)
    {
        const char *s = cJSON_IsString(b) ? b->valuestring : NULL;
        while (s && isspace((unsigned char)*s))
            s++;
        if (!s || !*s) {
            cl_errf(why, whylen, "every 'script' beat must be a non-empty string");
            goto bad;
        }
        cJSON_AddItemToArray(beats, cJSON_CreateString(b->valuestring));
    }
    /* voiceover: optional spoken lines (docs/audio.md); blank lines are dropped. */
    const cJSON *vo = cJSON_GetObjectItemCaseSensitive(in, "voiceover");
    if (vo && !cJSON_IsNull(vo)) {
        if (!cJSON_IsArray(vo) || cJSON_GetArraySize(vo) > 8) {
            cl_errf(why, whylen, "'voiceover' must be an array of at most 8 lines (strings)");
            goto bad;
        }
        cJSON *lines = cJSON_CreateArray();
        const cJSON *l;
        cJSON_ArrayForEach(l, vo)
        {
            const char *s = cJSON_IsString(l) ? l->valuestring : NULL;
            if (!s || strlen(s) > 300) {
                cJSON_Delete(lines);
                cl_errf(why, whylen, "every 'voiceover' line must be a string of at most 300 bytes");
                goto bad;
            }
            while (isspace((unsigned char)*s))
                s++;
            if (*s)
                cJSON_AddItemToArray(lines, cJSON_CreateString(l->valuestring));
        }
        if (cJSON_GetArraySize(lines) > 0)
            cJSON_AddItemToObject(out, "voiceover", lines);
        else
            cJSON_Delete(lines);
    }
    if (take_str(in, out, "caption", 1, why, whylen, "") || take_str(in, out, "cta", 1, why, whylen, "") ||
        take_str(in, out, "caption_hint", 0, why, whylen, "") || take_tags(in, out, why, whylen, ""))
        goto bad;
    if (!cJSON_GetObjectItemCaseSensitive(out, "caption_hint"))
        cJSON_AddStringToObject(out, "caption_hint", "");
    /* template: the video template the model picked; a name with no script is dropped
       (the render then chooses, docs/composition.md). */
    if (take_str(in, out, "template", 0, why, whylen, ""))
        goto bad;
    const char *tpl = str_field(out, "template");
    if (tpl && !cl_template_exists(tpl))
        cJSON_DeleteItemFromObjectCaseSensitive(out, "template");

    const cJSON *variants = cJSON_GetObjectItemCaseSensitive(in, "variants");
    if (!cJSON_IsObject(variants)) {
        cl_errf(why, whylen, "'variants' must be an object keyed by channel");
        goto bad;
    }
    cJSON *vout = cJSON_AddObjectToObject(out, "variants");
    const cJSON *v;
    cJSON_ArrayForEach(v, variants)
    {
        char where[80];
        snprintf(where, sizeof where, "variants.%.40s: ", v->string);
        if (!cJSON_IsObject(v)) {
            cl_errf(why, whylen, "%smust be an object", where);
            goto bad;
        }
        cJSON *one = cJSON_CreateObject();
        cJSON_AddItemToObject(vout, v->string, one);
        if (take_str(v, one, "caption", 1, why, whylen, where) ||
            take_str(v, one, "cta", 0, why, whylen, where) || take_tags(v, one, why, whylen, where) ||
            take_str(v, one, "hook", 0, why, whylen, where))
            goto bad;
        if (!cJSON_GetObjectItemCaseSensitive(one, "cta"))
            cJSON_AddStringToObject(one, "cta", str_field(out, "cta"));
    }
    cJSON_Delete(in);
    return out;
bad:
    cJSON_Delete(in);
    cJSON_Delete(out);
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* The model loop                                                            */
/* ------------------------------------------------------------------------- */


/* 1 when answer is one JSON object that matches sdk/schemas/<purpose>.schema.json
   (or the purpose has no schema); else 0 with why. */
static int answer_conforms(const char *purpose, const char *answer, char *why, size_t whylen)
{
    if (!cl_jschema_exists(purpose))
        return 1;
    cJSON *in = answer ? cJSON_Parse(answer) : NULL;
    int ok = cJSON_IsObject(in) ? cl_jschema_check(purpose, in, why, whylen) == 0
                                : (cl_errf(why, whylen, "the answer is not a JSON object"), 0);
    cJSON_Delete(in);
    return ok;
}

/*
 * Render prompts/<prompt_name> with ctx, ask the provider, validate; retry a
 * malformed answer. On success *result is the validated object and meta is
 * filled. ctx gains "retry_reason" on retries.
 */
int cl_llm_json(cl_call *call, const char *prompt_name, cJSON *ctx, cl_answer_validate_fn validate,
                int max_attempts, cJSON **result, cJSON *meta, cl_error *err)
{
    *result = NULL;
    cl_call *cancel = call ? call : cl_call_current(); /* cl_llm_complete makes the same choice */
    char why[512] = "";
    int prompt_tokens = 0, completion_tokens = 0, attempt;
    char model[128] = "";
    if (max_attempts < 1)
        max_attempts = 1;
    for (attempt = 1; attempt <= max_attempts; attempt++) {
        if (cancel && atomic_load(&cancel->cancelled))
            return fail(err, CL_ECANCELLED, "%s: cancelled", prompt_name);
        char *ctx_json = cJSON_PrintUnformatted(ctx);
        char *system = NULL, *prompt = NULL, lerr[512];
        int rc = ctx_json ? cl_lua_prompt(prompt_name, ctx_json, &system, &prompt, lerr, sizeof lerr)
                          : CL_ENOMEM;
        free(ctx_json);
        if (rc != CL_OK)
            return fail(err, rc == CL_ENOMEM ? CL_ENOMEM : CL_EIO, "prompt script %s: %s", prompt_name,
                        rc == CL_ENOMEM ? "out of memory" : lerr);
        cl_llm_request req = {.size = sizeof req, .purpose = prompt_name, .system = system,
                              .prompt = prompt, .json_output = 1};
        cl_llm_usage usage;
        char *answer = NULL;
        rc = cl_llm_complete(call, NULL, &req, &answer, NULL, &usage, err);
        free(system);
        free(prompt);
        prompt_tokens += usage.prompt_tokens;
        completion_tokens += usage.completion_tokens;
        if (usage.model[0])
            snprintf(model, sizeof model, "%s", usage.model);
        if (rc == CL_OK) {
            /* The purpose's schema (sdk/schemas/, the one source authors read)
               first, then the purpose's own rules. */
            *result = answer_conforms(prompt_name, answer, why, sizeof why) ? validate(answer, why, sizeof why) : NULL;
            free(answer);
            if (*result)
                break;
        } else {
            if (rc != CL_EMALFORMED)
                return rc; /* auth, rate limit, timeout, …: the provider's own error */
            snprintf(why, sizeof why, "%s", err->message);
        }
        cl_warn(COMPONENT, "%s: answer %d of %d rejected: %s", prompt_name, attempt, max_attempts, why);
        cJSON_DeleteItemFromObjectCaseSensitive(ctx, "retry_reason");
        cJSON_AddStringToObject(ctx, "retry_reason", why);
    }
    if (!*result) {
        return fail(err, CL_EMALFORMED, "the model returned malformed output %d times for %s; last problem: %.300s",
                    max_attempts, prompt_name, why);
    }
    cJSON_AddStringToObject(meta, "provider", cl_cfg.llm_provider);
    cJSON_AddStringToObject(meta, "model", model);
    cJSON_AddNumberToObject(meta, "attempts", attempt);
    cJSON_AddNumberToObject(meta, "prompt_tokens", prompt_tokens);
    cJSON_AddNumberToObject(meta, "completion_tokens", completion_tokens);
    return CL_OK;
}

/* Channel names (JSON array) and every channel's rules keyed by name. */
int cl_channel_rules_all(cJSON **names_out, cJSON **all_out, cl_error *err)
{
    char lerr[512], *names_json = NULL;
    *names_out = *all_out = NULL;
    if (cl_lua_channel_names(&names_json, lerr, sizeof lerr) != CL_OK)
        return fail(err, CL_EIO, "channel scripts: %s", lerr);
    cJSON *names = cJSON_Parse(names_json);
    free(names_json);
    cJSON *all = cJSON_CreateObject();
    const cJSON *n;
    cJSON_ArrayForEach(n, names)
    {
        char *rules_json = NULL;
        if (cl_lua_channel_rules(n->valuestring, &rules_json, lerr, sizeof lerr) != CL_OK) {
            cl_warn(COMPONENT, "channel %s skipped: %s", n->valuestring, lerr);
            continue;
        }
        cJSON *r = cJSON_Parse(rules_json);
        free(rules_json);
        if (r)
            cJSON_AddItemToObject(all, n->valuestring, r);
    }
    if (!cJSON_GetArraySize(all)) {
        cJSON_Delete(names);
        cJSON_Delete(all);
        return fail(err, CL_EIO, "no channel script loaded (scripts/channels)");
    }
    *names_out = names;
    *all_out = all;
    return CL_OK;
}

/* ------------------------------------------------------------------------- */
/* Brief                                                                     */
/* ------------------------------------------------------------------------- */

static cJSON *validate_brief(const char *answer, char *why, size_t whylen)
{
    static const char *const keys[] = {"title", "channel", "tone", "duration_seconds", "style",
                                       "cta", "caption_hint", "audience", "offer", "language_style"};
    cJSON *in = answer ? cJSON_Parse(answer) : NULL;
    if (!cJSON_IsObject(in)) {
        cJSON_Delete(in);
        cl_errf(why, whylen, "the answer is not a JSON object");
        return NULL;
    }
    int known = 0;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        known += cJSON_GetObjectItemCaseSensitive(in, keys[i]) != NULL;
    if (known < 3) {
        cJSON_Delete(in);
        cl_errf(why, whylen, "the answer has almost none of the brief's keys (title, channel, tone, "
                             "duration_seconds, style, cta, caption_hint, …)");
        return NULL;
    }
    return in;
}

static int valid_language(const char *s)
{
    return s && (strcmp(s, "english") == 0 || strcmp(s, "pidgin") == 0 || strcmp(s, "mixed") == 0);
}

int cl_brief_generate(cl_call *call, const char *profile_json, const char *context_text,
                      const char *rough_prompt, char **brief_json, cl_error *err)
{
    *brief_json = NULL;
    if (!rough_prompt || !*rough_prompt)
        return fail(err, CL_EINVAL, "the prompt is empty");
    cJSON *profile = profile_json && *profile_json ? cJSON_Parse(profile_json) : cJSON_CreateObject();
    if (!cJSON_IsObject(profile)) {
        cJSON_Delete(profile);
        return fail(err, CL_EINVAL, "the project profile is not a JSON object");
    }
    cJSON *names, *all;
    int rc = cl_channel_rules_all(&names, &all, err);
    if (rc != CL_OK) {
        cJSON_Delete(profile);
        return rc;
    }
    char intent[64] = "", lerr[512];
    if (cl_lua_infer_channel(rough_prompt, intent, sizeof intent, lerr, sizeof lerr) != CL_OK)
        cl_warn(COMPONENT, "channel inference failed: %s", lerr);
    if (intent[0] && !cJSON_GetObjectItemCaseSensitive(all, intent))
        intent[0] = '\0';

    cJSON *ctx = cJSON_CreateObject();
    cJSON_AddStringToObject(ctx, "request", rough_prompt);
    cJSON_AddItemToObject(ctx, "profile", cJSON_Duplicate(profile, 1));
    cJSON_AddStringToObject(ctx, "context", context_text ? context_text : "");
    cJSON_AddStringToObject(ctx, "channel", intent);
    if (intent[0])
        cJSON_AddItemToObject(ctx, "rules",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(all, intent), 1));
    cJSON_AddItemToObject(ctx, "channels", cJSON_Duplicate(names, 1));

    cJSON *answer = NULL, *meta = cJSON_CreateObject();
    rc = cl_llm_json(call, "brief", ctx, validate_brief, CL_CREATE_MAX_ATTEMPTS, &answer, meta, err);
    cJSON_Delete(ctx);
    if (rc != CL_OK) {
        cJSON_Delete(meta);
        cJSON_Delete(profile);
        cJSON_Delete(names);
        cJSON_Delete(all);
        return rc;
    }

    /* channel: the request's intent > the model's known pick > the profile's default > instagram */
    const char *channel = intent[0] ? intent : NULL;
    const char *pick = str_field(answer, "channel");
    if (!channel && pick && cJSON_GetObjectItemCaseSensitive(all, pick))
        channel = pick;
    const char *def = str_field(profile, "default_channel");
    if (!channel && def && cJSON_GetObjectItemCaseSensitive(all, def))
        channel = def;
    const cJSON *pch = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(profile, "channels"), 0);
    if (!channel && cJSON_IsString(pch) && cJSON_GetObjectItemCaseSensitive(all, pch->valuestring))
        channel = pch->valuestring;
    if (!channel)
        channel = cJSON_GetObjectItemCaseSensitive(all, "instagram") ? "instagram"
                                                                     : all->child->string;
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(all, channel);

    cJSON *brief = cJSON_CreateObject();
    const char *title = nonempty(str_field(answer, "title"));
    char fallback_title[80];
    snprintf(fallback_title, sizeof fallback_title, "%.60s", rough_prompt);
    cJSON_AddStringToObject(brief, "title", title ? title : fallback_title);
    cJSON_AddStringToObject(brief, "channel", channel);
    const char *tone = nonempty(str_field(answer, "tone"));
    if (!tone)
        tone = nonempty(str_field(profile, "tone"));
    if (!tone)
        tone = rule_str(rules, "tone", NULL);
    cJSON_AddStringToObject(brief, "tone", tone ? tone : "friendly");

    double dmin = rule_num(rules, "duration", "min", 5), dmax = rule_num(rules, "duration", "max", 90);
    double dur = rule_num(rules, "duration", "default", 20);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(answer, "duration_seconds");
    if (cJSON_IsNumber(d) && d->valuedouble > 0)
        dur = d->valuedouble;
    else if (cJSON_IsString(d) && atoi(d->valuestring) > 0)
        dur = atoi(d->valuestring);
    dur = round(dur);
    if (dur < dmin)
        dur = dmin;
    if (dur > dmax)
        dur = dmax;
    cJSON_AddNumberToObject(brief, "duration_seconds", dur);

    const char *style = nonempty(str_field(answer, "style"));
    if (!style)
        style = nonempty(str_field(profile, "style"));
    cJSON_AddStringToObject(brief, "style",
                            style ? style : "Phone-shot, close-ups of the product, bold on-screen text");
    const char *cta = nonempty(str_field(answer, "cta"));
    if (!cta)
        cta = nonempty(str_field(profile, "cta"));
    const cJSON *ex = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rules, "cta"), "examples"), 0);
    if (!cta && cJSON_IsString(ex))
        cta = ex->valuestring;
    cJSON_AddStringToObject(brief, "cta", cta ? cta : "Order now");
    const char *hint = nonempty(str_field(answer, "caption_hint"));
    if (!hint)
        hint = rule_str(rules, "caption", "style");
    cJSON_AddStringToObject(brief, "caption_hint", hint ? hint : "");
    const char *aud = nonempty(str_field(answer, "audience"));
    if (!aud)
        aud = str_field(profile, "audience");
    cJSON_AddStringToObject(brief, "audience", aud ? aud : "");
    const char *offer = nonempty(str_field(answer, "offer"));
    if (!offer)
        offer = str_field(profile, "offer");
    cJSON_AddStringToObject(brief, "offer", offer ? offer : "");
    const char *lang = str_field(answer, "language_style");
    if (!valid_language(lang))
        lang = str_field(profile, "language_style");
    if (!valid_language(lang))
        lang = "english";
    cJSON_AddStringToObject(brief, "language_style", lang);
    const char *aspect = rule_str(rules, "aspect", NULL);
    cJSON_AddStringToObject(brief, "aspect", aspect ? aspect : "9:16");
    cJSON_AddStringToObject(brief, "request", rough_prompt);
    cJSON_AddItemToObject(brief, "meta", meta);

    *brief_json = cJSON_PrintUnformatted(brief);
    cJSON_Delete(brief);
    cJSON_Delete(answer);
    cJSON_Delete(profile);
    cJSON_Delete(names);
    cJSON_Delete(all);
    return *brief_json ? CL_OK : fail(err, CL_ENOMEM, "out of memory");
}

/* ------------------------------------------------------------------------- */
/* The brief as the user edited it: one table of limits for API and studio    */
/* ------------------------------------------------------------------------- */

static const struct brief_text_limit {
    const char *key, *label;
    int required, max_chars;
} brief_text_limits[] = {
    {"title", "Title", 1, 120},         {"tone", "Tone", 0, 120},
    {"style", "Visual style", 0, 200},  {"cta", "Call to action", 1, 120},
    {"caption_hint", "Caption hint", 0, 300}, {"audience", "Audience", 0, 300},
    {"offer", "Offer", 0, 200},
};

static void duration_limits(const cJSON *rules, double *min, double *max)
{
    *min = rule_num(rules, "duration", "min", 5);
    *max = rule_num(rules, "duration", "max", 90);
}

cJSON *cl_brief_limits(cl_error *err)
{
    cJSON *names, *all;
    if (cl_channel_rules_all(&names, &all, err) != CL_OK)
        return NULL;
    cJSON *o = cJSON_CreateObject(), *fields = cJSON_AddObjectToObject(o, "fields");
    for (size_t i = 0; i < sizeof brief_text_limits / sizeof *brief_text_limits; i++) {
        cJSON *f = cJSON_AddObjectToObject(fields, brief_text_limits[i].key);
        cJSON_AddNumberToObject(f, "max_chars", brief_text_limits[i].max_chars);
        cJSON_AddBoolToObject(f, "required", brief_text_limits[i].required);
    }
    cJSON *dur = cJSON_AddObjectToObject(o, "duration_seconds");
    const cJSON *r;
    cJSON_ArrayForEach(r, all)
    {
        double min, max;
        duration_limits(r, &min, &max);
        cJSON *d = cJSON_AddObjectToObject(dur, r->string);
        cJSON_AddNumberToObject(d, "min", min);
        cJSON_AddNumberToObject(d, "max", max);
    }
    cJSON_Delete(names);
    cJSON_Delete(all);
    return o;
}

int cl_brief_check(const cJSON *brief, const char *channel, cJSON *fields)
{
    int n = 0;
    char key[64], msg[200];
#define BRIEF_PROBLEM(k, ...)                                                                              \
    do {                                                                                                   \
        snprintf(key, sizeof key, "brief.%s", k);                                                          \
        snprintf(msg, sizeof msg, __VA_ARGS__);                                                            \
        cJSON_AddStringToObject(fields, key, msg);                                                         \
        n++;                                                                                               \
    } while (0)
    for (size_t i = 0; i < sizeof brief_text_limits / sizeof *brief_text_limits; i++) {
        const struct brief_text_limit *l = &brief_text_limits[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(brief, l->key);
        if (v && !cJSON_IsString(v) && !cJSON_IsNull(v))
            BRIEF_PROBLEM(l->key, "%s must be text", l->label);
        else if (l->required && (!cJSON_IsString(v) || !*v->valuestring))
            BRIEF_PROBLEM(l->key, "%s is required", l->label);
        else if (cJSON_IsString(v) && utf8_len(v->valuestring) > (size_t)l->max_chars)
            BRIEF_PROBLEM(l->key, "%s can be at most %d characters", l->label, l->max_chars);
    }
    const char *lang = str_field(brief, "language_style");
    if (cJSON_GetObjectItemCaseSensitive(brief, "language_style") && !valid_language(lang))
        BRIEF_PROBLEM("language_style", "Language style must be english, pidgin or mixed");

    if (!channel || !*channel)
        channel = str_field(brief, "channel");
    char *rules_json = NULL, lerr[256];
    cJSON *rules = NULL;
    if (channel && cl_lua_channel_rules(channel, &rules_json, lerr, sizeof lerr) == CL_OK)
        rules = cJSON_Parse(rules_json);
    free(rules_json);
    if (!rules) {
        BRIEF_PROBLEM("channel", "Choose a channel ClipLoop knows (instagram, tiktok or whatsapp)");
    } else {
        double min, max;
        duration_limits(rules, &min, &max);
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(brief, "duration_seconds");
        if (d && (!cJSON_IsNumber(d) || d->valuedouble != floor(d->valuedouble) || d->valuedouble < min ||
                  d->valuedouble > max))
            BRIEF_PROBLEM("duration_seconds", "Duration must be a whole number of seconds from %.0f to %.0f on %s",
                          min, max, channel);
        cJSON_Delete(rules);
    }
#undef BRIEF_PROBLEM
    return n;
}

/* ------------------------------------------------------------------------- */
/* Draft                                                                     */
/* ------------------------------------------------------------------------- */

static void draft_use_cta(cJSON *draft, const char *cta)
{
    const char *old = str_field(draft, "cta");
    cJSON *script = cJSON_GetObjectItemCaseSensitive(draft, "script");
    cJSON *last = cJSON_GetArrayItem(script, cJSON_GetArraySize(script) - 1);
    if (old && cJSON_IsString(last) && strcmp(last->valuestring, old) == 0)
        cJSON_ReplaceItemViaPointer(script, last, cJSON_CreateString(cta));
    set_str(draft, "cta", cta);
    cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(draft, "variants")) set_str(v, "cta", cta);
}

void cl_draft_select_channel(cJSON *draft, const char *channel)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(draft, "variants"), channel);
    static const char *const text[] = {"hook", "caption", "cta"};
    for (size_t i = 0; v && i < sizeof text / sizeof *text; i++) {
        const char *s = nonempty(str_field(v, text[i]));
        if (s)
            set_str(draft, text[i], s);
    }
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(v, "hashtags");
    if (cJSON_IsArray(tags)) {
        cJSON *copy = cJSON_Duplicate(tags, 1);
        if (cJSON_GetObjectItemCaseSensitive(draft, "hashtags"))
            cJSON_ReplaceItemInObjectCaseSensitive(draft, "hashtags", copy);
        else
            cJSON_AddItemToObject(draft, "hashtags", copy);
    }
    set_str(draft, "channel", channel);
}

cJSON *cl_draft_finish(cJSON *draft, const char *chan, const cJSON *all, const cJSON *brief, cJSON *meta)
{
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(all, chan);
    /* variants: drop unknown channels, make sure the target has one */
    cJSON *variants = cJSON_GetObjectItemCaseSensitive(draft, "variants");
    for (cJSON *v = variants->child, *next; v; v = next) {
        next = v->next;
        if (!cJSON_GetObjectItemCaseSensitive(all, v->string))
            cJSON_Delete(cJSON_DetachItemViaPointer(variants, v));
    }
    if (!cJSON_GetObjectItemCaseSensitive(variants, chan)) {
        cJSON *v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "caption", str_field(draft, "caption"));
        cJSON_AddStringToObject(v, "cta", str_field(draft, "cta"));
        cJSON_AddItemToObject(v, "hashtags",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(draft, "hashtags"), 1));
        cJSON_AddStringToObject(v, "hook", str_field(draft, "hook"));
        cJSON_AddItemToObject(variants, chan, v);
    }

    /* The brief's call to action is the user's (edited) words: it reaches
       the draft and every variant unchanged, and a closing beat that
       repeated the model's own CTA repeats the user's instead. */
    const char *brief_cta = nonempty(str_field(brief, "cta"));
    if (brief_cta)
        draft_use_cta(draft, brief_cta);

    /* the rules, after generation: a limit is enforced, not only requested */
    cJSON *adj = cJSON_CreateArray();
    cl_draft_apply_rules(draft, rules, NULL, adj);
    cJSON *v;
    cJSON_ArrayForEach(v, variants)
    {
        char label[80];
        snprintf(label, sizeof label, "variants.%.60s", v->string);
        cl_draft_apply_rules(v, cJSON_GetObjectItemCaseSensitive(all, v->string), label, adj);
    }

    /* One source of truth: the top-level copy is the target channel's. */
    cl_draft_select_channel(draft, chan);

    /* the result, in a stable key order */
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "channel", chan);
    /* A template the channel does not allow is dropped: the render chooses an allowed one. */
    const char *tpl = str_field(draft, "template");
    if (tpl) {
        char *rules_text = cJSON_PrintUnformatted(rules);
        if (!cl_template_allowed(rules_text, tpl))
            cJSON_DeleteItemFromObjectCaseSensitive(draft, "template");
        free(rules_text);
    }
    static const char *const order[] = {"hook", "script", "voiceover", "caption", "cta", "caption_hint",
                                        "hashtags", "variants", "template"};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        cJSON *item = cJSON_DetachItemFromObjectCaseSensitive(draft, order[i]);
        if (item)
            cJSON_AddItemToObject(out, order[i], item);
    }
    double dmin = rule_num(rules, "duration", "min", 5), dmax = rule_num(rules, "duration", "max", 90);
    const cJSON *bd = cJSON_GetObjectItemCaseSensitive(brief, "duration_seconds");
    double dur = cJSON_IsNumber(bd) && bd->valuedouble > 0 ? bd->valuedouble
                                                           : rule_num(rules, "duration", "default", 20);
    dur = round(dur < dmin ? dmin : dur > dmax ? dmax : dur);
    cJSON_AddNumberToObject(out, "duration_seconds", dur);
    const char *aspect = nonempty(str_field(brief, "aspect"));
    if (!aspect)
        aspect = rule_str(rules, "aspect", NULL);
    cJSON_AddStringToObject(out, "aspect", aspect ? aspect : "9:16");
    const char *lang = str_field(brief, "language_style");
    cJSON_AddStringToObject(out, "language_style", valid_language(lang) ? lang : "english");
    cJSON_AddItemToObject(out, "adjustments", adj);
    cJSON_AddItemToObject(out, "meta", meta);
    cJSON_Delete(draft);
    return out;

}

int cl_draft_generate(cl_call *call, const char *brief_json, const char *context_text,
                      const char *channel, char **draft_json, cl_error *err)
{
    *draft_json = NULL;
    cJSON *brief = brief_json ? cJSON_Parse(brief_json) : NULL;
    if (!cJSON_IsObject(brief)) {
        cJSON_Delete(brief);
        return fail(err, CL_EINVAL, "the brief is not a JSON object");
    }
    if (!channel || !*channel)
        channel = str_field(brief, "channel");
    if (!channel || !*channel) {
        cJSON_Delete(brief);
        return fail(err, CL_EINVAL, "no channel: the brief has none and none was given");
    }
    cJSON *names, *all;
    int rc = cl_channel_rules_all(&names, &all, err);
    if (rc != CL_OK) {
        cJSON_Delete(brief);
        return rc;
    }
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(all, channel);
    if (!rules) {
        rc = fail(err, CL_EINVAL, "unknown channel '%.64s' (no scripts/channels/%.64s.lua)", channel,
                  channel);
        cJSON_Delete(brief);
        cJSON_Delete(names);
        cJSON_Delete(all);
        return rc;
    }
    char chan[64];
    snprintf(chan, sizeof chan, "%s", channel);

    cJSON *ctx = cJSON_CreateObject();
    cJSON_AddItemToObject(ctx, "brief", cJSON_Duplicate(brief, 1));
    cJSON_AddStringToObject(ctx, "context", context_text ? context_text : "");
    cJSON_AddStringToObject(ctx, "channel", chan);
    cJSON_AddItemToObject(ctx, "rules", cJSON_Duplicate(rules, 1));
    cJSON_AddItemToObject(ctx, "all_rules", cJSON_Duplicate(all, 1));
    /* The video templates this channel allows, for the model to pick one. */
    char *tnames = NULL, terr[128];
    cJSON *tlist = cJSON_AddArrayToObject(ctx, "templates");
    if (cl_template_names(&tnames, terr, sizeof terr) == 0) {
        cJSON *all_t = cJSON_Parse(tnames), *t;
        char *rules_text = cJSON_PrintUnformatted(rules);
        cJSON_ArrayForEach(t, all_t)
        {
            if (cJSON_IsString(t) && cl_template_allowed(rules_text, t->valuestring))
                cJSON_AddItemToArray(tlist, cJSON_CreateString(t->valuestring));
        }
        free(rules_text);
        cJSON_Delete(all_t);
        free(tnames);
    }

    cJSON *draft = NULL, *meta = cJSON_CreateObject();
    rc = cl_llm_json(call, "promo_draft", ctx, cl_draft_validate, CL_CREATE_MAX_ATTEMPTS, &draft, meta, err);
    cJSON_Delete(ctx);
    if (rc != CL_OK) {
        cJSON_Delete(meta);
        cJSON_Delete(brief);
        cJSON_Delete(names);
        cJSON_Delete(all);
        return rc;
    }

    cJSON *out = cl_draft_finish(draft, chan, all, brief, meta);
    *draft_json = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    cJSON_Delete(brief);
    cJSON_Delete(names);
    cJSON_Delete(all);
    return *draft_json ? CL_OK : fail(err, CL_ENOMEM, "out of memory");
}
