/*
 * tts_espeak.c — a tts engine (id "espeak") on libespeak-ng, offline.
 *
 * espeak-ng synthesizes in process (AUDIO_OUTPUT_SYNCHRONOUS): its callback
 * receives 16-bit mono PCM at the engine's native rate (22050 Hz) with the
 * word events of each buffer, which give every word's start in the audio
 * ("timings": "engine"). A word ends where the next one starts, or at the
 * end of its sentence / of the message. The PCM goes into a WAV file at the
 * native rate; the mix resamples it to 48 kHz (plugins/render_common/rc_audio.c).
 *
 * The library keeps global state, so the capability is CL_CAP_SERIALIZED
 * (the host runs one synthesis at a time) and initializes on first use.
 *
 * Configuration (section TTS_ESPEAK):
 *   TTS_ESPEAK_VOICE   a voice name for espeak_SetVoiceByName (e.g. "en-us+f3");
 *                      default: the voice of the request's language
 *   TTS_ESPEAK_RATE    words per minute, 80..450, default 165
 *   TTS_ESPEAK_DATA    the espeak-ng-data directory's parent; default the library's
 *
 * Language: the request's BCP 47 tag lower-cased ("pt-BR" -> "pt-br", then
 * "pt"); a language espeak-ng has no voice for is spoken with the English
 * voice and the answer's "language" says "en" (never silently another).
 */
#include "cliploop_plugin.h"
#include "pl_json.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <errno.h>
#include <espeak-ng/speak_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_TEXT_BYTES 4000
#define MAX_WORDS 1024
/* Words per minute unless TTS_ESPEAK_RATE says otherwise. */
#define ES_DEFAULT_WPM 165

static int sample_rate; /* > 0 once espeak is initialized */
static char init_error[256];

typedef struct {
    int text_pos; /* 1-based character position in the text */
    int length;   /* characters */
    int audio_ms;
    int sentence_end_ms; /* -1 until a later sentence/end event closes it */
} word_ev;

/* State of one synthesis, reached from the callback (one at a time: serialized). */
typedef struct {
    FILE *f;
    long long samples;
    int io_error;
    int stop; /* 1 cancelled, 2 deadline */
    cl_call *call;
    struct timespec deadline;
    word_ev words[MAX_WORDS];
    int n_words;
} synth_state;

static synth_state *cur;

static int past(const struct timespec *d)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > d->tv_sec || (now.tv_sec == d->tv_sec && now.tv_nsec >= d->tv_nsec);
}

static int synth_cb(short *wav, int numsamples, espeak_EVENT *events)
{
    synth_state *s = cur;
    if (!s)
        return 1;
    if (wav && numsamples > 0) {
        if (fwrite(wav, sizeof(short), (size_t)numsamples, s->f) != (size_t)numsamples)
            s->io_error = errno ? errno : EIO;
        s->samples += numsamples;
    }
    for (espeak_EVENT *e = events; e && e->type != espeakEVENT_LIST_TERMINATED; e++) {
        if (e->type == espeakEVENT_WORD && s->n_words < MAX_WORDS) {
            s->words[s->n_words++] = (word_ev){e->text_position, e->length, e->audio_position, -1};
        } else if ((e->type == espeakEVENT_SENTENCE || e->type == espeakEVENT_MSG_TERMINATED ||
                    e->type == espeakEVENT_END) &&
                   s->n_words > 0 && s->words[s->n_words - 1].sentence_end_ms < 0 &&
                   e->audio_position > s->words[s->n_words - 1].audio_ms) {
            s->words[s->n_words - 1].sentence_end_ms = e->audio_position;
        }
    }
    if (clp_cancelled(s->call))
        s->stop = 1;
    else if (past(&s->deadline))
        s->stop = 2;
    return s->stop || s->io_error ? 1 : 0;
}

/* Initialize the library once (under the capability's lock). 0 or -1 (init_error). */
static int ensure_init(void)
{
    if (sample_rate > 0)
        return 0;
    if (init_error[0])
        return -1;
    const char *data = clp_config("DATA");
    int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 200, data && *data ? data : NULL,
                                 espeakINITIALIZE_DONT_EXIT);
    if (rate <= 0) {
        snprintf(init_error, sizeof init_error,
                 "espeak-ng could not start (its data was not found%s%s%s; install espeak-ng-data)",
                 data && *data ? " under TTS_ESPEAK_DATA=" : "", data && *data ? data : "", "");
        return -1;
    }
    espeak_SetSynthCallback(synth_cb);
    sample_rate = rate;
    return 0;
}

