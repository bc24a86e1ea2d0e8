/*
 * soundtrack.c — see soundtrack.h and docs/audio.md.
 */
#include "content/soundtrack.h"

#include "auth/auth.h"
#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "http/http.h"
#include "media/media.h"
#include "render/caption_track.h"
#include "tts/tts.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMP "soundtrack"
/** Seconds of quiet after the voice ends at least (before it: CL_CAPTIONS_LEAD). */
#define VO_TAIL 0.6
#define MAX_DURATION 60.0

/* ------------------------------------------------------------------------- */
/* Bundled beds                                                              */
/* ------------------------------------------------------------------------- */

static cJSON *load_beds(void)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/beds.json", cl_cfg.music_dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *a = cJSON_Parse(buf);
    if (!cJSON_IsArray(a)) {
        cJSON_Delete(a);
        return NULL;
    }
    return a;
}

/* The bed with this id, or NULL (borrowed from beds). */
static const cJSON *find_bed(const cJSON *beds, const char *id)
{
    const cJSON *b;
    cJSON_ArrayForEach(b, beds)
    {
        const char *bid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "id"));
        if (bid && id && strcmp(bid, id) == 0)
            return b;
    }
    return NULL;
}

char *cl_soundtrack_beds_json(void)
{
    cJSON *beds = load_beds();
    if (!beds)
        return NULL;
    cJSON *out = cJSON_CreateArray();
    const cJSON *b;
    cJSON_ArrayForEach(b, beds)
    {
        cJSON *o = cJSON_CreateObject();
        static const char *const keys[] = {"id", "title", "mood"};
        for (size_t i = 0; i < 3; i++) {
            const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, keys[i]));
            cJSON_AddStringToObject(o, keys[i], v ? v : "");
        }
        cJSON_AddNumberToObject(o, "loop_seconds", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(b, "loop_seconds")));
        cJSON_AddBoolToObject(o, "default", strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "id")) ?: "",
                                                   CL_SOUNDTRACK_DEFAULT_BED) == 0);
        cJSON_AddItemToArray(out, o);
    }
    cJSON_Delete(beds);
    char *s = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    return s;
}

/* GET /api/music/beds — the bundled beds (signed-in users; the same for everyone). */
static void list_beds(cl_req *req, cl_res *res, PGconn *c, cl_user *u)
{
    char *beds = cl_soundtrack_beds_json();
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = beds ? cJSON_Parse(beds) : NULL;
    cJSON_AddItemToObject(o, "beds", arr ? arr : cJSON_CreateArray());
    cJSON_AddBoolToObject(o, "voiceover_available", cl_tts_enabled());
    cJSON_AddStringToObject(o, "tts_provider", cl_cfg.tts_provider);
    free(beds);
    cl_res_json(res, 200, o);
}

void cl_soundtrack_register_routes(void)
{
    cl_route_user("GET", "/api/music/beds", list_beds, CL_AUTH_PRODUCT, 0);
}

/* ------------------------------------------------------------------------- */
/* The per-item choice                                                       */
/* ------------------------------------------------------------------------- */

static int media_id_of(const char *music, int64_t *id)
{
    if (strncmp(music, "media:", 6) != 0 || !isdigit((unsigned char)music[6]))
        return 0;
    char *end;
    long long v = strtoll(music + 6, &end, 10);
    if (*end || v <= 0)
        return 0;
    *id = v;
    return 1;
}

