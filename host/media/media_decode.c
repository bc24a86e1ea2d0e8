/*
 * media_decode.c — checking an uploaded or fetched file by decoding it and
 * making the normalized copy (media_internal.h):
 *
 *  - images (JPEG, PNG, WebP, GIF's first frame) through libavformat /
 *    libavcodec: the size the file declares is read from its header and
 *    refused above CL_MEDIA_MAX_PIXELS / CL_MEDIA_MAX_SIDE before any pixel
 *    is decoded (the decoder also gets max_pixels), the EXIF orientation
 *    (exported by FFmpeg's JPEG decoder as the frame's "Orientation"
 *    metadata, or a display matrix) is applied, the long side scaled to at
 *    most CL_MEDIA_NORMALIZED_SIDE, and the result encoded as JPEG, or PNG
 *    when some pixel is not opaque;
 *  - audio (MP3, M4A/AAC, WAV, Ogg, FLAC) decoded and resampled to 48 kHz
 *    stereo 16-bit WAV, at most CL_MEDIA_MAX_AUDIO_MS long;
 *  - fonts (TrueType, OpenType) opened with FreeType and one glyph rendered;
 *    the normalized copy is the file itself.
 *
 * Only the demuxers named in DEMUXERS may open a file (no playlists or
 * concat scripts that would read other files) and only the file protocol.
 */
#include "media/media_internal.h"

#include <ft2build.h>
#include FT_FREETYPE_H
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMAGE_DEMUXERS "png_pipe,jpeg_pipe,webp_pipe,gif"
#define AUDIO_DEMUXERS "mp3,mov,mp4,m4a,3gp,3g2,mj2,wav,ogg,flac,aac"
#define SNIFF_BYTES (256 * 1024)

#define FAIL(st, c, ...)                                                                                           \
    do {                                                                                                           \
        snprintf(code, codelen, "%s", c);                                                                          \
        snprintf(msg, msglen, __VA_ARGS__);                                                                        \
        status = (st);                                                                                             \
        goto done;                                                                                                 \
    } while (0)

/* ---- the size an image declares, from its header ------------------------- */

static unsigned be16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }
static unsigned be32(const unsigned char *p) { return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3]; }
static unsigned le16(const unsigned char *p) { return (unsigned)p[1] << 8 | p[0]; }
static unsigned le24(const unsigned char *p) { return (unsigned)p[2] << 16 | (unsigned)p[1] << 8 | p[0]; }

/* 1 with *w, *h when the header of a PNG, GIF, JPEG or WebP says its size. */
static int declared_size(const unsigned char *b, size_t n, unsigned *w, unsigned *h)
{
    if (n >= 24 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0 && memcmp(b + 12, "IHDR", 4) == 0) {
        *w = be32(b + 16), *h = be32(b + 20);
        return 1;
    }
    if (n >= 10 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0)) {
        *w = le16(b + 6), *h = le16(b + 8);
        return 1;
    }
    if (n >= 30 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0) {
        if (memcmp(b + 12, "VP8X", 4) == 0) {
            *w = le24(b + 24) + 1, *h = le24(b + 27) + 1;
            return 1;
        }
        if (memcmp(b + 12, "VP8L", 4) == 0 && n >= 25) {
            uint32_t v = (uint32_t)b[21] | (uint32_t)b[22] << 8 | (uint32_t)b[23] << 16 | (uint32_t)b[24] << 24;
            *w = (v & 0x3fff) + 1, *h = ((v >> 14) & 0x3fff) + 1;
            return 1;
        }
        if (memcmp(b + 12, "VP8 ", 4) == 0) {
            *w = le16(b + 26) & 0x3fff, *h = le16(b + 28) & 0x3fff;
            return 1;
        }
        return 0;
    }
    if (n >= 4 && b[0] == 0xff && b[1] == 0xd8) {
        size_t i = 2;
        while (i + 9 < n) {
            if (b[i] != 0xff) {
                i++;
                continue;
            }
            unsigned m = b[i + 1];
            if (m == 0xff || m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7)) {
                i += m == 0xff ? 1 : 2;
                continue;
            }
            if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
                *h = be16(b + i + 5), *w = be16(b + i + 7);
                return 1;
            }
            if (m == 0xd9 || m == 0xda)
                return 0;
            i += 2 + be16(b + i + 2);
        }
    }
    return 0;
}

/* ---- opening a file with the allowed demuxers ----------------------------- */

/* Open path with one of the whitelisted demuxers; fmt_name forces one (images:
   chosen from the magic bytes, so a file name's extension never picks the
   image2 demuxer). */
