/*
 * test_audio.c — words and sound (docs/audio.md), through the real loader and
 * plugins in CLIPLOOP_PLUGIN_DIR, outputs decoded with the FFmpeg libraries:
 *   - tts_espeak: a WAV is written whose decoded duration matches the answer's,
 *     word timings come from the engine, are increasing and within the audio,
 *     one per token of the text; a language espeak speaks is used, another one
 *     falls back to English and says so; empty text and an unwritable path fail.
 *   - the mix (plugins/render_common/rc_audio.c, compiled in): a bundled bed
 *     (rendered by FluidSynth at build time) looped past its loop point, faded
 *     in and out, ducked under the voiceover (quieter where the voice speaks
 *     than with duck off), every mix at -14 LUFS integrated within 1.5 LU;
 *     paths outside the work directory and bad fields are refused.
 *   - tts_openai_compat against tests/fakes/tts_fake.mjs: the WAV is measured,
 *     estimated timings start and end where the speech does; 401/400/500/429
 *     and a 200 that is not audio give distinct codes with the server's words
 *     and leave no file; a 500 once is retried; a hanging server times out.
 *   - render_ffmpeg (and render_hyperframes' muxer) write that mix: the MP4's
 *     AAC track is measured with the ebur128 filter (-14 +/- 1.5 LUFS) and
 *     lasts as long as the video; without "audio" the track is silent.
 */
#include "core/buf.h"
#include "core/config.h"
#include "net/http_client.h"
#include "plugins/registry.h"
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <math.h>
#include "plugins/call.h"
#include "rc_audio.h"
#include "rc_media.h"
#include "tts/tts.h"
#include "fake_proc.h"
#include "test_util.h"
#include "unit.h"

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavutil/opt.h>

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char scratch[] = "/tmp/cl_audio_test_XXXXXX";

/* Duration in seconds of the first audio stream of path, by decoding every frame; -1 on error. */
/* The audio stream's mean bit rate in kb/s: its packets' bytes over its
   duration; -1 on error. */
static double audio_kbps(const char *path)
{
    AVFormatContext *fmt = NULL;
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0)
        return -1;
    double kbps = -1;
    AVPacket *pkt = av_packet_alloc();
    int si = avformat_find_stream_info(fmt, NULL) >= 0 ? av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0) : -1;
    if (si >= 0 && pkt) {
        long long bytes = 0, ticks = 0;
        while (av_read_frame(fmt, pkt) >= 0) {
            if (pkt->stream_index == si)
                bytes += pkt->size, ticks += pkt->duration;
            av_packet_unref(pkt);
        }
        double secs = ticks * av_q2d(fmt->streams[si]->time_base);
        if (secs > 0)
            kbps = bytes * 8 / secs / 1000;
    }
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    return kbps;
}

static double decoded_audio_seconds(const char *path)
{
    AVFormatContext *fmt = NULL;
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0)
        return -1;
    double secs = -1;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    int si = avformat_find_stream_info(fmt, NULL) >= 0 ? av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0) : -1;
    if (si >= 0) {
        const AVCodec *c = avcodec_find_decoder(fmt->streams[si]->codecpar->codec_id);
        dec = c ? avcodec_alloc_context3(c) : NULL;
        if (dec && avcodec_parameters_to_context(dec, fmt->streams[si]->codecpar) >= 0 && avcodec_open2(dec, c, NULL) >= 0) {
            long long samples = 0;
            while (av_read_frame(fmt, pkt) >= 0) {
                if (pkt->stream_index == si && avcodec_send_packet(dec, pkt) >= 0)
                    while (avcodec_receive_frame(dec, fr) >= 0)
                        samples += fr->nb_samples;
                av_packet_unref(pkt);
            }
            avcodec_send_packet(dec, NULL);
            while (avcodec_receive_frame(dec, fr) >= 0)
                samples += fr->nb_samples;
            secs = (double)samples / dec->sample_rate;
        }
    }
    av_frame_free(&fr);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return secs;
}

/* Words of meta increasing, within duration; returns how many, -1 when broken. */
static int check_words(const cJSON *meta, double duration)
{
    double last = 0;
    int n = 0;
    const cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(meta, "words"))
    {
        double s = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(w, "start"));
        double e = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(w, "end"));
        if (!(s >= last - 1e-9 && e > s && e <= duration + 1e-3))
            return -1;
        last = e;
        n++;
    }
    return n;
}