int cl_soundtrack_check_choice(PGconn *c, int64_t project_id, const char *body_json, char **out, char *err,
                               size_t errlen)
{
    *out = NULL;
    cJSON *in = cJSON_Parse(body_json ? body_json : "{}");
    cJSON *o = cJSON_CreateObject();
    int rc = -1;
    if (!cJSON_IsObject(in)) {
        snprintf(err, errlen, "the audio choice must be a JSON object");
        goto out;
    }
    const cJSON *vo = cJSON_GetObjectItemCaseSensitive(in, "voiceover");
    const cJSON *mu = cJSON_GetObjectItemCaseSensitive(in, "music");
    if (vo && !cJSON_IsNull(vo)) {
        if (!cJSON_IsBool(vo)) {
            snprintf(err, errlen, "voiceover must be true or false");
            goto out;
        }
        cJSON_AddBoolToObject(o, "voiceover", cJSON_IsTrue(vo));
    }
    if (mu && !cJSON_IsNull(mu)) {
        const char *m = cJSON_GetStringValue(mu);
        int64_t mid = 0;
        if (!m || !m[0]) {
            snprintf(err, errlen, "music must be a bed id, \"none\" or \"media:<id>\"");
            goto out;
        }
        if (strcmp(m, "none") != 0) {
            if (media_id_of(m, &mid)) {
                cl_media_item it;
                char merr[256];
                int found = cl_media_get(c, project_id, mid, &it, merr, sizeof merr);
                if (found < 0) {
                    snprintf(err, errlen, "checking the music track failed");
                    cl_warn(COMP, "media lookup: %s", merr);
                    rc = -2;
                    goto out;
                }
                if (!found || strcmp(it.kind, "audio") != 0 || strcmp(it.status, "kept") != 0) {
                    snprintf(err, errlen, "music %s is not an audio track of this project's media library", m);
                    goto out;
                }
            } else {
                cJSON *beds = load_beds();
                int known = find_bed(beds, m) != NULL;
                cJSON_Delete(beds);
                if (!known) {
                    snprintf(err, errlen, "music \"%.40s\" is not a bundled bed (see GET /api/music/beds), \"none\" or "
                                          "\"media:<id>\"", m);
                    goto out;
                }
            }
        }
        cJSON_AddStringToObject(o, "music", m);
    }
    *out = cJSON_PrintUnformatted(o);
    rc = *out ? 0 : -1;
    if (rc)
        snprintf(err, errlen, "out of memory");
out:
    cJSON_Delete(in);
    cJSON_Delete(o);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* The composition's audio and captions                                      */
/* ------------------------------------------------------------------------- */

static const char *str(const cJSON *o, const char *k)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
    return s && *s ? s : NULL;
}

/* The language tag for the voice: a BCP 47 "language" of the project when it
   has one, else from language_style (english, pidgin, mixed: all "en"). */
static const char *voice_language(const cJSON *draft, const cJSON *project)
{
    const char *lang = str(project, "language");
    if (lang && strlen(lang) <= 16)
        return lang;
    (void)draft;
    return "en";
}

/* Next whitespace-delimited token of *p into tok; 0 at the end. */
static int next_token(const char **p, char *tok, size_t toklen)
{
    const char *s = *p;
    while (*s && isspace((unsigned char)*s))
        s++;
    if (!*s)
        return 0;
    size_t n = 0;
    while (*s && !isspace((unsigned char)*s)) {
        if (n + 1 < toklen)
            tok[n++] = *s;
        s++;
    }
    tok[n] = '\0';
    *p = s;
    return 1;
}

/* Cues from the lines and the engine's words (shifted by lead): each line takes
   the words that spell its tokens, in order. */
