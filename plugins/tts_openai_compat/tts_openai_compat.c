/*
 * tts_openai_compat.c — a tts engine (id "openai_compat") for any server that
 * speaks OpenAI's speech endpoint:
 *
 *   POST <TTS_OPENAI_COMPAT_BASE_URL>/audio/speech
 *        Authorization: Bearer <key>   (when a key is set)
 *        {"model", "input", "voice", "response_format": "wav"}
 *   200  the audio bytes (WAV asked for; anything libavformat decodes is accepted)
 *
 * through the host's HTTP client (its private-address guard, deadline and
 * size cap apply). Configuration (section TTS_OPENAI_COMPAT, like the LLM's):
 *   TTS_OPENAI_COMPAT_BASE_URL    required; the API root before /audio/speech (".../v1")
 *   TTS_OPENAI_COMPAT_MODEL       required ("tts-1", "kokoro", ...)
 *   TTS_OPENAI_COMPAT_VOICE       default "alloy"
 *   TTS_OPENAI_COMPAT_API_KEY     optional; never logged, wiped after the call
 *   TTS_OPENAI_COMPAT_TIMEOUT_MS  per attempt; default the request's deadline (TTS_TIMEOUT_MS)
 *   TTS_OPENAI_COMPAT_MAX_RETRIES retries on 429/5xx, 0..5, default 1
 *
 * Errors: 401/403 CL_EAUTH, 400/404/422 CL_EINVAL with the server's message,
 * 429 CL_ERATELIMIT (Retry-After), 5xx CL_EUPSTREAM with the server's message,
 * the deadline CL_ETIMEOUT (not retried), a 200 that is not decodable audio
 * CL_EMALFORMED, missing settings CL_EUNSUPPORTED naming them.
 *
 * Word timings are estimated ("timings": "estimated"): the endpoint returns
 * audio only. The answer is decoded to find where speech starts and ends
 * (the first and last 10 ms window above -40 dBFS); each whitespace-delimited
 * token of the text gets a share of that span proportional to its syllables
 * (groups of vowels, at least one per token), and punctuation at a token's
 * end adds a pause after it (2 syllables' worth after , ; : and 4 after . ! ?).
 */
#include "cliploop_plugin.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/samplefmt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_TEXT_BYTES 4000
#define MAX_AUDIO_BYTES (32u << 20)

static const cl_host_api *api;
static cl_plugin_ctx *pctx;

static const char *cfg(const char *key)
{
    const char *v = api->config_get(pctx, key);
    return v && *v ? v : NULL;
}

static int oc_configured(void *self, char *missing, size_t missing_len)
{
    (void)self;
    int base = cfg("BASE_URL") != NULL, model = cfg("MODEL") != NULL;
    if (base && model)
        return 1;
    snprintf(missing, missing_len, "%s%s%s", base ? "" : "TTS_OPENAI_COMPAT_BASE_URL", !base && !model ? ", " : "",
             model ? "" : "TTS_OPENAI_COMPAT_MODEL");
    return 0;
}

/* The server's error message from a JSON body ({"error":{"message"}}, {"error":"…"},
   {"message"}, {"detail"}), else the start of the body; control characters as spaces. */
static void upstream_message(const char *body, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!body)
        return;
    cJSON *j = cJSON_Parse(body);
    const char *m = NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (cJSON_IsObject(e))
        m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "message"));
    else if (cJSON_IsString(e))
        m = e->valuestring;
    if (!m)
        m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "message"));
    if (!m)
        m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "detail"));
    if (!m)
        m = body;
    size_t n = 0;
    for (; m[n] && n < 300 && n + 1 < outlen; n++)
        out[n] = ((unsigned char)m[n] < 0x20 || m[n] == 0x7f) ? ' ' : m[n];
    out[n] = '\0';
    cJSON_Delete(j);
}