static void test_espeak(void)
{
    char wav[PATH_MAX];
    snprintf(wav, sizeof wav, "%s/vo.wav", scratch);
    const char *text = "Fresh bread, 50% off today. Order now at Mama's Bakery!";
    cl_buf meta = CL_BUF_INIT;
    cl_error err = CL_ERROR_INIT;
    CHECK(cl_tts_synthesize("espeak", text, "en-US", wav, NULL, &meta, &err) == CL_OK);
    cJSON *m = cJSON_Parse(meta.data ? meta.data : "");
    double dur = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "duration"));
    double decoded = decoded_audio_seconds(wav);
    CHECK(dur > 1.5 && dur < 10);
    CHECK(fabs(decoded - dur) < 0.05);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "timings")), "engine");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "language")), "en-us");
    CHECK(check_words(m, dur) == 10); /* one per token: "50%" and "Mama's" are one each */
    const cJSON *words = cJSON_GetObjectItemCaseSensitive(m, "words");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(words, 2), "text")), "50%");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(words, 9), "text")), "Bakery!");
    /* the last word ends near the end of the audio, the first starts near 0 */
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(words, 0), "start")) < 0.3);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(words, 9), "end")) > dur - 0.8);
    cJSON_Delete(m);
    cl_buf_free(&meta);

    /* French is spoken in French; an unknown language in English, said so. */
    CHECK(cl_tts_synthesize("espeak", "Du pain frais, aujourd'hui seulement.", "fr", wav, NULL, &meta, &err) == CL_OK);
    m = cJSON_Parse(meta.data ? meta.data : "");
    CHECK(strncmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "language")) ?: "", "fr", 2) == 0);
    CHECK(check_words(m, cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "duration"))) == 5);
    cJSON_Delete(m);
    cl_buf_free(&meta);
    CHECK(cl_tts_synthesize("espeak", "Hello there", "zz-ZZ", wav, NULL, &meta, &err) == CL_OK);
    m = cJSON_Parse(meta.data ? meta.data : "");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "language")), "en");
    cJSON_Delete(m);
    cl_buf_free(&meta);

    /* errors: nothing to say, a bad tag, an unwritable file, an unknown engine */
    CHECK(cl_tts_synthesize("espeak", "", NULL, wav, NULL, &meta, &err) == CL_EINVAL);
    CHECK(strstr(err.message, "empty") != NULL);
    CHECK(cl_tts_synthesize("espeak", "Hello", "en;rm -rf", wav, NULL, &meta, &err) == CL_EINVAL);
    CHECK(cl_tts_synthesize("espeak", "Hello", NULL, "/nonexistent-dir/vo.wav", NULL, &meta, &err) == CL_EIO);
    CHECK(strstr(err.message, "/nonexistent-dir/vo.wav") != NULL);
    CHECK(cl_tts_synthesize("nosuch", "Hello", NULL, wav, NULL, &meta, &err) == CL_EUNSUPPORTED);
    CHECK(strstr(err.message, "TTS_PROVIDER=nosuch") != NULL);
    CHECK(meta.data == NULL);
}

/* Integrated loudness (LUFS) of the first audio stream of path, measured
   with libavfilter's ebur128 (amovie -> ebur128 -> sink); -99 on error. */
static double measure_lufs(const char *path)
{
    AVFilterGraph *g = avfilter_graph_alloc();
    AVFilterContext *src = avfilter_graph_alloc_filter(g, avfilter_get_by_name("amovie"), "src"), *meter = NULL,
                    *sink = NULL;
    double lufs = -99;
    if (!src || av_opt_set(src, "filename", path, AV_OPT_SEARCH_CHILDREN) < 0 || avfilter_init_str(src, NULL) < 0 ||
        avfilter_graph_create_filter(&meter, avfilter_get_by_name("ebur128"), "m", "metadata=1", NULL, g) < 0 ||
        avfilter_graph_create_filter(&sink, avfilter_get_by_name("abuffersink"), "out", NULL, NULL, g) < 0 ||
        avfilter_link(src, 0, meter, 0) < 0 || avfilter_link(meter, 0, sink, 0) < 0 || avfilter_graph_config(g, NULL) < 0)
        goto out;
    AVFrame *f = av_frame_alloc();
    while (av_buffersink_get_frame(sink, f) >= 0) {
        AVDictionaryEntry *e = av_dict_get(f->metadata, "lavfi.r128.I", NULL, 0);
        if (e)
            lufs = strtod(e->value, NULL);
        av_frame_unref(f);
    }
    av_frame_free(&f);
out:
    avfilter_graph_free(&g);
    return lufs;
}

/* RMS of both channels of m over [t0, t1) seconds. */
static double rms(const rc_mix *m, double t0, double t1)
{
    int64_t a = (int64_t)(t0 * 48000), b = (int64_t)(t1 * 48000);
    double s = 0;
    long n = 0;
    for (int c = 0; c < 2; c++)
        for (int64_t i = a; i < b && i < m->n; i++, n++)
            s += (double)m->ch[c][i] * m->ch[c][i];
    return n ? sqrt(s / n) : 0;
}

