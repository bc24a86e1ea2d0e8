/*
 * test_audio.c — words and sound (docs/audio.md), through the real loader and
 * plugins in CLIPLOOP_PLUGIN_DIR, outputs decoded with the FFmpeg libraries:
 *   - tts_espeak: a WAV is written whose decoded duration matches the answer's,
 *     word timings come from the engine, are increasing and within the audio,
 *     one per token of the text; a language espeak speaks is used, another one
 *     falls back to English and says so; empty text and an unwritable path fail.
 */
#include "core/buf.h"
#include "core/config.h"
#include "net/http_client.h"
#include "plugins/registry.h"
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <math.h>
#include "tts/tts.h"
#include "unit.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch[] = "/tmp/cl_audio_test_XXXXXX";

/* Duration in seconds of the first audio stream of path, by decoding every frame; -1 on error. */
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
    char err[512];
    if (cl_config_load(err, sizeof err) != 0) {
        fprintf(stderr, "config: %s\n", err);
        return 1;
    }
    CHECK(cl_http_global_init() == 0);
    CHECK(cl_plugins_load_dir(plugin_dir) > 0);
    CHECK_STR(cl_cfg.tts_provider, "espeak");

    test_espeak();

    cl_plugins_reset_for_tests();
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", scratch);
    return unit_done("test_audio");
}