/* Decode path: duration in seconds and the first/last time above -40 dBFS. 0 or -1. */
static int measure(const char *path, double *duration, double *speech0, double *speech1, int *rate)
{
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    int rc = -1;
    if (!pkt || !f || avformat_open_input(&fmt, path, NULL, NULL) < 0 || avformat_find_stream_info(fmt, NULL) < 0)
        goto out;
    int si = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (si < 0)
        goto out;
    const AVCodec *c = avcodec_find_decoder(fmt->streams[si]->codecpar->codec_id);
    if (!c || !(dec = avcodec_alloc_context3(c)) ||
        avcodec_parameters_to_context(dec, fmt->streams[si]->codecpar) < 0 || avcodec_open2(dec, c, NULL) < 0)
        goto out;
    long long samples = 0, first = -1, last = -1;
    int win = 0;
    double acc = 0;
    int sr = dec->sample_rate > 0 ? dec->sample_rate : 24000, winlen = sr / 100;
    const double thr = pow(10, -40.0 / 20);
    for (int flushing = 0;;) {
        int e;
        if (!flushing) {
            e = av_read_frame(fmt, pkt);
            if (e < 0) {
                flushing = 1;
                avcodec_send_packet(dec, NULL);
            } else {
                if (pkt->stream_index == si)
                    avcodec_send_packet(dec, pkt);
                av_packet_unref(pkt);
            }
        }
        while ((e = avcodec_receive_frame(dec, f)) >= 0) {
            int planar = av_sample_fmt_is_planar(f->format), ch = f->ch_layout.nb_channels;
            enum AVSampleFormat pf = av_get_packed_sample_fmt(f->format);
            for (int i = 0; i < f->nb_samples; i++) {
                const uint8_t *p = planar ? f->extended_data[0] + (size_t)i * av_get_bytes_per_sample(pf)
                                          : f->extended_data[0] + (size_t)i * ch * av_get_bytes_per_sample(pf);
                double v = pf == AV_SAMPLE_FMT_S16 ? *(const int16_t *)p / 32768.0
                           : pf == AV_SAMPLE_FMT_FLT ? *(const float *)p
                           : pf == AV_SAMPLE_FMT_S32 ? *(const int32_t *)p / 2147483648.0
                           : pf == AV_SAMPLE_FMT_DBL ? *(const double *)p
                           : pf == AV_SAMPLE_FMT_U8  ? (*p - 128) / 128.0
                                                     : 0;
                acc += v * v;
                if (++win == winlen) {
                    if (sqrt(acc / win) > thr) {
                        if (first < 0)
                            first = samples + i + 1 - win;
                        last = samples + i + 1;
                    }
                    win = 0, acc = 0;
                }
            }
            samples += f->nb_samples;
        }
        if (flushing && e == AVERROR_EOF)
            break;
        if (flushing && e != AVERROR(EAGAIN))
            break;
    }
    if (samples <= 0)
        goto out;
    *rate = sr;
    *duration = (double)samples / sr;
    *speech0 = first >= 0 ? (double)first / sr : 0;
    *speech1 = last > 0 ? (double)last / sr : *duration;
    rc = 0;
out:
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return rc;
}

static int syllables(const char *w, size_t n)
{
    int s = 0, in = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)tolower((unsigned char)w[i]);
        int vowel = strchr("aeiouy", c) != NULL || c >= 0x80; /* non-ASCII letters count as vowels */
        if (vowel && !in)
            s++;
        in = vowel;
        if (isdigit(c) && (i == 0 || !isdigit((unsigned char)w[i - 1])))
            s += 2; /* a number is said as words */
    }
    return s > 0 ? s : 1;
}