static double mix_lufs(const rc_mix *m, const char *name)
{
    /* through a WAV file, so the same meter measures it as the MP4s */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.f32", scratch, name);
    FILE *f = fopen(path, "wb");
    for (int64_t i = 0; f && i < m->n; i++) {
        fwrite(&m->ch[0][i], sizeof(float), 1, f);
        fwrite(&m->ch[1][i], sizeof(float), 1, f);
    }
    if (f)
        fclose(f);
    char wav[PATH_MAX + 8], cmd[3 * PATH_MAX];
    snprintf(wav, sizeof wav, "%s.wav", path);
    /* the raw floats into a WAV container with libavformat: a tiny header written by hand */
    FILE *in = fopen(path, "rb"), *out = fopen(wav, "wb");
    if (!in || !out) {
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        return -99;
    }
    uint32_t bytes = (uint32_t)(m->n * 8), v;
    fwrite("RIFF", 1, 4, out);
    v = 36 + bytes, fwrite(&v, 4, 1, out);
    fwrite("WAVEfmt ", 1, 8, out);
    v = 16, fwrite(&v, 4, 1, out);
    uint16_t fmt = 3, ch = 2, align = 8, bits = 32;
    fwrite(&fmt, 2, 1, out), fwrite(&ch, 2, 1, out);
    v = 48000, fwrite(&v, 4, 1, out);
    v = 48000 * 8, fwrite(&v, 4, 1, out);
    fwrite(&align, 2, 1, out), fwrite(&bits, 2, 1, out);
    fwrite("data", 1, 4, out);
    fwrite(&bytes, 4, 1, out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
    (void)cmd;
    return measure_lufs(wav);
}

static char vo_wav[PATH_MAX], bed[PATH_MAX];
static pid_t fake_pid;
static int fake_port;

/* tests/fakes/tts_fake.mjs on a free port (written to a file). 0 or -1. */
static int start_fake(void)
{
    char port_file[PATH_MAX + 16];
    fake_pid = fake_proc_start("tts_fake.mjs", scratch, port_file, sizeof port_file, &fake_port);
    return fake_pid > 0 ? 0 : -1;
}

static void stop_fake(void)
{
    fake_proc_stop(&fake_pid);
}

/* One openai_compat call with voice (the fake's scenario), as the host makes it. */
static int oc_call(const char *voice, const char *text, int timeout_ms, const char *out, cl_buf *meta, cl_error *err)
{
    const cl_tts *t = (const cl_tts *)cl_plugins_find(CL_CAP_TTS, "openai_compat");
    if (!t)
        return CL_EUNSUPPORTED;
    cl_tts_request req = {.size = sizeof req, .text = text, .voice = voice, .out_path = out, .timeout_ms = timeout_ms};
    cl_output o = {CL_BUF_INIT, 0};
    cl_call call;
    cl_call_init(&call, NULL, NULL);
    int rc = CL_CAP_CALL(t, err, synthesize, &call, &req, &o, err);
    *meta = o.buf;
    return rc;
}

static void test_openai_compat(void)
{
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/oc.wav", scratch);
    cl_buf meta = CL_BUF_INIT;
    cl_error err = CL_ERROR_INIT;
    const char *text = "Fresh sourdough, baked this morning. Half price!";
    /* success: the fake's 7 tone bursts from 0.25 s; timings estimated inside the speech */
    CHECK(oc_call(NULL, text, 10000, out, &meta, &err) == CL_OK);
    cJSON *m = cJSON_Parse(meta.data ? meta.data : "");
    double dur = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(m, "duration"));
    CHECK(fabs(dur - (0.5 + 7 * 0.3 + 6 * 0.05)) < 0.01);
    CHECK(fabs(decoded_audio_seconds(out) - dur) < 0.01);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "timings")), "estimated");
    CHECK(check_words(m, dur) == 7);
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(m, "words");
    double s0 = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(w, 0), "start"));
    double e6 = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(w, 6), "end"));
    CHECK(fabs(s0 - 0.25) < 0.03);           /* speech found where it starts */
    CHECK(fabs(e6 - (dur - 0.25)) < 0.03);   /* ... and ends */
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(w, 6), "text")), "price!");
    cJSON_Delete(m);
    cl_buf_free(&meta);
    /* the request as the protocol has it */
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/requests", fake_port);

    /* errors: the server's words, distinct codes, no file left */
    struct {
        const char *voice;
        int code, status;
        const char *needle;
    } cases[] = {
        {"fake-401", CL_EAUTH, 401, "Incorrect API key"},
        {"fake-400", CL_EINVAL, 400, "Input is too long"},
        {"fake-500", CL_EUPSTREAM, 500, "The server had an error"},
        {"fake-429", CL_ERATELIMIT, 429, "Rate limit"},
        {"fake-notaudio", CL_EMALFORMED, 200, "without decodable audio"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = oc_call(cases[i].voice, text, 10000, out, &meta, &err);
        if (rc != cases[i].code)
            fprintf(stderr, "  %s: %d %s\n", cases[i].voice, rc, err.message);
        CHECK(rc == cases[i].code);
        CHECK(err.http_status == cases[i].status);
        CHECK(strstr(err.message, cases[i].needle) != NULL);
        CHECK(access(out, F_OK) != 0);
        CHECK(meta.data == NULL);
        cl_buf_free(&meta);
    }
    /* a 500 once is retried (MAX_RETRIES=1) and then succeeds */
    CHECK(oc_call("fake-500once-a", text, 10000, out, &meta, &err) == CL_OK);
    cl_buf_free(&meta);
    /* a server that never answers: the deadline, as CL_ETIMEOUT */
    CHECK(oc_call("fake-hang", text, 800, out, &meta, &err) == CL_ETIMEOUT);
    CHECK(strstr(err.message, "800 ms") != NULL);
    CHECK(access(out, F_OK) != 0);
    cl_buf_free(&meta);
}