static cJSON *word_cues(const cJSON *lines, const cJSON *words, double lead, double duration)
{
    cJSON *cues = cJSON_CreateArray();
    int nw = cJSON_GetArraySize(words), wi = 0, nl = cJSON_GetArraySize(lines), li = 0;
    const cJSON *line;
    cJSON_ArrayForEach(line, lines)
    {
        li++;
        cJSON *cw = cJSON_CreateArray();
        const char *p = cJSON_GetStringValue(line);
        char tok[256];
        while (p && next_token(&p, tok, sizeof tok) && wi < nw) {
            const cJSON *w = cJSON_GetArrayItem(words, wi);
            const char *wt = str(w, "text");
            if (!wt || strcmp(wt, tok) != 0)
                continue; /* a token the engine did not speak (a lone dash) */
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "text", wt);
            cJSON_AddNumberToObject(o, "start", round((cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(w, "start")) + lead) * 1000) / 1000);
            cJSON_AddNumberToObject(o, "end", round((cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(w, "end")) + lead) * 1000) / 1000);
            cJSON_AddItemToArray(cw, o);
            wi++;
        }
        /* words the lines did not account for go to the last line */
        while (li == nl && wi < nw) {
            const cJSON *w = cJSON_GetArrayItem(words, wi++);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "text", str(w, "text") ? str(w, "text") : "");
            cJSON_AddNumberToObject(o, "start", round((cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(w, "start")) + lead) * 1000) / 1000);
            cJSON_AddNumberToObject(o, "end", round((cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(w, "end")) + lead) * 1000) / 1000);
            cJSON_AddItemToArray(cw, o);
        }
        if (cJSON_GetArraySize(cw) == 0) {
            cJSON_Delete(cw);
            continue;
        }
        cJSON *cue = cJSON_CreateObject();
        cJSON_AddStringToObject(cue, "text", cJSON_GetStringValue(line));
        cJSON_AddNumberToObject(cue, "start", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cw, 0), "start")));
        double end = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cw, cJSON_GetArraySize(cw) - 1), "end"));
        cJSON_AddNumberToObject(cue, "end", end < duration ? end : duration);
        cJSON_AddItemToObject(cue, "words", cw);
        cJSON_AddItemToArray(cues, cue);
    }
    /* A cue stays up until the next one starts (no flicker between lines), the last one 0.4 s longer. */
    int n = cJSON_GetArraySize(cues);
    for (int i = 0; i < n; i++) {
        cJSON *cue = cJSON_GetArrayItem(cues, i);
        double end = i + 1 < n ? cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cues, i + 1), "start"))
                               : fmin(duration, cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cue, "end")) + 0.4);
        cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(cue, "end"), round(end * 1000) / 1000);
    }
    return cues;
}

/* The captions' style from the channel rules' "captions" table, with defaults. */
static cJSON *caption_style(const char *rules_json)
{
    cJSON *rules = rules_json ? cJSON_Parse(rules_json) : NULL;
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(rules, "captions");
    cJSON *st = cJSON_CreateObject();
    const char *pos = str(cs, "position");
    static const char *const positions[] = {"top", "center", "lower_third", "bottom"};
    int ok = 0;
    for (size_t i = 0; pos && i < 4; i++)
        ok |= strcmp(pos, positions[i]) == 0;
    cJSON_AddStringToObject(st, "position", ok ? pos : "lower_third");
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(cs, "font_size");
    cJSON_AddNumberToObject(st, "font_size", cJSON_IsNumber(fs) && fs->valuedouble >= 24 && fs->valuedouble <= 120 ? fs->valueint : 60);
    const char *color = str(cs, "color"), *hl = str(cs, "highlight_color");
    cJSON_AddStringToObject(st, "color", color && strlen(color) == 7 && color[0] == '#' ? color : "#FFFFFF");
    cJSON_AddStringToObject(st, "highlight_color", hl && strlen(hl) == 7 && hl[0] == '#' ? hl : "#FDE68A");
    const cJSON *ol = cJSON_GetObjectItemCaseSensitive(cs, "outline");
    cJSON_AddNumberToObject(st, "outline", cJSON_IsNumber(ol) && ol->valuedouble >= 0 && ol->valuedouble <= 12 ? ol->valueint : 5);
    const cJSON *box = cJSON_GetObjectItemCaseSensitive(cs, "box");
    cJSON_AddBoolToObject(st, "box", box ? cJSON_IsTrue(box) : 1);
    cJSON_Delete(rules);
    return st;
}

/* One composition's soundtrack in the making: the inputs parsed, what is added. */
typedef struct {
    PGconn *c;
    int64_t project_id;
    const char *dir;
    cJSON *cj, *draft, *project, *choice, *lines, *audio, *meta, *beds;
    double duration;
    int want_voice;
    int *code;
    char *err;
    size_t errlen;
} soundtrack;

/* Voice: an engine failure's message for the user (the engine's words, or
   what happened locally, never where). */
static void voice_error(soundtrack *st, int t, const cl_error *terr)
{
    *st->code = t;
    if (t == CL_EIO) {
        cl_warn(COMP, "voiceover: %s", terr->message);
        int full = strstr(terr->message, strerror(ENOSPC)) || strstr(terr->message, strerror(EDQUOT)) ||
                   strstr(terr->message, strerror(EFBIG));
        snprintf(st->err, st->errlen, full ? "There was no room left to store the video, so nothing was kept. "
                                             "Try the render again later."
                                           : "The voiceover could not be made: its audio file could not be written. "
                                             "Try the render again later.");
    } else {
        snprintf(st->err, st->errlen, "The voiceover could not be made (%s): %s", cl_cfg.tts_provider, terr->message);
    }
}

