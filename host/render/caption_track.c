/*
 * caption_track.c — see caption_track.h.
 */
#include "render/caption_track.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *str(const cJSON *o, const char *k)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
    return s && *s ? s : NULL;
}

/* The draft's non-empty voiceover lines into lines (when not NULL); their count. */
static int voiceover_lines(const cJSON *draft, cJSON *lines)
{
    int n = 0;
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(draft, "voiceover"))
    {
        const char *s = cJSON_GetStringValue(l);
        if (!s || !*s)
            continue;
        n++;
        if (lines)
            cJSON_AddItemToArray(lines, cJSON_CreateString(s));
    }
    return n;
}

cJSON *cl_captions_spoken_lines(const cJSON *draft)
{
    cJSON *lines = cJSON_CreateArray();
    if (voiceover_lines(draft, lines) == 0) {
        const char *hook = str(draft, "hook"), *cta = str(draft, "cta");
        if (hook)
            cJSON_AddItemToArray(lines, cJSON_CreateString(hook));
        if (cta)
            cJSON_AddItemToArray(lines, cJSON_CreateString(cta));
    }
    return lines;
}

int cl_captions_want_voice(const cJSON *draft, const cJSON *choice, int tts_on)
{
    if (!tts_on || cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(choice, "voiceover")))
        return 0;
    return voiceover_lines(draft, NULL) > 0 || str(draft, "hook") || str(draft, "cta");
}

cl_captions_mode cl_captions_mode_for(const cJSON *draft, const cJSON *choice, const cJSON *rules, int tts_on)
{
    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(rules, "captions")))
        return CL_CAPTIONS_NONE;
    if (cl_captions_want_voice(draft, choice, tts_on))
        return CL_CAPTIONS_WORDS;
    return voiceover_lines(draft, NULL) > 0 ? CL_CAPTIONS_LINES : CL_CAPTIONS_NONE;
}

const char *cl_captions_mode_name(cl_captions_mode m)
{
    return m == CL_CAPTIONS_WORDS ? "words" : m == CL_CAPTIONS_LINES ? "lines" : "none";
}

cJSON *cl_captions_line_cues(const cJSON *lines, double duration)
{
    cJSON *cues = cJSON_CreateArray();
    double total = 0, t = CL_CAPTIONS_LEAD, span = duration - 2 * CL_CAPTIONS_LEAD;
    const cJSON *l;
    cJSON_ArrayForEach(l, lines) total += strlen(cJSON_GetStringValue(l)) + 8;
    cJSON_ArrayForEach(l, lines)
    {
        double d = span * (strlen(cJSON_GetStringValue(l)) + 8) / total;
        cJSON *cue = cJSON_CreateObject();
        cJSON_AddStringToObject(cue, "text", cJSON_GetStringValue(l));
        cJSON_AddNumberToObject(cue, "start", round(t * 1000) / 1000);
        cJSON_AddNumberToObject(cue, "end", round((t + d) * 1000) / 1000);
        cJSON_AddItemToArray(cues, cue);
        t += d;
    }
    return cues;
}

/* "00:00:06.000" */
static void vtt_time(double s, char *out, size_t len)
{
    long ms = lround(s * 1000);
    if (ms < 0)
        ms = 0;
    snprintf(out, len, "%02ld:%02ld:%02ld.%03ld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
}

/* Cue text: no blank lines (they end a cue) and no "-->" inside it. */
static int put_cue_text(cl_buf *out, const char *s)
{
    int rc = 0;
    for (const char *p = s; *p && !rc; p++) {
        if (*p == '\n' && (p[1] == '\n' || p[1] == '\0'))
            continue;
        if (p[0] == '-' && p[1] == '-' && p[2] == '>') {
            rc = cl_buf_puts(out, "--&gt;");
            p += 2;
        } else if (*p == '<') {
            rc = cl_buf_puts(out, "&lt;");
        } else if (*p == '&') {
            rc = cl_buf_puts(out, "&amp;");
        } else {
            rc = cl_buf_append(out, p, 1);
        }
    }
    return rc;
}

int cl_captions_vtt(const cJSON *cues, cl_buf *out)
{
    int rc = cl_buf_puts(out, "WEBVTT\n"), n = 0;
    char prev[80] = "";
    const char *prev_text = NULL;
    const cJSON *cue;
    cJSON_ArrayForEach(cue, cues)
    {
        const char *text = str(cue, "text");
        const cJSON *start = cJSON_GetObjectItemCaseSensitive(cue, "start");
        const cJSON *end = cJSON_GetObjectItemCaseSensitive(cue, "end");
        if (!text || !cJSON_IsNumber(start) || !cJSON_IsNumber(end) || end->valuedouble <= start->valuedouble)
            continue;
        char a[32], b[32], span[80];
        vtt_time(start->valuedouble, a, sizeof a);
        vtt_time(end->valuedouble, b, sizeof b);
        snprintf(span, sizeof span, "%s --> %s", a, b);
        if (prev_text && strcmp(prev_text, text) == 0 && strcmp(prev, span) == 0)
            continue; /* the same words at the same times again are one cue */
        prev_text = text;
        snprintf(prev, sizeof prev, "%s", span);
        rc = rc || cl_buf_printf(out, "\n%d\n%s\n", ++n, span) || put_cue_text(out, text) || cl_buf_puts(out, "\n");
    }
    return rc ? -1 : 0;
}