/* The estimated words (see the header comment) as a JSON array. */
static cJSON *estimate_words(const char *text, double s0, double s1)
{
    struct tok {
        size_t b, n;
        int syl, pause;
    } toks[1024];
    int nt = 0;
    double total = 0;
    for (size_t i = 0; text[i] && nt < 1024;) {
        while (text[i] && isspace((unsigned char)text[i]))
            i++;
        if (!text[i])
            break;
        size_t b = i;
        while (text[i] && !isspace((unsigned char)text[i]))
            i++;
        char last = text[i - 1];
        toks[nt] = (struct tok){b, i - b, syllables(text + b, i - b),
                                strchr(".!?", last) ? 4 : strchr(",;:", last) ? 2 : 0};
        total += toks[nt].syl + (nt > 0 ? toks[nt - 1].pause : 0);
        nt++;
    }
    cJSON *arr = cJSON_CreateArray();
    double span = s1 - s0, t = s0;
    for (int k = 0; k < nt && total > 0; k++) {
        if (k > 0)
            t += span * toks[k - 1].pause / total;
        double d = span * toks[k].syl / total;
        char w[256];
        size_t n = toks[k].n < sizeof w - 1 ? toks[k].n : sizeof w - 1;
        memcpy(w, text + toks[k].b, n);
        w[n] = '\0';
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "text", w);
        cJSON_AddNumberToObject(o, "start", round(t * 1000) / 1000);
        cJSON_AddNumberToObject(o, "end", round((t + d) * 1000) / 1000);
        cJSON_AddItemToArray(arr, o);
        t += d;
    }
    return arr;
}