/* A voice longer than the video makes the video longer (up to 60 s); the
   layers that ran to the end still do. */
static void fit_duration(soundtrack *st, double voice_seconds)
{
    double need = ceil(CL_CAPTIONS_LEAD + voice_seconds + VO_TAIL);
    if (need <= st->duration)
        return;
    double nd = need > MAX_DURATION ? MAX_DURATION : need;
    cJSON *layer;
    cJSON_ArrayForEach(layer, cJSON_GetObjectItemCaseSensitive(st->cj, "layers"))
    {
        cJSON *e = cJSON_GetObjectItemCaseSensitive(layer, "end");
        if (cJSON_IsNumber(e) && fabs(e->valuedouble - st->duration) < 1e-6)
            cJSON_SetNumberValue(e, nd);
    }
    cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(st->cj, "duration"), nd);
    st->duration = nd;
}

/* Step 1: the voiceover of the spoken lines through the tts capability. 0 or -1. */
static int add_voiceover(soundtrack *st, cl_call *call)
{
    if (!st->want_voice)
        return 0;
    cl_buf text = CL_BUF_INIT, m = CL_BUF_INIT;
    const cJSON *l;
    cJSON_ArrayForEach(l, st->lines)
    {
        if (text.len)
            cl_buf_puts(&text, " ");
        cl_buf_puts(&text, cJSON_GetStringValue(l));
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/voiceover.audio", st->dir);
    cl_error terr = CL_ERROR_INIT;
    int t = cl_tts_synthesize(NULL, text.data, voice_language(st->draft, st->project), path, call, &m, &terr);
    cl_buf_free(&text);
    if (t != CL_OK) {
        voice_error(st, t, &terr);
        cl_buf_free(&m);
        return -1;
    }
    st->meta = cJSON_Parse(m.data);
    cl_buf_free(&m);
    fit_duration(st, cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st->meta, "duration")));
    cJSON *v = cJSON_AddObjectToObject(st->audio, "voiceover");
    cJSON_AddStringToObject(v, "path", path);
    cJSON_AddNumberToObject(v, "start", CL_CAPTIONS_LEAD);
    cJSON_AddNumberToObject(v, "gain_db", 0);
    return 0;
}

/* Step 2: the music: the chosen bed or the owner's track, or none. 0 or -1. */
static int add_music(soundtrack *st)
{
    const char *music = str(st->choice, "music");
    if (!music)
        music = CL_SOUNDTRACK_DEFAULT_BED;
    if (strcmp(music, "none") == 0)
        return 0;
    int64_t mid = 0;
    char mpath[1200];
    double loop = 0;
    if (media_id_of(music, &mid)) {
        char merr[256];
        int got = cl_media_materialize_id(st->c, st->project_id, mid, st->dir, mpath, sizeof mpath, NULL, merr,
                                          sizeof merr);
        if (got <= 0) {
            *st->code = got == 0 ? CL_EINVAL : CL_EIO;
            snprintf(st->err, st->errlen,
                     got == 0 ? "The chosen music track (%s) is no longer in the media library; "
                                "pick another one and render again."
                              : "The chosen music track (%s) could not be read; try again later.",
                     music);
            if (got < 0)
                cl_warn(COMP, "materializing %s: %s", music, merr);
            return -1;
        }
    } else {
        st->beds = load_beds();
        const cJSON *bed = find_bed(st->beds, music);
        if (!bed) {
            *st->code = CL_EINVAL;
            snprintf(st->err, st->errlen, "The music bed \"%s\" is not installed (CLIPLOOP_MUSIC_DIR=%s)", music,
                     cl_cfg.music_dir);
            return -1;
        }
        snprintf(mpath, sizeof mpath, "%s/%s.flac", cl_cfg.music_dir, music);
        loop = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(bed, "loop_seconds"));
    }
    cJSON *m = cJSON_AddObjectToObject(st->audio, "music");
    cJSON_AddStringToObject(m, "path", mpath);
    cJSON_AddNumberToObject(m, "gain_db", st->want_voice ? -10 : 0);
    cJSON_AddBoolToObject(m, "duck", 1);
    if (loop > 0)
        cJSON_AddNumberToObject(m, "loop_seconds", loop);
    return 0;
}

