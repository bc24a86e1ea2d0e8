/*
 * rc_media.c — see rc_media.h.
 */
#include "rc_media.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/imgutils.h>
#include <libavutil/samplefmt.h>
#include <libswscale/swscale.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The URL up to its query string or fragment (signed URLs carry secrets there). */
static void url_for_message(const char *url, char *out, size_t len)
{
    size_t n = strcspn(url, "?#");
    if (n >= len)
        n = len - 1;
    memcpy(out, url, n);
    out[n] = '\0';
}

int rc_fetch_to_file(const cl_host_api *api, cl_call *call, const char *url, const char *path,
                     const char *what, cl_error *err)
{
    char shown[256];
    url_for_message(url, shown, sizeof shown);
    cl_http_request req = {.size = sizeof req,
                           .method = "GET",
                           .url = url,
                           .timeout_ms = 30000,
                           .max_retries = 2,
                           .max_response_bytes = 20u << 20,
                           .flags = CL_HTTP_FOLLOW_REDIRECTS};
    cl_http_response res = {.size = sizeof res};
    cl_error herr = {0};
    int rc = api->http_do(call, &req, &res, &herr);
    if (rc != CL_OK) {
        api->http_response_free(&res);
        if (err) {
            err->http_status = herr.http_status;
            err->retry_after_ms = herr.retry_after_ms;
        }
        return rc_err(err, rc, "%s %s: %s", what, shown, herr.message);
    }
    if (res.status < 200 || res.status > 299) {
        int status = res.status;
        api->http_response_free(&res);
        if (err)
            err->http_status = status;
        return rc_err(err, CL_EUPSTREAM, "%s %s: HTTP %d", what, shown, status);
    }
    if (res.body_len == 0) {
        api->http_response_free(&res);
        return rc_err(err, CL_EUPSTREAM, "%s %s: empty response", what, shown);
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        int e = errno;
        api->http_response_free(&res);
        return rc_err(err, CL_EIO, "%s: cannot write %s: %s", what, path, strerror(e));
    }
    size_t w = fwrite(res.body, 1, res.body_len, f);
    int bad = w != res.body_len;
    if (fclose(f) != 0)
        bad = 1;
    api->http_response_free(&res);
    if (bad)
        return rc_err(err, CL_EIO, "%s: cannot write %s", what, path);
    return CL_OK;
}

/* Shared by rc_decode_image and rc_thumbnail_from_video: open, find the best
   video stream, open its decoder. */
