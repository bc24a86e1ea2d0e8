/*
 * thumb.c — the small thumbnail of a render (see thumb.h): the renderer's
 * full-size JPEG decoded, scaled down with swscale and encoded again with
 * the mjpeg encoder, all in process with the FFmpeg libraries.
 */
#include "render/thumb.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
#include <stdio.h>
#include <string.h>

/* The first picture of path (caller frees), or NULL. */
static AVFrame *first_picture(const char *path)
{
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *pic = av_frame_alloc(), *got = NULL;
    const AVCodec *codec = NULL;
    int si = -1;
    if (!pkt || !pic || avformat_open_input(&fmt, path, NULL, NULL) < 0 || avformat_find_stream_info(fmt, NULL) < 0 ||
        (si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0)) < 0 || !codec ||
        !(dec = avcodec_alloc_context3(codec)) || avcodec_parameters_to_context(dec, fmt->streams[si]->codecpar) < 0 ||
        avcodec_open2(dec, codec, NULL) < 0)
        goto out;
    while (!got && av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == si && avcodec_send_packet(dec, pkt) >= 0 && avcodec_receive_frame(dec, pic) >= 0)
            got = pic;
        av_packet_unref(pkt);
    }
    if (!got && avcodec_send_packet(dec, NULL) >= 0 && avcodec_receive_frame(dec, pic) >= 0)
        got = pic;
out:
    if (!got)
        av_frame_free(&pic);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return got;
}

int cl_thumbnail_small(const char *in_path, const char *out_path, int width, int *out_w, int *out_h,
                       char *err, size_t errlen)
{
    AVFrame *src = first_picture(in_path);
    if (!src) {
        snprintf(err, errlen, "the thumbnail %s could not be decoded", in_path);
        return -1;
    }
    int w = src->width < width ? src->width : width;
    int h = (int)((long long)src->height * w / src->width);
    h += h & 1; /* 4:2:0 wants even sizes */
    w += w & 1;
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    AVCodecContext *enc = codec ? avcodec_alloc_context3(codec) : NULL;
    AVFrame *dst = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    struct SwsContext *sws = NULL;
    FILE *f = NULL;
    int rc = -1;
    if (!enc || !dst || !pkt) {
        snprintf(err, errlen, "no mjpeg encoder, or out of memory");
        goto out;
    }
    enc->width = dst->width = w;
    enc->height = dst->height = h;
    enc->pix_fmt = dst->format = AV_PIX_FMT_YUVJ420P;
    enc->time_base = (AVRational){1, 25};
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * 5; /* a 360 px card: small beats perfect */
    sws = sws_getContext(src->width, src->height, src->format, w, h, AV_PIX_FMT_YUVJ420P, SWS_AREA, NULL, NULL, NULL);
    if (!sws || avcodec_open2(enc, codec, NULL) < 0 || av_frame_get_buffer(dst, 0) < 0) {
        snprintf(err, errlen, "cannot set up scaling to %dx%d", w, h);
        goto out;
    }
    sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, dst->data, dst->linesize);
    dst->pts = 0;
    dst->quality = enc->global_quality;
    if (avcodec_send_frame(enc, dst) < 0 || avcodec_send_frame(enc, NULL) < 0 || avcodec_receive_packet(enc, pkt) < 0) {
        snprintf(err, errlen, "JPEG encoding of the small thumbnail failed");
        goto out;
    }
    if (!(f = fopen(out_path, "wb")) || fwrite(pkt->data, 1, (size_t)pkt->size, f) != (size_t)pkt->size) {
        snprintf(err, errlen, "cannot write %s", out_path);
        goto out;
    }
    rc = 0;
    if (out_w)
        *out_w = w;
    if (out_h)
        *out_h = h;
out:
    if (f && fclose(f) != 0 && rc == 0) {
        snprintf(err, errlen, "cannot write %s", out_path);
        rc = -1;
    }
    if (rc != 0)
        remove(out_path);
    sws_freeContext(sws);
    av_packet_free(&pkt);
    av_frame_free(&dst);
    av_frame_free(&src);
    avcodec_free_context(&enc);
    return rc;
}