static int open_input(const char *path, const char *whitelist, const char *fmt_name, AVFormatContext **out)
{
    AVFormatContext *f = avformat_alloc_context();
    if (!f)
        return AVERROR(ENOMEM);
    f->format_whitelist = av_strdup(whitelist);
    f->protocol_whitelist = av_strdup("file");
    AVDictionary *o = NULL;
    av_dict_set(&o, "probesize", "1048576", 0);
    const AVInputFormat *ifmt = fmt_name ? av_find_input_format(fmt_name) : NULL;
    int rc = fmt_name && !ifmt ? AVERROR_DEMUXER_NOT_FOUND : avformat_open_input(&f, path, ifmt, &o);
    if (rc != 0 && fmt_name && !ifmt)
        avformat_free_context(f); /* avformat_open_input frees f itself on failure */
    av_dict_free(&o);
    *out = rc == 0 ? f : NULL;
    return rc;
}

/* ---- images --------------------------------------------------------------- */

typedef struct image {
    AVFrame *frame;
    enum AVCodecID codec;
    int orientation; /* EXIF 1..8 */
} image;

static int orientation_of(const AVFrame *fr)
{
    const AVDictionaryEntry *e = av_dict_get(fr->metadata, "Orientation", NULL, 0);
    if (e) {
        int o = atoi(e->value);
        if (o >= 1 && o <= 8)
            return o;
    }
    const AVFrameSideData *sd = av_frame_get_side_data(fr, AV_FRAME_DATA_DISPLAYMATRIX);
    if (sd && sd->size >= 9 * sizeof(int32_t)) {
        double a = av_display_rotation_get((const int32_t *)sd->data);
        int deg = ((int)lrint(-a) % 360 + 360) % 360; /* clockwise degrees to turn the picture */
        return deg == 90 ? 6 : deg == 180 ? 3 : deg == 270 ? 8 : 1;
    }
    return 1;
}

/* Decode the first picture of path (an image demuxer). 0, or status with code/msg. */
/* The image demuxer for the file's magic bytes, or NULL. */
static const char *image_demuxer(const unsigned char *b, size_t n)
{
    if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "png_pipe";
    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
        return "jpeg_pipe";
    if (n >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0))
        return "gif";
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        return "webp_pipe";
    return NULL;
}

static int decode_image(const char *path, image *img, char *code, size_t codelen, char *msg, size_t msglen)
{
    int status = 0;
    AVFormatContext *f = NULL;
    AVCodecContext *dc = NULL;
    AVPacket *pkt = av_packet_alloc();
    memset(img, 0, sizeof *img);
    img->orientation = 1;
    if (!pkt)
        FAIL(500, "internal", "out of memory");
    unsigned char magic[16] = {0};
    FILE *mf = fopen(path, "rb");
    size_t mn = mf ? fread(magic, 1, sizeof magic, mf) : 0;
    if (mf)
        fclose(mf);
    const char *dm = image_demuxer(magic, mn);
    if (!dm || open_input(path, IMAGE_DEMUXERS, dm, &f) != 0 || f->nb_streams < 1 ||
        f->streams[0]->codecpar->codec_type != AVMEDIA_TYPE_VIDEO)
        FAIL(415, "unsupported_media_type", "This file is not an image we can read (JPEG, PNG, WebP or GIF)");
    enum AVCodecID id = f->streams[0]->codecpar->codec_id;
    if (id != AV_CODEC_ID_PNG && id != AV_CODEC_ID_MJPEG && id != AV_CODEC_ID_WEBP && id != AV_CODEC_ID_GIF)
        FAIL(415, "unsupported_media_type", "This file is not an image we can read (JPEG, PNG, WebP or GIF)");
    img->codec = id;
    const AVCodec *codec = avcodec_find_decoder(id);
    dc = codec ? avcodec_alloc_context3(codec) : NULL;
    if (!dc || avcodec_parameters_to_context(dc, f->streams[0]->codecpar) < 0)
        FAIL(500, "internal", "out of memory");
    dc->max_pixels = CL_MEDIA_MAX_PIXELS; /* the decoder refuses a larger picture before allocating it */
    dc->thread_count = 1;
    if (avcodec_open2(dc, codec, NULL) < 0)
        FAIL(422, "image_unreadable", "The image could not be decoded");
    img->frame = av_frame_alloc();
    if (!img->frame)
        FAIL(500, "internal", "out of memory");
    int got = 0;
    for (int packets = 0; !got && packets < 64; packets++) {
        int rr = av_read_frame(f, pkt);
        if (rr < 0) {
            avcodec_send_packet(dc, NULL);
        } else {
            if (pkt->stream_index != 0) {
                av_packet_unref(pkt);
                continue;
            }
            int sr = avcodec_send_packet(dc, pkt);
            av_packet_unref(pkt);
            if (sr < 0 && sr != AVERROR(EAGAIN))
                break;
        }
        int fr = avcodec_receive_frame(dc, img->frame);
        if (fr == 0)
            got = 1;
        else if (fr != AVERROR(EAGAIN) || rr < 0)
            break;
    }
    if (!got || img->frame->width <= 0 || img->frame->height <= 0)
        FAIL(422, "image_unreadable", "The image could not be decoded (the file is broken or truncated)");
    if ((int64_t)img->frame->width * img->frame->height > CL_MEDIA_MAX_PIXELS)
        FAIL(422, "image_too_large", "The image has %dx%d pixels; the most we accept is %lld megapixels",
             img->frame->width, img->frame->height, CL_MEDIA_MAX_PIXELS / 1000000);
    img->orientation = orientation_of(img->frame);
done:
    if (status != 0) {
        av_frame_free(&img->frame);
    }
    av_packet_free(&pkt);
    avcodec_free_context(&dc);
    avformat_close_input(&f);
    return status;
}