static int open_video(const char *path, AVFormatContext **fmt, AVCodecContext **dec, int *stream)
{
    *fmt = NULL;
    *dec = NULL;
    if (avformat_open_input(fmt, path, NULL, NULL) < 0)
        return -1;
    if (avformat_find_stream_info(*fmt, NULL) < 0)
        return -1;
    const AVCodec *codec = NULL;
    int si = av_find_best_stream(*fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (si < 0 || !codec)
        return -1;
    *dec = avcodec_alloc_context3(codec);
    if (!*dec || avcodec_parameters_to_context(*dec, (*fmt)->streams[si]->codecpar) < 0)
        return -1;
    (*dec)->thread_count = 1;
    if (avcodec_open2(*dec, codec, NULL) < 0)
        return -1;
    *stream = si;
    return 0;
}

/* Decode frames until one at or after t seconds (t <= 0: the first) or the
   end of the stream; returns that frame, else the last one decoded (the
   caller frees), or NULL. */
static AVFrame *decode_until(AVFormatContext *fmt, AVCodecContext *dec, int si, double t)
{
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc(), *last = NULL;
    if (!pkt || !frame)
        goto out;
    AVRational tb = fmt->streams[si]->time_base;
    int eof = 0, done = 0;
    while (!done) {
        if (!eof) {
            int r = av_read_frame(fmt, pkt);
            if (r < 0) {
                eof = 1;
                avcodec_send_packet(dec, NULL);
            } else {
                if (pkt->stream_index == si)
                    avcodec_send_packet(dec, pkt);
                av_packet_unref(pkt);
            }
        }
        for (;;) {
            int r = avcodec_receive_frame(dec, frame);
            if (r == AVERROR(EAGAIN))
                break;
            if (r < 0) {
                done = 1;
                break;
            }
            av_frame_free(&last);
            last = av_frame_clone(frame);
            av_frame_unref(frame);
            int64_t pts = last ? last->best_effort_timestamp : AV_NOPTS_VALUE;
            if (!last || t <= 0 || (pts != AV_NOPTS_VALUE && pts * av_q2d(tb) >= t - 1e-3)) {
                done = 1;
                break;
            }
        }
    }
out:
    av_packet_free(&pkt);
    av_frame_free(&frame);
    return last;
}

int rc_decode_image(const char *path, const char *what, AVFrame **out, cl_error *err)
{
    AVFormatContext *fmt;
    AVCodecContext *dec;
    int si;
    *out = NULL;
    int rc = CL_OK;
    if (open_video(path, &fmt, &dec, &si) != 0)
        rc = rc_err(err, CL_EUPSTREAM, "%s is not a decodable image", what);
    else if (!(*out = decode_until(fmt, dec, si, 0)))
        rc = rc_err(err, CL_EUPSTREAM, "%s: no picture could be decoded", what);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return rc;
}

int rc_write_jpeg(const AVFrame *frame, const char *path, cl_error *err)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (!codec)
        return rc_err(err, CL_EUNSUPPORTED, "the FFmpeg libraries have no mjpeg encoder");
    int rc = CL_OK;
    AVCodecContext *enc = avcodec_alloc_context3(codec);
    AVFrame *yuv = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    struct SwsContext *sws = NULL;
    FILE *f = NULL;
    if (!enc || !yuv || !pkt) {
        rc = rc_err(err, CL_ENOMEM, "out of memory");
        goto out;
    }
    enc->width = frame->width;
    enc->height = frame->height;
    enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
    enc->time_base = (AVRational){1, 25};
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * 3; /* good quality, small file */
    if (avcodec_open2(enc, codec, NULL) < 0) {
        rc = rc_err(err, CL_EIO, "cannot open the mjpeg encoder");
        goto out;
    }
    yuv->format = AV_PIX_FMT_YUVJ420P;
    yuv->width = frame->width;
    yuv->height = frame->height;
    sws = sws_getContext(frame->width, frame->height, frame->format, frame->width, frame->height,
                         AV_PIX_FMT_YUVJ420P, SWS_BICUBIC, NULL, NULL, NULL);
    if (!sws || av_frame_get_buffer(yuv, 0) < 0) {
        rc = rc_err(err, CL_ENOMEM, "thumbnail: cannot convert the picture");
        goto out;
    }
    sws_scale(sws, (const uint8_t *const *)frame->data, frame->linesize, 0, frame->height,
              yuv->data, yuv->linesize);
    yuv->pts = 0;
    yuv->quality = enc->global_quality;
    if (avcodec_send_frame(enc, yuv) < 0 || avcodec_send_frame(enc, NULL) < 0 ||
        avcodec_receive_packet(enc, pkt) < 0) {
        rc = rc_err(err, CL_EIO, "thumbnail: JPEG encoding failed");
        goto out;
    }
    if (!(f = fopen(path, "wb"))) {
        rc = rc_err(err, CL_EIO, "cannot write thumbnail %s: %s", path, strerror(errno));
        goto out;
    }
    if (fwrite(pkt->data, 1, (size_t)pkt->size, f) != (size_t)pkt->size)
        rc = rc_err(err, CL_EIO, "cannot write thumbnail %s: %s", path, strerror(errno));
    if (fclose(f) != 0 && rc == CL_OK)
        rc = rc_err(err, CL_EIO, "cannot write thumbnail %s: %s", path, strerror(errno));
out:
    sws_freeContext(sws);
    av_packet_free(&pkt);
    av_frame_free(&yuv);
    avcodec_free_context(&enc);
    return rc;
}

int rc_thumbnail_from_video(const char *video_path, double t, const char *jpeg_path,
                            cl_error *err)
{
    AVFormatContext *fmt;
    AVCodecContext *dec;
    int si, rc;
    AVFrame *frame = NULL;
    if (open_video(video_path, &fmt, &dec, &si) != 0)
        rc = rc_err(err, CL_EUPSTREAM, "cannot read the rendered video %s", video_path);
    else if (!(frame = decode_until(fmt, dec, si, t)))
        rc = rc_err(err, CL_EUPSTREAM, "the rendered video %s has no decodable frame", video_path);
    else
        rc = rc_write_jpeg(frame, jpeg_path, err);
    av_frame_free(&frame);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return rc;
}

/* Encode one frame (NULL flushes) of the silent track and write its packets. */
static int mux_audio(AVFormatContext *oc, AVCodecContext *enc, AVStream *st, AVFrame *f, AVPacket *pkt)
{
    if (avcodec_send_frame(enc, f) < 0)
        return -1;
    for (;;) {
        int e = avcodec_receive_packet(enc, pkt);
        if (e == AVERROR(EAGAIN) || e == AVERROR_EOF)
            return 0;
        if (e < 0)
            return -1;
        av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
        pkt->stream_index = st->index;
        if (av_interleaved_write_frame(oc, pkt) < 0)
            return -1;
    }
}

int rc_mux_with_silence(const char *in_path, const char *out_path, cl_error *err)
{
    return rc_mux_with_audio(in_path, out_path, NULL, err);
}

/* Encode and write the mix's samples from *next until upto is passed, in
   whole encoder frames (only the stream's last frame, at total, is short). 0 or -1. */
static int mux_audio_until(AVFormatContext *oc, AVCodecContext *aenc, AVStream *oas, AVFrame *af, AVPacket *pkt,
                           const rc_mix *mix, int64_t *next, int64_t upto, int64_t total)
{
    while (*next < upto && *next < total) {
        int n = total - *next < aenc->frame_size ? (int)(total - *next) : aenc->frame_size;
        if (av_frame_make_writable(af) < 0)
            return -1;
        af->nb_samples = n;
        af->pts = *next;
        rc_mix_fill(mix, *next, n, af->data);
        if (mux_audio(oc, aenc, oas, af, pkt) < 0)
            return -1;
        *next += n;
    }
    return 0;
}