static void test_mix(void)
{
    /* a 4-second voiceover and the "upbeat" bed, both in the work directory */
    snprintf(vo_wav, sizeof vo_wav, "%s/voice.wav", scratch);
    cl_buf meta = CL_BUF_INIT;
    cl_error err = CL_ERROR_INIT;
    CHECK(cl_tts_synthesize("espeak", "Fresh sourdough, baked this morning. Half price all weekend.", "en", vo_wav,
                            NULL, &meta, &err) == CL_OK);
    cl_buf_free(&meta);
    char src[PATH_MAX];
    snprintf(src, sizeof src, "%s/music/upbeat.flac", getenv("CLIPLOOP_BUILD_DIR"));
    snprintf(bed, sizeof bed, "%s/upbeat.flac", scratch);
    copy_file(src, bed);
    CHECK(access(bed, R_OK) == 0);

    char json[3 * PATH_MAX];
    rc_audio_spec a;
    char why[300];
    /* voice + ducked music */
    snprintf(json, sizeof json,
             "{\"audio\":{\"voiceover\":{\"path\":\"%s\",\"start\":0.5},\"music\":{\"path\":\"%s\",\"gain_db\":-8,"
             "\"duck\":true,\"loop_seconds\":34.286},\"target_lufs\":-14}}",
             vo_wav, bed);
    CHECK(rc_audio_parse(json, scratch, &a, why, sizeof why) == 0);
    CHECK(a.present && a.vo_path && a.music_path && a.duck);
    rc_mix ducked, plain, music_only;
    CHECK(rc_audio_mix(cl_host_api_get(), NULL, &a, 8.0, &ducked, &err) == CL_OK);
    CHECK(ducked.n == 8 * 48000);
    double l = mix_lufs(&ducked, "ducked");
    fprintf(stderr, "  ducked mix: measured %.2f LUFS before a %.2f dB gain, %.2f LUFS after\n", ducked.measured_lufs,
            ducked.gain_db, l);
    CHECK(fabs(l - (-14)) <= 1.5);
    /* the music fades in: the first 50 ms are far quieter than a second later */
    CHECK(rms(&ducked, 0, 0.05) < rms(&ducked, 0.3, 0.5) / 4);
    /* the music fades out: the last 50 ms are quiet */
    CHECK(rms(&ducked, 7.95, 8.0) < rms(&ducked, 6.0, 6.5) / 4);
    a.duck = 0;
    CHECK(rc_audio_mix(cl_host_api_get(), NULL, &a, 8.0, &plain, &err) == CL_OK);
    /* The music alone, with and without ducking: each mix scaled back by its
       normalizing gain, minus the voice alone (scaled likewise). Under the voice
       the ducked music is clearly quieter; where the voice has ended (7-7.4 s,
       after the compressor's release) it is the same music. */
    rc_audio_spec vonly = a;
    vonly.music_path = NULL;
    rc_mix voice;
    CHECK(rc_audio_mix(cl_host_api_get(), NULL, &vonly, 8.0, &voice, &err) == CL_OK);
    double gd = pow(10, -ducked.gain_db / 20), gp = pow(10, -plain.gain_db / 20), gv = pow(10, -voice.gain_db / 20);
    for (int c = 0; c < 2; c++)
        for (int64_t i = 0; i < ducked.n && i < plain.n && i < voice.n; i++) {
            ducked.ch[c][i] = (float)(ducked.ch[c][i] * gd - voice.ch[c][i] * gv);
            plain.ch[c][i] = (float)(plain.ch[c][i] * gp - voice.ch[c][i] * gv);
        }
    double under_d = rms(&ducked, 1.0, 3.0), under_p = rms(&plain, 1.0, 3.0);
    fprintf(stderr, "  music RMS under the voice: ducked %.4f, not ducked %.4f; after it: %.4f / %.4f\n", under_d,
            under_p, rms(&ducked, 7.0, 7.4), rms(&plain, 7.0, 7.4));
    CHECK(under_d < under_p * 0.7);
    CHECK(fabs(rms(&ducked, 7.0, 7.4) - rms(&plain, 7.0, 7.4)) < rms(&plain, 7.0, 7.4) * 0.2);
    rc_mix_free(&voice);
    rc_mix_free(&plain);
    rc_mix_free(&ducked);
    rc_audio_spec_free(&a);

    /* music only, 40 s: past the bed's 34.3 s loop point it keeps playing */
    snprintf(json, sizeof json, "{\"audio\":{\"music\":{\"path\":\"%s\",\"loop_seconds\":34.286}}}", bed);
    CHECK(rc_audio_parse(json, scratch, &a, why, sizeof why) == 0);
    CHECK(a.music_gain_db == 0 && a.target_lufs == -14);
    CHECK(rc_audio_mix(cl_host_api_get(), NULL, &a, 40.0, &music_only, &err) == CL_OK);
    CHECK(music_only.n == 40 * 48000);
    CHECK(rms(&music_only, 35, 37) > rms(&music_only, 10, 12) / 4);
    l = mix_lufs(&music_only, "music");
    fprintf(stderr, "  music-only mix: %.2f LUFS\n", l);
    CHECK(fabs(l - (-14)) <= 1.5);
    rc_mix_free(&music_only);
    rc_audio_spec_free(&a);

    /* refusals: outside the work directory, bad numbers, wrong types */
    snprintf(json, sizeof json, "{\"audio\":{\"music\":{\"path\":\"%s\"}}}", src);
    CHECK(rc_audio_parse(json, scratch, &a, why, sizeof why) == -1);
    CHECK(strstr(why, "inside the render's work directory") != NULL);
    snprintf(json, sizeof json, "{\"audio\":{\"music\":{\"path\":\"%s/../x\"}}}", scratch);
    CHECK(rc_audio_parse(json, scratch, &a, why, sizeof why) == -1);
    snprintf(json, sizeof json, "{\"audio\":{\"voiceover\":{\"path\":\"%s\",\"gain_db\":40}}}", vo_wav);
    CHECK(rc_audio_parse(json, scratch, &a, why, sizeof why) == -1);
    CHECK(strstr(why, "audio.voiceover.gain_db") != NULL);
    CHECK(rc_audio_parse("{\"audio\":{\"target_lufs\":0}}", scratch, &a, why, sizeof why) == -1);
    CHECK(rc_audio_parse("{\"audio\":[]}", scratch, &a, why, sizeof why) == -1);
    CHECK(rc_audio_parse("{\"width\":1080}", scratch, &a, why, sizeof why) == 0 && !a.present);
    /* a file that is not audio */
    char notaudio[PATH_MAX + 8];
    snprintf(notaudio, sizeof notaudio, "%s/not.wav", scratch);
    FILE *f = fopen(notaudio, "w");
    fputs("hello", f);
    fclose(f);
    snprintf(json, sizeof json, "{\"audio\":{\"music\":{\"path\":\"%s\"}}}", notaudio);
    CHECK(rc_audio_parse(json, scratch, &a, why, sizeof why) == 0);
    rc_mix bad;
    CHECK(rc_audio_mix(cl_host_api_get(), NULL, &a, 4.0, &bad, &err) == CL_EINVAL);
    CHECK(strstr(err.message, "music") != NULL);
    CHECK(bad.n == 0 && bad.ch[0] == NULL);
    rc_audio_spec_free(&a);
}