/* The frame scaled to w x h in fmt (RGBA or RGB24), packed rows. malloc'd or NULL. */
static uint8_t *scale_to(const AVFrame *fr, int w, int h, enum AVPixelFormat fmt, int sws_flags)
{
    int bpp = fmt == AV_PIX_FMT_RGBA ? 4 : 3;
    uint8_t *out = malloc((size_t)w * h * bpp);
    struct SwsContext *sws = out ? sws_getContext(fr->width, fr->height, fr->format, w, h, fmt,
                                                  sws_flags, NULL, NULL, NULL)
                                 : NULL;
    if (!sws) {
        free(out);
        return NULL;
    }
    uint8_t *dst[4] = {out, NULL, NULL, NULL};
    int stride[4] = {w * bpp, 0, 0, 0};
    sws_scale(sws, (const uint8_t *const *)fr->data, fr->linesize, 0, fr->height, dst, stride);
    sws_freeContext(sws);
    return out;
}

/* Apply EXIF orientation o to the w x h picture src (bpp bytes a pixel); the
   result is malloc'd, *ow x *oh. */
static uint8_t *orient(const uint8_t *src, int w, int h, int bpp, int o, int *ow, int *oh)
{
    int swap = o >= 5;
    *ow = swap ? h : w;
    *oh = swap ? w : h;
    uint8_t *dst = malloc((size_t)w * h * bpp);
    if (!dst)
        return NULL;
    for (int y = 0; y < *oh; y++)
        for (int x = 0; x < *ow; x++) {
            int sx, sy; /* the source pixel shown at (x, y) */
            switch (o) {
            case 2: sx = w - 1 - x, sy = y; break;
            case 3: sx = w - 1 - x, sy = h - 1 - y; break;
            case 4: sx = x, sy = h - 1 - y; break;
            case 5: sx = y, sy = x; break;
            case 6: sx = y, sy = h - 1 - x; break;
            case 7: sx = w - 1 - y, sy = h - 1 - x; break;
            case 8: sx = w - 1 - y, sy = x; break;
            default: sx = x, sy = y; break;
            }
            memcpy(dst + ((size_t)y * *ow + x) * bpp, src + ((size_t)sy * w + sx) * bpp, (size_t)bpp);
        }
    return dst;
}

static int write_all(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    return close(fd);
}

/* Encode one packed RGB24/RGBA picture as JPEG (rgb) or PNG (rgba) into path. 0 or -1. */
static int encode_picture(const uint8_t *pix, int w, int h, int alpha, const char *path)
{
    const AVCodec *codec = avcodec_find_encoder(alpha ? AV_CODEC_ID_PNG : AV_CODEC_ID_MJPEG);
    AVCodecContext *ec = codec ? avcodec_alloc_context3(codec) : NULL;
    AVFrame *fr = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    struct SwsContext *sws = NULL;
    int rc = -1;
    if (!ec || !fr || !pkt)
        goto out;
    enum AVPixelFormat pf = alpha ? AV_PIX_FMT_RGBA : AV_PIX_FMT_YUVJ420P;
    ec->width = w;
    ec->height = h;
    ec->pix_fmt = pf;
    ec->time_base = (AVRational){1, 25};
    ec->thread_count = 1;
    if (!alpha) {
        ec->flags |= AV_CODEC_FLAG_QSCALE;
        ec->global_quality = FF_QP2LAMBDA * 3;
        ec->color_range = AVCOL_RANGE_JPEG;
    }
    if (avcodec_open2(ec, codec, NULL) < 0)
        goto out;
    fr->width = w, fr->height = h, fr->format = pf;
    if (av_frame_get_buffer(fr, 0) < 0)
        goto out;
    if (alpha) {
        for (int y = 0; y < h; y++)
            memcpy(fr->data[0] + (size_t)y * fr->linesize[0], pix + (size_t)y * w * 4, (size_t)w * 4);
    } else {
        sws = sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, pf, SWS_BICUBIC | SWS_ACCURATE_RND, NULL, NULL, NULL);
        if (!sws)
            goto out;
        const uint8_t *src[4] = {pix, NULL, NULL, NULL};
        int sstride[4] = {w * 3, 0, 0, 0};
        sws_scale(sws, src, sstride, 0, h, fr->data, fr->linesize);
        fr->quality = ec->global_quality;
    }
    if (avcodec_send_frame(ec, fr) < 0 || avcodec_send_frame(ec, NULL) < 0 || avcodec_receive_packet(ec, pkt) < 0)
        goto out;
    rc = write_all(path, pkt->data, (size_t)pkt->size);