/* Step 3: the audio block, when there is a voice or music (else the silent track). */
static void add_audio(soundtrack *st)
{
    if (!cJSON_GetObjectItemCaseSensitive(st->audio, "voiceover") && !cJSON_GetObjectItemCaseSensitive(st->audio, "music"))
        return;
    cJSON_AddNumberToObject(st->audio, "target_lufs", -14);
    cJSON_AddItemToObject(st->cj, "audio", st->audio);
    st->audio = NULL;
}

/* Step 4: the captions (host/render/caption_track.h): the spoken lines,
   word-timed with a voice, else the draft's voiceover lines line-timed. */
static void add_captions(soundtrack *st, const char *rules_json, cl_captions_mode mode)
{
    cJSON *cues = NULL;
    if (mode == CL_CAPTIONS_WORDS && st->meta)
        cues = word_cues(st->lines, cJSON_GetObjectItemCaseSensitive(st->meta, "words"), CL_CAPTIONS_LEAD, st->duration);
    else if (mode == CL_CAPTIONS_LINES)
        cues = cl_captions_line_cues(st->lines, st->duration);
    if (cues && cJSON_GetArraySize(cues) > 0) {
        cJSON *caps = cJSON_AddObjectToObject(st->cj, "captions");
        cJSON_AddStringToObject(caps, "mode", cl_captions_mode_name(mode));
        cJSON_AddItemToObject(caps, "style", caption_style(rules_json));
        cJSON_AddItemToObject(caps, "cues", cues);
    } else {
        cJSON_Delete(cues);
    }
}

int cl_soundtrack_apply(PGconn *c, int64_t project_id, const char *draft_json, const char *project_json,
                        const char *choice_json, const char *rules_json, const char *dir, cl_call *call,
                        cl_buf *comp, int *code, char *err, size_t errlen)
{
    *code = CL_OK;
    soundtrack st = {.c = c, .project_id = project_id, .dir = dir, .code = code, .err = err, .errlen = errlen};
    st.cj = cJSON_Parse(comp->data ? comp->data : "");
    st.draft = cJSON_Parse(draft_json ? draft_json : "{}");
    st.project = cJSON_Parse(project_json ? project_json : "{}");
    st.choice = cJSON_Parse(choice_json ? choice_json : "{}");
    st.lines = cl_captions_spoken_lines(st.draft);
    st.audio = cJSON_CreateObject();
    cJSON *rules = rules_json ? cJSON_Parse(rules_json) : NULL;
    int rc = -1;
    if (!cJSON_IsObject(st.cj)) {
        snprintf(err, errlen, "the composition is not a JSON object");
        *code = CL_EINVAL;
        goto out;
    }
    st.duration = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st.cj, "duration"));
    if (!(st.duration > 0))
        st.duration = 15;
    st.want_voice = cl_captions_want_voice(st.draft, st.choice, cl_tts_enabled());
    cl_captions_mode mode = cl_captions_mode_for(st.draft, st.choice, rules, cl_tts_enabled());
    if (add_voiceover(&st, call) != 0 || add_music(&st) != 0)
        goto out;
    add_audio(&st);
    add_captions(&st, rules_json, mode);
    char *text = cJSON_PrintUnformatted(st.cj);
    if (!text) {
        *code = CL_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    cl_buf_free(comp);
    cl_buf_puts(comp, text);
    free(text);
    rc = 0;
out:
    cJSON_Delete(st.cj);
    cJSON_Delete(st.draft);
    cJSON_Delete(st.project);
    cJSON_Delete(st.choice);
    cJSON_Delete(st.lines);
    cJSON_Delete(st.audio);
    cJSON_Delete(st.meta);
    cJSON_Delete(st.beds);
    cJSON_Delete(rules);
    return rc;
}