/* Render comp_json with render_ffmpeg into scratch/<name>.mp4 through the capability (work dir: scratch). */
static int render_direct(const char *renderer, const char *comp_json, const char *name, char *video, size_t vlen,
                         cl_error *err)
{
    const cl_renderer *r = (const cl_renderer *)cl_plugins_find(CL_CAP_RENDERER, renderer);
    if (!r)
        return CL_EUNSUPPORTED;
    char thumb[PATH_MAX];
    snprintf(video, vlen, "%s/%s.mp4", scratch, name);
    snprintf(thumb, sizeof thumb, "%s/%s.jpg", scratch, name);
    cl_render_request req = {.size = sizeof req, .composition_json = comp_json, .work_dir = scratch,
                             .video_path = video, .thumbnail_path = thumb};
    cl_call call;
    cl_call_init(&call, NULL, NULL);
    return CL_CAP_CALL(r, err, render, &call, &req, err);
}

static void test_render_mix(void)
{
    char json[3 * PATH_MAX], video[PATH_MAX];
    cl_error err = CL_ERROR_INIT;
    snprintf(json, sizeof json,
             "{\"width\":1080,\"height\":1920,\"fps\":30,\"duration\":6,"
             "\"layers\":[{\"role\":\"hook\",\"text\":\"Fresh sourdough\"}],"
             "\"audio\":{\"voiceover\":{\"path\":\"%s\",\"start\":0.3},\"music\":{\"path\":\"%s\",\"duck\":true,"
             "\"loop_seconds\":34.286},\"target_lufs\":-14}}",
             vo_wav, bed);
    int rc = render_direct("ffmpeg", json, "mixed", video, sizeof video, &err);
    if (rc != CL_OK)
        fprintf(stderr, "  render: %s\n", err.message);
    CHECK(rc == CL_OK);
    double l = measure_lufs(video), secs = decoded_audio_seconds(video);
    double kbps = audio_kbps(video);
    fprintf(stderr, "  render_ffmpeg mix: %.2f LUFS, audio %.3f s, %.1f kb/s\n", l, secs, kbps);
    CHECK(fabs(l - (-14)) <= 1.5);
    CHECK(fabs(secs - 6.0) < 0.05);
    /* 128 kb/s AAC (RC_AAC_BIT_RATE): a voiceover over music gets the rate the platforms ask for */
    CHECK(kbps > 110 && kbps < 140);

    /* without "audio" the track is silence (no integrated loudness above the gate) */
    rc = render_direct("ffmpeg",
                       "{\"width\":1080,\"height\":1920,\"fps\":30,\"duration\":3,"
                       "\"layers\":[{\"role\":\"hook\",\"text\":\"Quiet\"}]}",
                       "silent", video, sizeof video, &err);
    CHECK(rc == CL_OK);
    CHECK(measure_lufs(video) <= -70);
    CHECK(fabs(decoded_audio_seconds(video) - 3.0) < 0.05);

    /* render_hyperframes' muxer puts the same mix under a video it did not encode */
    rc_audio_spec a;
    char why[300], muxed[PATH_MAX + 16];
    snprintf(json, sizeof json, "{\"audio\":{\"voiceover\":{\"path\":\"%s\"},\"music\":{\"path\":\"%s\"}}}", vo_wav, bed);
    CHECK(rc_audio_parse(json, scratch, &a, why, sizeof why) == 0);
    rc_mix m;
    CHECK(rc_audio_mix(cl_host_api_get(), NULL, &a, 3.0, &m, &err) == CL_OK);
    snprintf(muxed, sizeof muxed, "%s/muxed.mp4", scratch);
    CHECK(rc_mux_with_audio(video, muxed, &m, &err) == CL_OK);
    l = measure_lufs(muxed);
    kbps = audio_kbps(muxed);
    fprintf(stderr, "  muxed (hyperframes path): %.2f LUFS, %.1f kb/s\n", l, kbps);
    CHECK(fabs(l - (-14)) <= 1.5);
    CHECK(kbps > 110 && kbps < 140);
    CHECK(fabs(decoded_audio_seconds(muxed) - 3.0) < 0.05);
    rc_mix_free(&m);
    rc_audio_spec_free(&a);

    /* a path outside the work directory: refused, nothing written */
    snprintf(json, sizeof json,
             "{\"duration\":3,\"audio\":{\"music\":{\"path\":\"%s/music/upbeat.flac\"}}}",
             getenv("CLIPLOOP_BUILD_DIR"));
    rc = render_direct("ffmpeg", json, "outside", video, sizeof video, &err);
    CHECK(rc == CL_EINVAL);
    CHECK(strstr(err.message, "audio.music.path") != NULL);
    CHECK(access(video, F_OK) != 0);
}