out:
    sws_freeContext(sws);
    av_packet_free(&pkt);
    av_frame_free(&fr);
    avcodec_free_context(&ec);
    return rc;
}

static const char *image_mime(enum AVCodecID id)
{
    return id == AV_CODEC_ID_PNG ? "image/png" : id == AV_CODEC_ID_WEBP ? "image/webp" : id == AV_CODEC_ID_GIF ? "image/gif" : "image/jpeg";
}

static int process_image(const char *path, const unsigned char *head, size_t headlen, const char *norm_path,
                         cl_media_probe *out, char *code, size_t codelen, char *msg, size_t msglen)
{
    int status = 0;
    uint8_t *pix = NULL, *turned = NULL;
    image img = {0};
    unsigned dw = 0, dh = 0;
    if (declared_size(head, headlen, &dw, &dh)) {
        /* refused on what the header claims, before a single pixel is decoded */
        if (dw == 0 || dh == 0)
            FAIL(422, "image_unreadable", "The image declares an empty size");
        if (dw > CL_MEDIA_MAX_SIDE || dh > CL_MEDIA_MAX_SIDE || (long long)dw * dh > CL_MEDIA_MAX_PIXELS)
            FAIL(422, "image_too_large",
                 "The image claims %ux%u pixels; the most we accept is %lld megapixels and %d pixels a side", dw, dh,
                 CL_MEDIA_MAX_PIXELS / 1000000, CL_MEDIA_MAX_SIDE);
    }
    status = decode_image(path, &img, code, codelen, msg, msglen);
    if (status != 0)
        goto done;
    AVFrame *fr = img.frame;
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fr->format);
    int alpha = d && (d->flags & AV_PIX_FMT_FLAG_ALPHA);
    if (fr->format == AV_PIX_FMT_PAL8)
        alpha = 1; /* GIF / palette PNG: checked pixel by pixel below */
    int swap = img.orientation >= 5;
    int ow = swap ? fr->height : fr->width, oh = swap ? fr->width : fr->height;
    double k = fmax(ow, oh) > CL_MEDIA_NORMALIZED_SIDE ? (double)CL_MEDIA_NORMALIZED_SIDE / fmax(ow, oh) : 1.0;
    int tw = (int)lrint(fr->width * k), th = (int)lrint(fr->height * k);
    if (tw < 1)
        tw = 1;
    if (th < 1)
        th = 1;
    int bpp = alpha ? 4 : 3;
    pix = scale_to(fr, tw, th, alpha ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24,
                   SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT);
    if (!pix)
        FAIL(500, "internal", "out of memory");
    if (alpha) { /* keep PNG only when some pixel is not opaque */
        int translucent = 0;
        for (size_t i = 3; i < (size_t)tw * th * 4 && !translucent; i += 4)
            translucent = pix[i] != 255;
        if (!translucent) {
            for (size_t i = 0; i < (size_t)tw * th; i++)
                memmove(pix + i * 3, pix + i * 4, 3);
            alpha = 0, bpp = 3;
        }
    }
    int fw = tw, fh = th;
    if (img.orientation != 1) {
        turned = orient(pix, tw, th, bpp, img.orientation, &fw, &fh);
        if (!turned)
            FAIL(500, "internal", "out of memory");
    }
    if (encode_picture(turned ? turned : pix, fw, fh, alpha, norm_path) != 0)
        FAIL(500, "internal", "The normalized copy of the image could not be written");
    snprintf(out->kind, sizeof out->kind, "image");
    snprintf(out->mime, sizeof out->mime, "%s", image_mime(img.codec));
    snprintf(out->normalized_mime, sizeof out->normalized_mime, "%s", alpha ? "image/png" : "image/jpeg");
    out->width = fw, out->height = fh;
    out->src_width = fr->width, out->src_height = fr->height;
    out->orientation = img.orientation;