static int oc_synthesize(void *self, cl_call *call, const cl_tts_request *req, cl_output *out, cl_error *err)
{
    (void)self;
    char missing[200];
    if (!oc_configured(NULL, missing, sizeof missing))
        return cl_error_set(err, CL_EUNSUPPORTED, "the OpenAI-compatible voice is not configured: set %s", missing);
    if (!req->text || !req->text[0])
        return cl_error_set(err, CL_EINVAL, "the voiceover text is empty");
    if (strlen(req->text) > MAX_TEXT_BYTES)
        return cl_error_set(err, CL_EINVAL, "the voiceover text is longer than %d bytes", MAX_TEXT_BYTES);
    if (!req->out_path || !req->out_path[0])
        return cl_error_set(err, CL_EINVAL, "out_path is required");
    unlink(req->out_path); /* a failure leaves no file, not even an older one */
    const char *base = cfg("BASE_URL"), *model = cfg("MODEL"), *key = cfg("API_KEY");
    const char *voice = req->voice && req->voice[0] ? req->voice : cfg("VOICE") ? cfg("VOICE") : "alloy";
    int timeout = (int)api->config_int(pctx, "TIMEOUT_MS", 0), retries = (int)api->config_int(pctx, "MAX_RETRIES", 1);
    if (timeout <= 0 || timeout > 600000)
        timeout = req->timeout_ms > 0 ? req->timeout_ms : 60000;
    if (retries < 0 || retries > 5)
        retries = 1;

    char url[1024];
    size_t bl = strlen(base);
    snprintf(url, sizeof url, "%.*s/audio/speech", (int)(bl && base[bl - 1] == '/' ? bl - 1 : bl), base);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "model", model);
    cJSON_AddStringToObject(body, "input", req->text);
    cJSON_AddStringToObject(body, "voice", voice);
    cJSON_AddStringToObject(body, "response_format", "wav");
    char *json = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!json)
        return cl_error_set(err, CL_ENOMEM, "out of memory");
    char auth[600] = "";
    if (key)
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    const char *headers[] = {"Content-Type: application/json", "Accept: audio/wav, audio/*", key ? auth : NULL, NULL};
    cl_http_request hr = {.size = sizeof hr,
                          .method = "POST",
                          .url = url,
                          .headers = headers,
                          .body = json,
                          .body_len = strlen(json),
                          .timeout_ms = timeout,
                          .max_retries = 0,
                          .max_response_bytes = MAX_AUDIO_BYTES};
    cl_http_response res;
    int rc = CL_OK;
    for (int attempt = 0;; attempt++) {
        memset(&res, 0, sizeof res);
        res.size = sizeof res;
        rc = api->http_do(call, &hr, &res, err);
        if (rc != CL_OK) {
            if (rc == CL_ETIMEOUT)
                cl_error_set(err, CL_ETIMEOUT, "the voice server did not answer within %d ms", timeout);
            api->http_response_free(&res);
            break;
        }
        char msg[320];
        if (res.status >= 200 && res.status < 300)
            break;
        upstream_message(res.body, msg, sizeof msg);
        int st = res.status, ra = res.retry_after_ms;
        api->http_response_free(&res);
        if ((st == 429 || st >= 500) && attempt < retries && !api->cancelled(call)) {
            long wait = ra > 0 ? ra : 500L << attempt;
            if (wait > 5000)
                wait = 5000;
            if (api->sleep(call, (int)wait) == CL_ECANCELLED) {
                rc = cl_error_set(err, CL_ECANCELLED, "the voiceover synthesis was cancelled");
                break;
            }
            continue;
        }
        if (st == 401 || st == 403)
            rc = cl_error_set_http(err, CL_EAUTH, st, 0, "the voice server refused the credentials (%d): %s", st, msg);
        else if (st == 429)
            rc = cl_error_set_http(err, CL_ERATELIMIT, st, ra, "the voice server is rate limiting (429): %s", msg);
        else if (st >= 500)
            rc = cl_error_set_http(err, CL_EUPSTREAM, st, 0, "the voice server failed (%d): %s", st, msg);
        else
            rc = cl_error_set_http(err, CL_EINVAL, st, 0, "the voice server refused the request (%d): %s", st, msg);
        break;
    }
    explicit_bzero(auth, sizeof auth);
    free(json);
    if (rc != CL_OK)
        return rc;
    FILE *f = fopen(req->out_path, "wb");
    if (!f || fwrite(res.body, 1, res.body_len, f) != res.body_len) {
        int e = errno;
        if (f)
            fclose(f);
        unlink(req->out_path);
        api->http_response_free(&res);
        return cl_error_set(err, CL_EIO, "cannot write %s: %s", req->out_path, strerror(e));
    }
    api->http_response_free(&res);
    if (fclose(f) != 0) {
        unlink(req->out_path);
        return cl_error_set(err, CL_EIO, "cannot write %s: %s", req->out_path, strerror(errno));
    }
    double dur = 0, s0 = 0, s1 = 0;
    int rate = 0;
    if (measure(req->out_path, &dur, &s0, &s1, &rate) != 0 || !(dur > 0.05)) {
        unlink(req->out_path);
        return cl_error_set_http(err, CL_EMALFORMED, 200, 0, "the voice server answered 200 without decodable audio");
    }
    if (!(s1 > s0))
        s0 = 0, s1 = dur;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "duration", round(dur * 1000) / 1000);
    cJSON_AddNumberToObject(o, "sample_rate", rate);
    cJSON_AddStringToObject(o, "timings", "estimated");
    cJSON_AddStringToObject(o, "voice", voice);
    cJSON_AddItemToObject(o, "words", estimate_words(req->text, s0, s1 < dur ? s1 : dur));
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    rc = txt ? api->output_append(out, txt, strlen(txt)) : CL_ENOMEM;
    free(txt);
    if (rc != CL_OK) {
        unlink(req->out_path);
        return cl_error_set(err, CL_ENOMEM, "out of memory");
    }
    return CL_OK;
}

static int oc_init(const cl_host_api *a, cl_plugin_ctx *ctx, cl_error *err)
{
    api = a;
    pctx = ctx;
    cl_tts t = {
        .base = {.kind = CL_CAP_TTS,
                 .id = "openai_compat",
                 .description = "Any OpenAI-compatible /audio/speech server (word timings estimated)"},
        .synthesize = oc_synthesize,
        .configured = oc_configured,
    };
    int rc = CL_REGISTER(api, ctx, &t);
    if (rc != CL_OK)
        return cl_error_set(err, rc, "registering tts 'openai_compat' failed (%d)", rc);
    return CL_OK;
}

static const cl_plugin_manifest manifest =
    CL_MANIFEST_INIT("tts_openai_compat", "1.0.0", "TTS_OPENAI_COMPAT", oc_init);
CL_PLUGIN_DEFINE(manifest)