/* Select the voice for lang (may be NULL). Writes the language used to used. */
static int select_voice(const char *lang, char *used, size_t usedlen, cl_error *err)
{
    const char *voice = clp_config("VOICE");
    if (voice && *voice) {
        if (espeak_SetVoiceByName(voice) != EE_OK)
            return cl_error_set(err, CL_EUNSUPPORTED, "TTS_ESPEAK_VOICE=%.64s is not an espeak-ng voice", voice);
        snprintf(used, usedlen, "%s", voice);
        return CL_OK;
    }
    char tag[32] = "";
    size_t n = 0;
    for (const char *p = lang ? lang : ""; *p && n + 1 < sizeof tag; p++) {
        char c = (char)tolower((unsigned char)*p);
        if (!(isalnum((unsigned char)c) || c == '-' || c == '_'))
            return cl_error_set(err, CL_EINVAL, "language '%.32s' is not a language tag", lang);
        tag[n++] = c == '_' ? '-' : c;
    }
    tag[n] = '\0';
    /* Try the whole tag, then its primary subtag, then English. */
    char tries[3][32];
    int nt = 0;
    if (tag[0]) {
        snprintf(tries[nt++], sizeof tries[0], "%s", tag);
        char *dash = strchr(tag, '-');
        if (dash) {
            *dash = '\0';
            snprintf(tries[nt++], sizeof tries[0], "%s", tag);
        }
    }
    snprintf(tries[nt++], sizeof tries[0], "en");
    for (int i = 0; i < nt; i++) {
        espeak_VOICE spec;
        memset(&spec, 0, sizeof spec);
        spec.languages = tries[i];
        if (espeak_SetVoiceByProperties(&spec) == EE_OK) {
            const espeak_VOICE *v = espeak_GetCurrentVoice();
            /* espeak picks *some* voice for any tag; accept it only when it speaks the language. */
            if (i == nt - 1 || (v && v->languages && strncmp(v->languages + 1, tries[i], strlen(tries[i])) == 0)) {
                snprintf(used, usedlen, "%s", tries[i]);
                return CL_OK;
            }
        }
    }
    return cl_error_set(err, CL_EUNSUPPORTED, "espeak-ng has no English voice (install espeak-ng-data)");
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8), p[2] = (unsigned char)(v >> 16), p[3] = (unsigned char)(v >> 24);
}

static void wav_header(unsigned char h[44], int rate, uint32_t data_bytes)
{
    memcpy(h, "RIFF", 4);
    put_le32(h + 4, 36 + data_bytes);
    memcpy(h + 8, "WAVEfmt ", 8);
    put_le32(h + 16, 16);
    h[20] = 1, h[21] = 0; /* PCM */
    h[22] = 1, h[23] = 0; /* mono */
    put_le32(h + 24, (uint32_t)rate);
    put_le32(h + 28, (uint32_t)rate * 2);
    h[32] = 2, h[33] = 0;  /* block align */
    h[34] = 16, h[35] = 0; /* bits */
    memcpy(h + 36, "data", 4);
    put_le32(h + 40, data_bytes);
}

/* Byte offset of the 1-based character position pos in UTF-8 text. */
static size_t char_to_byte(const char *text, int pos)
{
    size_t b = 0;
    int ch = 1;
    while (text[b] && ch < pos) {
        b++;
        while (((unsigned char)text[b] & 0xC0) == 0x80)
            b++;
        ch++;
    }
    return b;
}