done:
    free(pix);
    free(turned);
    av_frame_free(&img.frame);
    return status;
}

/* ---- audio ---------------------------------------------------------------- */

/* The normalized copy of an audio file: 48 kHz stereo 16-bit FLAC at the
   encoder's default level (lossless; 10 minutes of music 40-70 % smaller
   than the same samples as WAV, encoded in about a second), written through
   the FFmpeg libraries. Samples are queued until the encoder's frame is full. */
typedef struct flac_out {
    AVFormatContext *oc;
    AVCodecContext *enc;
    AVAudioFifo *fifo;
    AVFrame *frame;
    AVPacket *pkt;
    int64_t pts;
} flac_out;

static int flac_open(flac_out *o, const char *path)
{
    memset(o, 0, sizeof *o);
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_FLAC);
    if (!codec || avformat_alloc_output_context2(&o->oc, NULL, "flac", path) < 0 || !o->oc)
        return -1;
    AVStream *st = avformat_new_stream(o->oc, NULL);
    o->enc = avcodec_alloc_context3(codec);
    o->frame = av_frame_alloc();
    o->pkt = av_packet_alloc();
    if (!st || !o->enc || !o->frame || !o->pkt)
        return -1;
    o->enc->sample_fmt = AV_SAMPLE_FMT_S16;
    o->enc->sample_rate = CL_MEDIA_AUDIO_RATE;
    o->enc->time_base = (AVRational){1, CL_MEDIA_AUDIO_RATE};
    av_channel_layout_default(&o->enc->ch_layout, 2);
    if (avcodec_open2(o->enc, codec, NULL) < 0 || avcodec_parameters_from_context(st->codecpar, o->enc) < 0)
        return -1;
    st->time_base = o->enc->time_base;
    o->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_S16, 2, o->enc->frame_size * 2);
    if (!o->fifo || avio_open(&o->oc->pb, path, AVIO_FLAG_WRITE) < 0 || avformat_write_header(o->oc, NULL) < 0)
        return -1;
    return 0;
}

/* Send frame (NULL: flush) and write what comes out. */
static int flac_encode(flac_out *o, AVFrame *frame)
{
    if (avcodec_send_frame(o->enc, frame) < 0)
        return -1;
    for (;;) {
        int e = avcodec_receive_packet(o->enc, o->pkt);
        if (e == AVERROR(EAGAIN) || e == AVERROR_EOF)
            return 0;
        if (e < 0)
            return -1;
        av_packet_rescale_ts(o->pkt, o->enc->time_base, o->oc->streams[0]->time_base);
        if (av_interleaved_write_frame(o->oc, o->pkt) < 0)
            return -1;
    }
}

/* Encode the queued samples in whole frames (all of them when last). */
static int flac_drain(flac_out *o, int last)
{
    int fs = o->enc->frame_size;
    while (av_audio_fifo_size(o->fifo) >= fs || (last && av_audio_fifo_size(o->fifo) > 0)) {
        int n = av_audio_fifo_size(o->fifo) < fs ? av_audio_fifo_size(o->fifo) : fs;
        av_frame_unref(o->frame);
        o->frame->format = AV_SAMPLE_FMT_S16;
        o->frame->sample_rate = CL_MEDIA_AUDIO_RATE;
        o->frame->nb_samples = n;
        if (av_channel_layout_copy(&o->frame->ch_layout, &o->enc->ch_layout) < 0 ||
            av_frame_get_buffer(o->frame, 0) < 0 ||
            av_audio_fifo_read(o->fifo, (void **)o->frame->data, n) != n)
            return -1;
        o->frame->pts = o->pts;
        o->pts += n;
        if (flac_encode(o, o->frame) != 0)
            return -1;
    }
    return 0;
}

/* n interleaved stereo 16-bit samples. */
static int flac_write(flac_out *o, uint8_t *s16, int n)
{
    return av_audio_fifo_write(o->fifo, (void **)&s16, n) == n ? flac_drain(o, 0) : -1;
}

static int flac_finish(flac_out *o)
{
    int rc = flac_drain(o, 1) == 0 && flac_encode(o, NULL) == 0 && av_write_trailer(o->oc) >= 0 ? 0 : -1;
    if (o->oc->pb && o->oc->pb->error < 0)
        rc = -1;
    return avio_closep(&o->oc->pb) < 0 ? -1 : rc;
}

static void flac_close(flac_out *o)
{
    if (o->oc && o->oc->pb)
        avio_closep(&o->oc->pb);
    avformat_free_context(o->oc);
    avcodec_free_context(&o->enc);
    av_audio_fifo_free(o->fifo);
    av_frame_free(&o->frame);
    av_packet_free(&o->pkt);
    memset(o, 0, sizeof *o);
}