int rc_mux_with_audio(const char *in_path, const char *out_path, const rc_mix *mix, cl_error *err)
{
    AVFormatContext *ic = NULL, *oc = NULL;
    AVCodecContext *aenc = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *af = av_frame_alloc();
    int rc = CL_OK, opened = 0;
    if (!pkt || !af) {
        rc = rc_err(err, CL_ENOMEM, "out of memory");
        goto out;
    }
    if (avformat_open_input(&ic, in_path, NULL, NULL) < 0 || avformat_find_stream_info(ic, NULL) < 0) {
        rc = rc_err(err, CL_EUPSTREAM, "cannot read the rendered video %s", in_path);
        goto out;
    }
    int vi = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (vi < 0) {
        rc = rc_err(err, CL_EUPSTREAM, "the rendered file %s has no video stream", in_path);
        goto out;
    }
    AVStream *ivs = ic->streams[vi];
    double dur = ivs->duration != AV_NOPTS_VALUE ? ivs->duration * av_q2d(ivs->time_base)
                                                 : ic->duration / (double)AV_TIME_BASE;
    if (avformat_alloc_output_context2(&oc, NULL, "mp4", out_path) < 0) {
        rc = rc_err(err, CL_EIO, "cannot create an MP4 muxer");
        goto out;
    }
    if ((rc = rc_aac_open(&aenc, err)) != CL_OK)
        goto out;
    AVStream *ovs = avformat_new_stream(oc, NULL), *oas = avformat_new_stream(oc, NULL);
    if (!ovs || !oas || avcodec_parameters_copy(ovs->codecpar, ivs->codecpar) < 0) {
        rc = rc_err(err, CL_ENOMEM, "out of memory");
        goto out;
    }
    ovs->codecpar->codec_tag = 0;
    ovs->time_base = ivs->time_base;
    ovs->avg_frame_rate = ivs->avg_frame_rate;
    ovs->r_frame_rate = ivs->r_frame_rate;
    if (avcodec_parameters_from_context(oas->codecpar, aenc) < 0) {
        rc = rc_err(err, CL_ENOMEM, "out of memory");
        goto out;
    }
    oas->time_base = aenc->time_base;
    int e = avio_open(&oc->pb, out_path, AVIO_FLAG_WRITE);
    if (e < 0) {
        char buf[AV_ERROR_MAX_STRING_SIZE] = "";
        av_strerror(e, buf, sizeof buf);
        rc = rc_err(err, CL_EIO, "cannot write the video to %s: %s", out_path, buf);
        goto out;
    }
    opened = 1;
    AVDictionary *mopt = NULL;
    av_dict_set(&mopt, "movflags", "+faststart", 0);
    e = avformat_write_header(oc, &mopt);
    av_dict_free(&mopt);
    if (e < 0) {
        rc = rc_err(err, CL_EIO, "cannot write the MP4 header to %s", out_path);
        goto out;
    }
    af->format = AV_SAMPLE_FMT_FLTP;
    af->sample_rate = 48000;
    av_channel_layout_copy(&af->ch_layout, &aenc->ch_layout);
    af->nb_samples = aenc->frame_size;
    if (av_frame_get_buffer(af, 0) < 0) {
        rc = rc_err(err, CL_ENOMEM, "out of memory");
        goto out;
    }
    int64_t total = (int64_t)llround(dur * 48000), next = 0;
    /* Video packets as they come, audio kept up to the same time. */
    while (av_read_frame(ic, pkt) >= 0) {
        if (pkt->stream_index != vi) {
            av_packet_unref(pkt);
            continue;
        }
        double t = pkt->dts != AV_NOPTS_VALUE ? pkt->dts * av_q2d(ivs->time_base) : 0;
        av_packet_rescale_ts(pkt, ivs->time_base, ovs->time_base);
        pkt->stream_index = ovs->index;
        pkt->pos = -1;
        if (av_interleaved_write_frame(oc, pkt) < 0) {
            rc = rc_err(err, CL_EIO, "cannot write to %s", out_path);
            goto out;
        }
        int64_t upto = (int64_t)(t * 48000);
        if (mux_audio_until(oc, aenc, oas, af, pkt, mix, &next, upto, total) < 0)
            goto audio_fail;
    }
    if (mux_audio_until(oc, aenc, oas, af, pkt, mix, &next, total, total) < 0)
        goto audio_fail;
    if (mux_audio(oc, aenc, oas, NULL, pkt) < 0)
        goto audio_fail;
    if (av_write_trailer(oc) < 0) {
        rc = rc_err(err, CL_EIO, "cannot finish %s", out_path);
        goto out;
    }
    goto out;
audio_fail:
    rc = rc_err(err, CL_EIO, "cannot add the silent audio track to %s", out_path);
out:
    if (oc && opened)
        avio_closep(&oc->pb);
    avformat_free_context(oc);
    avformat_close_input(&ic);
    avcodec_free_context(&aenc);
    av_packet_free(&pkt);
    av_frame_free(&af);
    if (rc != CL_OK && opened)
        unlink(out_path);
    return rc;
}