/* The luma plane of the first frame at or after t seconds of a video (malloc'd, w*h), or NULL. */
static uint8_t *luma_at(const char *path, double t, int *w, int *h)
{
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    uint8_t *out = NULL;
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0 || avformat_find_stream_info(fmt, NULL) < 0)
        goto done;
    int si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (si < 0)
        goto done;
    const AVCodec *c = avcodec_find_decoder(fmt->streams[si]->codecpar->codec_id);
    if (!(dec = avcodec_alloc_context3(c)) || avcodec_parameters_to_context(dec, fmt->streams[si]->codecpar) < 0 ||
        avcodec_open2(dec, c, NULL) < 0)
        goto done;
    AVRational tb = fmt->streams[si]->time_base;
    while (!out && av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == si && avcodec_send_packet(dec, pkt) >= 0)
            while (!out && avcodec_receive_frame(dec, f) >= 0) {
                if (f->best_effort_timestamp * av_q2d(tb) + 1e-3 < t)
                    continue;
                *w = f->width, *h = f->height;
                out = malloc((size_t)f->width * f->height);
                for (int y = 0; out && y < f->height; y++)
                    memcpy(out + (size_t)y * f->width, f->data[0] + (size_t)y * f->linesize[0], (size_t)f->width);
            }
        av_packet_unref(pkt);
    }