static const char *audio_mime(const char *demuxer)
{
    if (strcmp(demuxer, "mp3") == 0)
        return "audio/mpeg";
    if (strncmp(demuxer, "mov", 3) == 0)
        return "audio/mp4";
    if (strcmp(demuxer, "wav") == 0)
        return "audio/wav";
    if (strcmp(demuxer, "ogg") == 0)
        return "audio/ogg";
    if (strcmp(demuxer, "flac") == 0)
        return "audio/flac";
    return "audio/aac";
}

static int process_audio(const char *path, const char *norm_path, cl_media_probe *out, char *code, size_t codelen,
                         char *msg, size_t msglen)
{
    int status = 0;
    AVFormatContext *f = NULL;
    AVCodecContext *dc = NULL;
    SwrContext *swr = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    flac_out w = {0};
    uint8_t *buf = NULL;
    int bufsamples = 0;
    if (!pkt || !fr)
        FAIL(500, "internal", "out of memory");
    if (open_input(path, AUDIO_DEMUXERS, NULL, &f) != 0)
        FAIL(415, "unsupported_media_type",
             "This file is not an image (JPEG, PNG, WebP, GIF), audio (MP3, M4A, WAV, Ogg, FLAC) or font (TTF, OTF) "
             "we can read");
    if (avformat_find_stream_info(f, NULL) < 0)
        FAIL(422, "audio_unreadable", "The audio could not be read (the file is broken or truncated)");
    for (unsigned i = 0; i < f->nb_streams; i++)
        if (f->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
            !(f->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC))
            FAIL(415, "unsupported_media_type", "Videos are not accepted; upload images or audio");
    int si = av_find_best_stream(f, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (si < 0)
        FAIL(415, "unsupported_media_type", "This file has no audio we can read");
    if (f->duration != AV_NOPTS_VALUE && f->duration / 1000 > CL_MEDIA_MAX_AUDIO_MS)
        FAIL(422, "audio_too_long", "The audio lasts %lld s; the longest we accept is %d minutes",
             (long long)(f->duration / AV_TIME_BASE), CL_MEDIA_MAX_AUDIO_MS / 60000);
    const AVCodec *codec = avcodec_find_decoder(f->streams[si]->codecpar->codec_id);
    dc = codec ? avcodec_alloc_context3(codec) : NULL;
    if (!dc || avcodec_parameters_to_context(dc, f->streams[si]->codecpar) < 0)
        FAIL(415, "unsupported_media_type", "This audio codec is not supported");
    dc->thread_count = 1;
    if (avcodec_open2(dc, codec, NULL) < 0)
        FAIL(415, "unsupported_media_type", "This audio codec is not supported");
    if (flac_open(&w, norm_path) != 0)
        FAIL(500, "internal", "The normalized copy of the audio could not be written");
    int64_t samples = 0, max_samples = (int64_t)CL_MEDIA_MAX_AUDIO_MS * (CL_MEDIA_AUDIO_RATE / 1000);
    int eof = 0, bad = 0;
    while (!bad) {
        int rr = eof ? AVERROR_EOF : av_read_frame(f, pkt);
        if (rr >= 0 && pkt->stream_index != si) {
            av_packet_unref(pkt);
            continue;
        }
        if (rr < 0 && !eof) {
            eof = 1;
            avcodec_send_packet(dc, NULL);
        } else if (rr >= 0) {
            int sr = avcodec_send_packet(dc, pkt);
            av_packet_unref(pkt);
            if (sr < 0 && sr != AVERROR(EAGAIN) && sr != AVERROR_INVALIDDATA)
                bad = 1;
        }
        int fr_rc;
        while ((fr_rc = avcodec_receive_frame(dc, fr)) == 0) {
            if (!swr) {
                AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
                if (swr_alloc_set_opts2(&swr, &stereo, AV_SAMPLE_FMT_S16, CL_MEDIA_AUDIO_RATE, &fr->ch_layout,
                                        fr->format, fr->sample_rate, 0, NULL) < 0 ||
                    swr_init(swr) < 0)
                    FAIL(422, "audio_unreadable", "The audio's format cannot be converted");
            }
            int cap = swr_get_out_samples(swr, fr->nb_samples);
            if (cap > bufsamples) {
                free(buf);
                buf = malloc((size_t)cap * 4);
                bufsamples = buf ? cap : 0;
                if (!buf)
                    FAIL(500, "internal", "out of memory");
            }
            int got = swr_convert(swr, &buf, cap, (const uint8_t **)fr->extended_data, fr->nb_samples);
            av_frame_unref(fr);
            if (got < 0)
                FAIL(422, "audio_unreadable", "The audio could not be decoded");
            samples += got;
            if (samples > max_samples)
                FAIL(422, "audio_too_long", "The audio is longer than %d minutes", CL_MEDIA_MAX_AUDIO_MS / 60000);
            if (flac_write(&w, buf, got) != 0)
                FAIL(500, "internal", "The normalized copy of the audio could not be written");
        }
        if (eof)
            break; /* flushed: every frame was received above */
    }
    if (swr) { /* what the resampler still holds */
        int cap = swr_get_out_samples(swr, 0);
        if (cap > 0 && cap <= bufsamples) {
            int got = swr_convert(swr, &buf, cap, NULL, 0);
            if (got > 0) {
                if (flac_write(&w, buf, got) != 0)
                    FAIL(500, "internal", "The normalized copy of the audio could not be written");
                samples += got;
            }
        }
    }
    if (samples < CL_MEDIA_AUDIO_RATE / 10)
        FAIL(422, "audio_unreadable", "No audio could be decoded from this file");
    if (flac_finish(&w) != 0)
        FAIL(500, "internal", "The normalized copy of the audio could not be written");
    snprintf(out->kind, sizeof out->kind, "audio");
    snprintf(out->mime, sizeof out->mime, "%s", audio_mime(f->iformat->name));
    snprintf(out->normalized_mime, sizeof out->normalized_mime, "audio/flac");
    out->duration_ms = (int)(samples * 1000 / CL_MEDIA_AUDIO_RATE);
done:
    flac_close(&w);
    free(buf);
    swr_free(&swr);
    av_frame_free(&fr);
    av_packet_free(&pkt);
    avcodec_free_context(&dc);
    avformat_close_input(&f);
    return status;
}

/* ---- fonts ---------------------------------------------------------------- */

static int copy_to(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    struct stat st;
    uint8_t *data = NULL;
    int rc = -1;
    if (fstat(in, &st) == 0 && st.st_size <= CL_MEDIA_MAX_BYTES && (data = malloc((size_t)st.st_size + 1))) {
        ssize_t got = read(in, data, (size_t)st.st_size);
        if (got == st.st_size)
            rc = write_all(dst, data, (size_t)got);
    }
    free(data);
    close(in);
    return rc;
}

static int process_font(const char *path, const unsigned char *head, const char *norm_path, cl_media_probe *out,
                        char *code, size_t codelen, char *msg, size_t msglen)
{
    int status = 0;
    FT_Library lib = NULL;
    FT_Face face = NULL;
    int otf = memcmp(head, "OTTO", 4) == 0;
    if (FT_Init_FreeType(&lib) != 0)
        FAIL(500, "internal", "FreeType could not start");
    if (FT_New_Face(lib, path, 0, &face) != 0)
        FAIL(422, "font_unreadable", "The font could not be opened (the file is broken)");
    if (!FT_IS_SCALABLE(face) || face->num_glyphs < 2 || !face->family_name)
        FAIL(422, "font_unreadable", "The font has no scalable glyphs we can use");
    if (FT_Set_Pixel_Sizes(face, 0, 48) != 0 || FT_Load_Char(face, 'A', FT_LOAD_RENDER) != 0 ||
        face->glyph->bitmap.width == 0)
        FAIL(422, "font_unreadable", "The font does not draw Latin letters");
    if (copy_to(path, norm_path) != 0)
        FAIL(500, "internal", "The font could not be stored");
    snprintf(out->kind, sizeof out->kind, "font");
    snprintf(out->mime, sizeof out->mime, "%s", otf ? "font/otf" : "font/ttf");
    snprintf(out->normalized_mime, sizeof out->normalized_mime, "%s", out->mime);
done:
    if (face)
        FT_Done_Face(face);
    if (lib)
        FT_Done_FreeType(lib);
    return status;
}

/* ---- the entry point ------------------------------------------------------ */


int cl_media_process(const char *path, int allow_mask, const char *norm_path, cl_media_probe *out, char *code,
                     size_t codelen, char *msg, size_t msglen)
{
    int status = 0;
    memset(out, 0, sizeof *out);
    unsigned char *head = malloc(SNIFF_BYTES);
    size_t n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (!head || fd < 0 || fstat(fd, &st) != 0)
        FAIL(500, "internal", "The upload could not be read back");
    if (st.st_size > CL_MEDIA_MAX_BYTES)
        FAIL(413, "file_too_large", "The file has %lld bytes; the most we accept is %d MB", (long long)st.st_size,
             CL_MEDIA_MAX_BYTES >> 20);
    if (st.st_size == 0)
        FAIL(422, "empty_file", "The file is empty");
    while (n < SNIFF_BYTES) {
        ssize_t got = read(fd, head + n, SNIFF_BYTES - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    int font = n >= 4 && (memcmp(head, "\x00\x01\x00\x00", 4) == 0 || memcmp(head, "OTTO", 4) == 0 ||
                          memcmp(head, "true", 4) == 0);
    if (font) {
        if (!(allow_mask & CL_MEDIA_ALLOW_FONT))
            FAIL(415, "unsupported_media_type", "Fonts are not accepted here");
        status = process_font(path, head, norm_path, out, code, codelen, msg, msglen);
    } else if (image_demuxer(head, n)) {
        if (!(allow_mask & CL_MEDIA_ALLOW_IMAGE))
            FAIL(415, "unsupported_media_type", "Images are not accepted here");
        status = process_image(path, head, n, norm_path, out, code, codelen, msg, msglen);
    } else if (allow_mask & CL_MEDIA_ALLOW_AUDIO) {
        status = process_audio(path, norm_path, out, code, codelen, msg, msglen);
    } else {
        FAIL(415, "unsupported_media_type", "This file is not an image we can read (JPEG, PNG, WebP or GIF)");
    }
done:
    if (fd >= 0)
        close(fd);
    free(head);
    if (status != 0)
        unlink(norm_path);
    return status;
}

/* ---- dominant colours ----------------------------------------------------- */

int cl_media_dominant_colors(const char *path, char colors[3][8])
{
    image img;
    char code[32], msg[256];
    if (decode_image(path, &img, code, sizeof code, msg, sizeof msg) != 0)
        return -1;
    enum { S = 64, BINS = 4096 };
    /* nearest neighbour: scaling must not invent blends of neighbouring colours */
    uint8_t *pix = scale_to(img.frame, S, S, AV_PIX_FMT_RGBA, SWS_POINT);
    av_frame_free(&img.frame);
    if (!pix)
        return -1;
    static __thread struct {
        uint32_t n, r, g, b;
    } bin[BINS];
    memset(bin, 0, sizeof bin);
    for (int i = 0; i < S * S; i++) {
        const uint8_t *p = pix + i * 4;
        if (p[3] < 128 || (p[0] > 235 && p[1] > 235 && p[2] > 235))
            continue; /* transparent, or the white around a logo */
        int k = (p[0] >> 4) << 8 | (p[1] >> 4) << 4 | (p[2] >> 4);
        bin[k].n++, bin[k].r += p[0], bin[k].g += p[1], bin[k].b += p[2];
    }
    free(pix);
    uint32_t counted = 0;
    for (int k = 0; k < BINS; k++)
        counted += bin[k].n;
    /* a colour must cover 4% of the counted pixels: the blend at a shape's anti-aliased edge is not a brand colour */
    uint32_t floor = counted / 25 > 8 ? counted / 25 : 8;
    int count = 0, picked[3][3];
    for (int round = 0; round < BINS && count < 3; round++) {
        int best = -1;
        for (int k = 0; k < BINS; k++)
            if (bin[k].n && (best < 0 || bin[k].n > bin[best].n))
                best = k;
        if (best < 0 || bin[best].n < floor) /* nothing left, or a few stray pixels */
            break;
        int r = (int)(bin[best].r / bin[best].n), g = (int)(bin[best].g / bin[best].n),
            b = (int)(bin[best].b / bin[best].n);
        bin[best].n = 0;
        int near = 0;
        for (int j = 0; j < count && !near; j++) {
            int dr = r - picked[j][0], dg = g - picked[j][1], db = b - picked[j][2];
            near = dr * dr + dg * dg + db * db < 48 * 48;
            /* a blend of a picked colour with white (the edge against the background) or with another picked colour */
            for (int q = -1; q < count && !near; q++) {
                if (q == j)
                    continue;
                double pr = picked[j][0], pg = picked[j][1], pb = picked[j][2];
                double qr = q < 0 ? 255 : picked[q][0], qg = q < 0 ? 255 : picked[q][1], qb = q < 0 ? 255 : picked[q][2];
                double vr = qr - pr, vg = qg - pg, vb = qb - pb, len2 = vr * vr + vg * vg + vb * vb;
                if (len2 < 1)
                    continue;
                double t = ((r - pr) * vr + (g - pg) * vg + (b - pb) * vb) / len2;
                if (t <= 0 || t >= 1)
                    continue;
                double er = r - (pr + t * vr), eg = g - (pg + t * vg), eb = b - (pb + t * vb);
                near = er * er + eg * eg + eb * eb < 24 * 24;
            }
        }
        if (near)
            continue;
        picked[count][0] = r, picked[count][1] = g, picked[count][2] = b;
        snprintf(colors[count++], 8, "#%02X%02X%02X", (unsigned)r & 255u, (unsigned)g & 255u, (unsigned)b & 255u);
    }
    return count;
}
