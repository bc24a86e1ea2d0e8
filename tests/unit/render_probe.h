/*
 * render_probe.h — test helpers for test_render.c: open a rendered MP4 with
 * libavformat and describe it, decode a JPEG's luma plane, and compare
 * regions of two pictures. Static functions; include once.
 */
#ifndef CL_TEST_RENDER_PROBE_H
#define CL_TEST_RENDER_PROBE_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct probe_info {
    int ok;
    char format[64];   /* demuxer name ("mov,mp4,m4a,3gp,3g2,mj2") */
    char major_brand[16];
    char vcodec[32];
    int width, height;
    double duration;   /* container duration, seconds */
    int fps_num, fps_den;
    int n_audio;
    char acodec[32];
} probe_info;

static probe_info probe_video(const char *path)
{
    probe_info p;
    memset(&p, 0, sizeof p);
    AVFormatContext *fmt = NULL;
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0)
        return p;
    if (avformat_find_stream_info(fmt, NULL) >= 0) {
        p.ok = 1;
        snprintf(p.format, sizeof p.format, "%s", fmt->iformat->name);
        AVDictionaryEntry *e = av_dict_get(fmt->metadata, "major_brand", NULL, 0);
        if (e)
            snprintf(p.major_brand, sizeof p.major_brand, "%s", e->value);
        p.duration = fmt->duration / (double)AV_TIME_BASE;
        for (unsigned i = 0; i < fmt->nb_streams; i++) {
            AVStream *st = fmt->streams[i];
            if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !p.vcodec[0]) {
                snprintf(p.vcodec, sizeof p.vcodec, "%s", avcodec_get_name(st->codecpar->codec_id));
                p.width = st->codecpar->width;
                p.height = st->codecpar->height;
                p.fps_num = st->avg_frame_rate.num;
                p.fps_den = st->avg_frame_rate.den;
            } else if (st->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) {
                p.n_audio++;
                snprintf(p.acodec, sizeof p.acodec, "%s", avcodec_get_name(st->codecpar->codec_id));
            }
        }
    }
    avformat_close_input(&fmt);
    return p;
}

/* A decoded picture's luma plane (tightly packed, malloc'd). */
typedef struct luma {
    int w, h;
    uint8_t *y;
} luma;

static void luma_free(luma *l)
{
    free(l->y);
    memset(l, 0, sizeof *l);
}

/* Decode the first picture of path (a JPEG here). Returns 0 with *out filled,
   and the codec name in codec, or -1. */
static int decode_luma(const char *path, luma *out, char *codec, size_t codec_len)
{
    memset(out, 0, sizeof *out);
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    int rc = -1;
    if (!pkt || !frame || avformat_open_input(&fmt, path, NULL, NULL) < 0 ||
        avformat_find_stream_info(fmt, NULL) < 0 || fmt->nb_streams < 1)
        goto out;
    const AVCodecParameters *par = fmt->streams[0]->codecpar;
    snprintf(codec, codec_len, "%s", avcodec_get_name(par->codec_id));
    const AVCodec *c = avcodec_find_decoder(par->codec_id);
    if (!c || !(dec = avcodec_alloc_context3(c)) || avcodec_parameters_to_context(dec, par) < 0 ||
        avcodec_open2(dec, c, NULL) < 0)
        goto out;
    while (av_read_frame(fmt, pkt) >= 0) {
        int sent = avcodec_send_packet(dec, pkt);
        av_packet_unref(pkt);
        if (sent >= 0 && avcodec_receive_frame(dec, frame) >= 0)
            break;
    }
    if (!frame->data[0]) {
        avcodec_send_packet(dec, NULL);
        if (avcodec_receive_frame(dec, frame) < 0)
            goto out;
    }
    out->w = frame->width;
    out->h = frame->height;
    out->y = malloc((size_t)out->w * out->h);
    if (!out->y)
        goto out;
    for (int r = 0; r < out->h; r++)
        memcpy(out->y + (size_t)r * out->w, frame->data[0] + (size_t)r * frame->linesize[0], (size_t)out->w);
    rc = 0;
out:
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return rc;
}

/* Variance of the luma in [x, x+w) x [y, y+h). */
static double region_variance(const luma *l, int x, int y, int w, int h)
{
    double sum = 0, sq = 0;
    long n = 0;
    for (int r = y; r < y + h && r < l->h; r++)
        for (int c = x; c < x + w && c < l->w; c++) {
            double v = l->y[(size_t)r * l->w + c];
            sum += v;
            sq += v * v;
            n++;
        }
    if (!n)
        return 0;
    double mean = sum / n;
    return sq / n - mean * mean;
}

/* Mean absolute difference of two same-sized pictures over a region. */
static double region_diff(const luma *a, const luma *b, int x, int y, int w, int h)
{
    if (a->w != b->w || a->h != b->h)
        return -1;
    double sum = 0;
    long n = 0;
    for (int r = y; r < y + h && r < a->h; r++)
        for (int c = x; c < x + w && c < a->w; c++) {
            size_t i = (size_t)r * a->w + c;
            sum += abs((int)a->y[i] - (int)b->y[i]);
            n++;
        }
    return n ? sum / n : 0;
}

#endif