done:
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return out;
}

/* Mean absolute luma difference over [x0,x1) x [y0,y1). */
static double diff_region(const uint8_t *a, const uint8_t *b, int w, int x0, int y0, int x1, int y1)
{
    double s = 0;
    long n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++, n++)
            s += abs((int)a[(size_t)y * w + x] - (int)b[(size_t)y * w + x]);
    return n ? s / n : 0;
}

static void test_captions(void)
{
    /* Two cues, word-timed; the same composition without captions as the reference. */
    const char *base = "{\"width\":1080,\"height\":1920,\"fps\":30,\"duration\":4,"
                       "\"background\":{\"type\":\"gradient\",\"colors\":[\"#F8FAFC\",\"#1E3A8A\"]},"
                       "\"safe_area\":{\"top\":180,\"bottom\":480,\"left\":60,\"right\":180}";
    char with[4096], without[1024], video_c[PATH_MAX], video_n[PATH_MAX];
    snprintf(without, sizeof without, "%s}", base);
    snprintf(with, sizeof with,
             "%s,\"captions\":{\"mode\":\"words\",\"style\":{\"position\":\"lower_third\",\"font_size\":64,"
             "\"outline\":5,\"box\":true,\"color\":\"#FFFFFF\",\"highlight_color\":\"#FDE68A\"},\"cues\":["
             "{\"text\":\"Fresh sourdough, baked today.\",\"start\":0.2,\"end\":2.0,\"words\":["
             "{\"text\":\"Fresh\",\"start\":0.2,\"end\":0.6},{\"text\":\"sourdough,\",\"start\":0.6,\"end\":1.2},"
             "{\"text\":\"baked\",\"start\":1.2,\"end\":1.6},{\"text\":\"today.\",\"start\":1.6,\"end\":2.0}]},"
             "{\"text\":\"Half price all weekend.\",\"start\":2.0,\"end\":3.6,\"words\":["
             "{\"text\":\"Half\",\"start\":2.0,\"end\":2.4},{\"text\":\"price\",\"start\":2.4,\"end\":2.8},"
             "{\"text\":\"all\",\"start\":2.8,\"end\":3.1},{\"text\":\"weekend.\",\"start\":3.1,\"end\":3.6}]}]}}",
             base);
    cl_error err = CL_ERROR_INIT;
    int rc = render_direct("ffmpeg", with, "captions", video_c, sizeof video_c, &err);
    if (rc != CL_OK)
        fprintf(stderr, "  captions render: %s\n", err.message);
    CHECK(rc == CL_OK);
    CHECK(render_direct("ffmpeg", without, "nocaptions", video_n, sizeof video_n, &err) == CL_OK);
    int w = 0, h = 0, w2 = 0, h2 = 0;
    /* the caption band: the lower third of the safe area (y 180 … 1440; centre near 1087) */
    int y0 = 900, y1 = 1300, x0 = 60, x1 = 900;
    uint8_t *c_word1 = luma_at(video_c, 0.4, &w, &h), *n_word1 = luma_at(video_n, 0.4, &w2, &h2);
    uint8_t *c_word3 = luma_at(video_c, 1.4, &w, &h), *c_none = luma_at(video_c, 3.8, &w, &h);
    uint8_t *n_none = luma_at(video_n, 3.8, &w2, &h2);
    CHECK(c_word1 && n_word1 && c_word3 && c_none && n_none && w == 1080 && h == 1920 && w2 == w);
    if (c_word1 && n_word1 && c_word3 && c_none && n_none) {
        double shown = diff_region(c_word1, n_word1, w, x0, y0, x1, y1);
        double outside = diff_region(c_word1, n_word1, w, 0, 200, 1080, 700);
        double after = diff_region(c_none, n_none, w, x0, y0, x1, y1);
        double moved = diff_region(c_word1, c_word3, w, x0, y0, x1, y1);
        fprintf(stderr, "  caption band vs no captions: %.2f (outside the band %.2f, after the last cue %.2f); "
                        "word 1 vs word 3 lit: %.2f\n", shown, outside, after, moved);
        CHECK(shown > 8);     /* words are drawn over a box where the captions are */
        CHECK(outside < 1);   /* and nowhere else */
        CHECK(after < 1);     /* nothing once the last cue ended */
        CHECK(moved > 0.3);   /* the highlight moved from "Fresh" to "baked" (yellow is darker than white) */
    }
    free(c_word1), free(n_word1), free(c_word3), free(c_none), free(n_none);

    /* render_hyperframes draws the same captions as HTML (when scripts/test gave it the CLI):
       the caption band while a cue shows differs from the band after the last cue, the
       rest of the frame does not, and the band differs between word 1 and word 3 lit */
    const char *hf = getenv("HYPERFRAMES_BIN");
    if (hf && *hf) {
        rc = render_direct("hyperframes", with, "hfcaptions", video_c, sizeof video_c, &err);
        if (rc != CL_OK)
            fprintf(stderr, "  hyperframes captions render: %s\n", err.message);
        CHECK(rc == CL_OK);
        uint8_t *a = luma_at(video_c, 0.4, &w, &h), *b3 = luma_at(video_c, 1.4, &w, &h), *z = luma_at(video_c, 3.8, &w, &h);
        CHECK(a && b3 && z);
        if (a && b3 && z) {
            double shown = diff_region(a, z, w, x0, y0, x1, y1), outside = diff_region(a, z, w, 0, 200, 1080, 700);
            double moved = diff_region(a, b3, w, x0, y0, x1, y1);
            fprintf(stderr, "  hyperframes caption band shown vs after: %.2f (outside %.2f); word 1 vs word 3: %.2f\n",
                    shown, outside, moved);
            CHECK(shown > 8);
            CHECK(outside < 1.5);
            CHECK(moved > 0.3);
        }
        free(a), free(b3), free(z);
    } else {
        fprintf(stderr, "  HYPERFRAMES_BIN not set: the HTML captions are not rendered here\n");
    }

    /* bad captions are refused naming the field */
    snprintf(with, sizeof with, "%s,\"captions\":{\"mode\":\"karaoke\",\"cues\":[]}}", base);
    CHECK(render_direct("ffmpeg", with, "badcaptions", video_c, sizeof video_c, &err) == CL_EINVAL);
    CHECK(strstr(err.message, "captions.mode") != NULL);
    snprintf(with, sizeof with, "%s,\"captions\":{\"cues\":[{\"text\":\"x\",\"start\":3,\"end\":9}]}}", base);
    CHECK(render_direct("ffmpeg", with, "badcaptions", video_c, sizeof video_c, &err) == CL_EINVAL);
    CHECK(strstr(err.message, "captions.cues[0]") != NULL);
}