static int es_synthesize(void *self, cl_call *call, const cl_tts_request *req, cl_output *out, cl_error *err)
{
    (void)self;
    if (!req->text || !req->text[0])
        return cl_error_set(err, CL_EINVAL, "the voiceover text is empty");
    size_t len = strlen(req->text);
    if (len > MAX_TEXT_BYTES)
        return cl_error_set(err, CL_EINVAL, "the voiceover text is %zu bytes; at most %d", len, MAX_TEXT_BYTES);
    if (!req->out_path || !req->out_path[0])
        return cl_error_set(err, CL_EINVAL, "out_path is required");
    if (ensure_init() != 0)
        return cl_error_set(err, CL_EUNSUPPORTED, "%s", init_error);
    char used[64];
    int rc = select_voice(req->language, used, sizeof used, err);
    if (rc != CL_OK)
        return rc;
    int wpm = (int)clp_config_range("RATE", ES_DEFAULT_WPM, espeakRATE_MINIMUM, espeakRATE_MAXIMUM);
    espeak_SetParameter(espeakRATE, wpm, 0);

    synth_state *s = calloc(1, sizeof *s);
    if (!s)
        return cl_error_set(err, CL_ENOMEM, "out of memory");
    s->f = fopen(req->out_path, "wb");
    if (!s->f) {
        int e = errno;
        free(s);
        return cl_error_set(err, CL_EIO, "cannot write %s: %s", req->out_path, strerror(e));
    }
    unsigned char h[44];
    wav_header(h, sample_rate, 0);
    fwrite(h, 1, sizeof h, s->f);
    s->call = call;
    clock_gettime(CLOCK_MONOTONIC, &s->deadline);
    int tmo = req->timeout_ms > 0 ? req->timeout_ms : 60000;
    s->deadline.tv_sec += tmo / 1000;
    s->deadline.tv_nsec += (long)(tmo % 1000) * 1000000L;
    if (s->deadline.tv_nsec >= 1000000000L)
        s->deadline.tv_sec++, s->deadline.tv_nsec -= 1000000000L;
    cur = s;
    espeak_ERROR er = espeak_Synth(req->text, len + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8 | espeakENDPAUSE,
                                   NULL, NULL);
    cur = NULL;
    rc = CL_OK;
    if (s->stop == 1)
        rc = cl_error_set(err, CL_ECANCELLED, "the voiceover synthesis was cancelled");
    else if (s->stop == 2)
        rc = cl_error_set(err, CL_ETIMEOUT, "the voiceover synthesis ran past its %d ms deadline", tmo);
    else if (s->io_error)
        rc = cl_error_set(err, CL_EIO, "writing %s failed: %s", req->out_path, strerror(s->io_error));
    else if (er != EE_OK)
        rc = cl_error_set(err, CL_EUPSTREAM, "espeak-ng failed to synthesize the text (error %d)", (int)er);
    else if (s->samples <= 0 || s->n_words == 0)
        rc = cl_error_set(err, CL_EINVAL, "the voiceover text has nothing to speak");
    if (rc == CL_OK) {
        uint32_t bytes = (uint32_t)(s->samples * 2);
        wav_header(h, sample_rate, bytes);
        if (fseek(s->f, 0, SEEK_SET) != 0 || fwrite(h, 1, sizeof h, s->f) != sizeof h)
            rc = cl_error_set(err, CL_EIO, "writing %s failed: %s", req->out_path, strerror(errno));
    }
    if (fclose(s->f) != 0 && rc == CL_OK)
        rc = cl_error_set(err, CL_EIO, "writing %s failed: %s", req->out_path, strerror(errno));
    if (rc != CL_OK) {
        unlink(req->out_path);
        free(s);
        return rc;
    }

    double duration = (double)s->samples / sample_rate;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "duration", round(duration * 1000) / 1000);
    cJSON_AddNumberToObject(o, "sample_rate", sample_rate);
    cJSON_AddStringToObject(o, "timings", "engine");
    cJSON_AddStringToObject(o, "language", used);
    cJSON *arr = cJSON_AddArrayToObject(o, "words");
    /* Each word event names a span of the text; captions show the text's own
       tokens (whitespace-delimited, punctuation kept: "50%" is one token even
       though espeak speaks it as two words), so events inside one token merge. */
    double last_end = 0;
    size_t prev_tok = (size_t)-1;
    cJSON *prev = NULL;
    for (int i = 0; i < s->n_words; i++) {
        const word_ev *w = &s->words[i];
        size_t b0 = char_to_byte(req->text, w->text_pos);
        if (b0 >= len)
            continue;
        size_t t0 = b0, t1 = b0;
        while (t0 > 0 && !isspace((unsigned char)req->text[t0 - 1]))
            t0--;
        while (t1 < len && !isspace((unsigned char)req->text[t1]))
            t1++;
        double start = w->audio_ms / 1000.0;
        double end = w->sentence_end_ms > w->audio_ms ? w->sentence_end_ms / 1000.0
                     : i + 1 < s->n_words            ? s->words[i + 1].audio_ms / 1000.0
                                                     : duration;
        if (end > duration)
            end = duration;
        end = round(end * 1000) / 1000;
        if (t0 == prev_tok && prev) {
            if (end > last_end) {
                cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(prev, "end"), end);
                last_end = end;
            }
            continue;
        }
        if (start < last_end)
            start = last_end;
        start = round(start * 1000) / 1000;
        if (end <= start + 0.01)
            continue; /* a word espeak merged into its neighbour */
        char word[256];
        size_t wl = t1 - t0 < sizeof word - 1 ? t1 - t0 : sizeof word - 1;
        memcpy(word, req->text + t0, wl);
        word[wl] = '\0';
        cJSON *jw = cJSON_CreateObject();
        cJSON_AddStringToObject(jw, "text", word);
        cJSON_AddNumberToObject(jw, "start", start);
        cJSON_AddNumberToObject(jw, "end", end);
        cJSON_AddItemToArray(arr, jw);
        prev = jw;
        prev_tok = t0;
        last_end = end;
    }
    free(s);
    rc = pl_out_json(out, err, o);
    if (rc != CL_OK)
        unlink(req->out_path);
    return rc;
}

static int es_configured(void *self, char *missing, size_t missing_len)
{
    (void)self;
    if (ensure_init() == 0)
        return 1;
    snprintf(missing, missing_len, "espeak-ng-data (%s)", init_error);
    return 0;
}

static int es_setup(cl_error *err)
{
    cl_tts t = {
        .base = {.kind = CL_CAP_TTS,
                 .id = "espeak",
                 .description = "espeak-ng speech synthesis, offline, with word timings",
                 .flags = CL_CAP_SERIALIZED},
        .synthesize = es_synthesize,
        .configured = es_configured,
    };
    int rc = clp_register(&t);
    return rc ? cl_error_set(err, rc, "registering tts 'espeak' failed") : CL_OK;
}

CL_PLUGIN("tts_espeak", "1.0.0", "TTS_ESPEAK", es_setup)