int main(void)
{
    const char *plugin_dir = getenv("CLIPLOOP_PLUGIN_DIR");
    if (!plugin_dir || !getenv("CLIPLOOP_SOURCE_DIR")) {
        fprintf(stderr, "CLIPLOOP_PLUGIN_DIR / CLIPLOOP_SOURCE_DIR are not set (run through ctest)\n");
        return 1;
    }
    if (!mkdtemp(scratch)) {
        perror("mkdtemp");
        return 1;
    }
    char storage[PATH_MAX + 16];
    snprintf(storage, sizeof storage, "%s/storage", scratch);
    setenv("CLIPLOOP_STORAGE_DIR", storage, 1);
    unsetenv("TTS_PROVIDER");
    unsetenv("TTS_ESPEAK_VOICE");
    CHECK(start_fake() == 0);
    if (getenv("HYPERFRAMES_BIN"))
        setenv("HYPERFRAMES_ENABLED", "true", 1); /* plugin settings are read at load */
    char base[128];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/v1", fake_port);
    setenv("TTS_OPENAI_COMPAT_BASE_URL", base, 1);
    setenv("TTS_OPENAI_COMPAT_MODEL", "tts-1", 1);
    setenv("TTS_OPENAI_COMPAT_API_KEY", "sk-test", 1);
    setenv("TTS_OPENAI_COMPAT_MAX_RETRIES", "1", 1);
    char err[512];
    if (cl_config_load(err, sizeof err) != 0) {
        fprintf(stderr, "config: %s\n", err);
        return 1;
    }
    cl_cfg.http_allow_loopback = 1; /* the fake listens on 127.0.0.1 */
    CHECK(cl_http_global_init() == 0);
    CHECK(cl_plugins_load_dir(plugin_dir) > 0);
    CHECK_STR(cl_cfg.tts_provider, "espeak");

    test_espeak();
    test_mix();
    test_render_mix();
    test_captions();
    test_openai_compat();
    stop_fake();

    cl_plugins_reset_for_tests();
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", scratch);
    return unit_done("test_audio");
}
