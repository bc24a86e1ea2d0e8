/*
 * rc_audio.c — see rc_audio.h.
 */
#include "rc_audio.h"

#include <cjson/cJSON.h>
#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>
#include <libavutil/samplefmt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE 48000

void rc_audio_spec_free(rc_audio_spec *a)
{
    free(a->vo_path);
    free(a->music_path);
    memset(a, 0, sizeof *a);
}

void rc_mix_free(rc_mix *m)
{
    free(m->ch[0]);
    free(m->ch[1]);
    memset(m, 0, sizeof *m);
}

void rc_mix_fill(const rc_mix *m, int64_t offset, int n, uint8_t *const *dst)
{
    for (int c = 0; c < 2; c++) {
        float *d = (float *)dst[c];
        int have = 0;
        if (m && m->ch[c] && offset < m->n)
            have = m->n - offset < n ? (int)(m->n - offset) : n;
        if (have > 0)
            memcpy(d, m->ch[c] + offset, (size_t)have * sizeof(float));
        for (int i = have; i < n; i++)
            d[i] = 0.0f;
    }
}

/* A number field in [lo, hi] or def when absent. 0, or -1 with err. */
static int num_field(const cJSON *o, const char *key, const char *where, double lo, double hi, double def,
                     double *out, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        *out = def;
        return 0;
    }
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi)) {
        snprintf(err, errlen, "%s.%s must be a number from %g to %g", where, key, lo, hi);
        return -1;
    }
    *out = v->valuedouble;
    return 0;
}

/* A path inside work_dir (both resolved). Returns a malloc'd copy or NULL with err. */
static char *inside_path(const cJSON *o, const char *where, const char *work_dir, char *err, size_t errlen)
{
    const char *p = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "path"));
    char rp[PATH_MAX], rw[PATH_MAX];
    if (!p || p[0] != '/') {
        snprintf(err, errlen, "%s.path must be an absolute file path", where);
        return NULL;
    }
    if (!work_dir || !realpath(work_dir, rw) || !realpath(p, rp)) {
        snprintf(err, errlen, "%s.path %s is not a readable file", where, p);
        return NULL;
    }
    size_t n = strlen(rw);
    if (strncmp(rp, rw, n) != 0 || rp[n] != '/') {
        snprintf(err, errlen, "%s.path must be a file inside the render's work directory", where);
        return NULL;
    }
    return strdup(rp);
}

int rc_audio_parse(const char *composition_json, const char *work_dir, rc_audio_spec *a, char *err,
                   size_t errlen)
{
    memset(a, 0, sizeof *a);
    cJSON *root = cJSON_Parse(composition_json ? composition_json : "");
    const cJSON *au = cJSON_GetObjectItemCaseSensitive(root, "audio");
    int rc = -1;
    if (!au || cJSON_IsNull(au)) {
        rc = 0;
        goto out;
    }
    if (!cJSON_IsObject(au)) {
        snprintf(err, errlen, "audio must be an object");
        goto out;
    }
    a->present = 1;
    const cJSON *vo = cJSON_GetObjectItemCaseSensitive(au, "voiceover");
    const cJSON *mu = cJSON_GetObjectItemCaseSensitive(au, "music");
    double duck = 1;
    if (vo && !cJSON_IsNull(vo)) {
        if (!cJSON_IsObject(vo)) {
            snprintf(err, errlen, "audio.voiceover must be an object");
            goto out;
        }
        if (!(a->vo_path = inside_path(vo, "audio.voiceover", work_dir, err, errlen)) ||
            num_field(vo, "gain_db", "audio.voiceover", -30, 12, 0, &a->vo_gain_db, err, errlen) ||
            num_field(vo, "start", "audio.voiceover", 0, 60, 0, &a->vo_start, err, errlen))
            goto out;
    }
    if (mu && !cJSON_IsNull(mu)) {
        if (!cJSON_IsObject(mu)) {
            snprintf(err, errlen, "audio.music must be an object");
            goto out;
        }
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(mu, "duck");
        if (d && !cJSON_IsBool(d)) {
            snprintf(err, errlen, "audio.music.duck must be true or false");
            goto out;
        }
        duck = !d || cJSON_IsTrue(d);
        if (!(a->music_path = inside_path(mu, "audio.music", work_dir, err, errlen)) ||
            num_field(mu, "gain_db", "audio.music", -40, 12, a->vo_path ? -10 : 0, &a->music_gain_db, err, errlen) ||
            num_field(mu, "loop_seconds", "audio.music", 0, 600, 0, &a->music_loop, err, errlen) ||
            num_field(mu, "fade_in", "audio.music", 0, 10, 1.0, &a->fade_in, err, errlen) ||
            num_field(mu, "fade_out", "audio.music", 0, 10, 1.5, &a->fade_out, err, errlen))
            goto out;
        if (a->music_loop > 0 && a->music_loop < 0.5) {
            snprintf(err, errlen, "audio.music.loop_seconds must be 0 (the whole file) or at least 0.5");
            goto out;
        }
    }
    a->duck = (int)duck;
    if (num_field(au, "target_lufs", "audio", -30, -5, -14, &a->target_lufs, err, errlen))
        goto out;
    rc = 0;
out:
    cJSON_Delete(root);
    if (rc != 0)
        rc_audio_spec_free(a);
    return rc;
}

/* ------------------------------------------------------------------------- */

typedef struct {
    AVFilterGraph *g;
    AVFilterContext *sink;
} graph;

static AVFilterContext *source(graph *gr, const char *name, const char *path, int loop, cl_error *err, int *rc)
{
    const AVFilter *f = avfilter_get_by_name("amovie");
    AVFilterContext *c = f ? avfilter_graph_alloc_filter(gr->g, f, name) : NULL;
    if (!c) {
        *rc = cl_error_set(err, f ? CL_ENOMEM : CL_EUNSUPPORTED, "the FFmpeg build has no amovie filter");
        return NULL;
    }
    /* Options set directly: the path needs no filtergraph escaping. */
    if (av_opt_set(c, "filename", path, AV_OPT_SEARCH_CHILDREN) < 0 ||
        av_opt_set_int(c, "loop", loop, AV_OPT_SEARCH_CHILDREN) < 0 || avfilter_init_str(c, NULL) < 0) {
        *rc = cl_error_set(err, CL_EINVAL, "the %s file is not audio the FFmpeg libraries can decode",
                           strcmp(name, "vo") == 0 ? "voiceover" : "music");
        return NULL;
    }
    return c;
}

/* Link the named open ends of desc to the sources and the sink, and configure. */
static int build(graph *gr, const char *desc, AVFilterContext *vo, AVFilterContext *mu, cl_error *err)
{
    AVFilterInOut *outs = NULL, *ins = avfilter_inout_alloc();
    if (!ins)
        return cl_error_set(err, CL_ENOMEM, "out of memory");
    AVFilterContext *srcs[2] = {vo, mu};
    const char *names[2] = {"vo", "mu"};
    for (int i = 0; i < 2; i++) {
        if (!srcs[i])
            continue;
        AVFilterInOut *o = avfilter_inout_alloc();
        if (!o) {
            avfilter_inout_free(&outs);
            avfilter_inout_free(&ins);
            return cl_error_set(err, CL_ENOMEM, "out of memory");
        }
        o->name = av_strdup(names[i]);
        o->filter_ctx = srcs[i];
        o->pad_idx = 0;
        o->next = outs;
        outs = o;
    }
    ins->name = av_strdup("out");
    ins->filter_ctx = gr->sink;
    ins->pad_idx = 0;
    ins->next = NULL;
    int e = avfilter_graph_parse_ptr(gr->g, desc, &ins, &outs, NULL);
    avfilter_inout_free(&ins);
    avfilter_inout_free(&outs);
    if (e < 0)
        return cl_error_set(err, CL_EUNSUPPORTED, "the audio mix graph is not supported by this FFmpeg build");
    if ((e = avfilter_graph_config(gr->g, NULL)) < 0)
        return cl_error_set(err, CL_EINVAL, "the audio inputs cannot be mixed (a file is not usable audio)");
    return CL_OK;
}

static int append(rc_mix *m, int64_t *cap, const AVFrame *f)
{
    if (m->n + f->nb_samples > *cap) {
        int64_t nc = *cap ? *cap * 2 : RATE * 16;
        while (nc < m->n + f->nb_samples)
            nc *= 2;
        for (int c = 0; c < 2; c++) {
            float *p = realloc(m->ch[c], (size_t)nc * sizeof(float));
            if (!p)
                return -1;
            m->ch[c] = p;
        }
        *cap = nc;
    }
    for (int c = 0; c < 2; c++)
        memcpy(m->ch[c] + m->n, f->extended_data[c], (size_t)f->nb_samples * sizeof(float));
    m->n += f->nb_samples;
    return 0;
}

/* Pull everything from the sink into m; the last lavfi.r128.I into *lufs. */
static int drain(const cl_host_api *api, cl_call *call, graph *gr, rc_mix *m, double *lufs, cl_error *err)
{
    AVFrame *f = av_frame_alloc();
    int64_t cap = 0;
    int rc = CL_OK;
    if (!f)
        return cl_error_set(err, CL_ENOMEM, "out of memory");
    for (;;) {
        if (api && api->cancelled(call)) {
            rc = cl_error_set(err, CL_ECANCELLED, "the render was cancelled");
            break;
        }
        int e = av_buffersink_get_frame(gr->sink, f);
        if (e == AVERROR_EOF)
            break;
        if (e < 0) {
            rc = cl_error_set(err, CL_EINVAL, "decoding the audio inputs failed");
            break;
        }
        AVDictionaryEntry *de = lufs ? av_dict_get(f->metadata, "lavfi.r128.I", NULL, 0) : NULL;
        if (de)
            *lufs = strtod(de->value, NULL);
        int bad = append(m, &cap, f);
        av_frame_unref(f);
        if (bad) {
            rc = cl_error_set(err, CL_ENOMEM, "out of memory");
            break;
        }
    }
    av_frame_free(&f);
    return rc;
}

static int make_sink(graph *gr, cl_error *err)
{
    gr->g = avfilter_graph_alloc();
    const AVFilter *bs = avfilter_get_by_name("abuffersink");
    if (!gr->g || !bs ||
        avfilter_graph_create_filter(&gr->sink, bs, "out", NULL, NULL, gr->g) < 0)
        return cl_error_set(err, CL_ENOMEM, "cannot create the audio graph");
    static const enum AVSampleFormat fmts[] = {AV_SAMPLE_FMT_FLTP, AV_SAMPLE_FMT_NONE};
    static const int rates[] = {RATE, -1};
    if (av_opt_set_int_list(gr->sink, "sample_fmts", fmts, AV_SAMPLE_FMT_NONE, AV_OPT_SEARCH_CHILDREN) < 0 ||
        av_opt_set_int_list(gr->sink, "sample_rates", rates, -1, AV_OPT_SEARCH_CHILDREN) < 0 ||
        av_opt_set(gr->sink, "ch_layouts", "stereo", AV_OPT_SEARCH_CHILDREN) < 0)
        return cl_error_set(err, CL_EUNSUPPORTED, "cannot configure the audio sink");
    return CL_OK;
}

/* Peak limiting after the gain: alimiter at -1 dBFS over the buffer (abuffer in, sink out). */
static int limit(const cl_host_api *api, cl_call *call, rc_mix *m, cl_error *err)
{
    graph gr = {0};
    AVFilterContext *src = NULL;
    rc_mix out = {0};
    AVFrame *f = NULL;
    int rc = make_sink(&gr, err);
    char args[128];
    snprintf(args, sizeof args, "sample_rate=%d:sample_fmt=fltp:channel_layout=stereo:time_base=1/%d", RATE, RATE);
    if (rc == CL_OK && avfilter_graph_create_filter(&src, avfilter_get_by_name("abuffer"), "in", args, NULL, gr.g) < 0)
        rc = cl_error_set(err, CL_ENOMEM, "cannot create the limiter input");
    if (rc == CL_OK) {
        AVFilterContext *lim = NULL;
        const AVFilter *lf = avfilter_get_by_name("alimiter");
        if (!lf || avfilter_graph_create_filter(&lim, lf, "lim", "limit=0.891:level=0:latency=1:attack=5:release=50", NULL, gr.g) < 0 ||
            avfilter_link(src, 0, lim, 0) < 0 || avfilter_link(lim, 0, gr.sink, 0) < 0 ||
            avfilter_graph_config(gr.g, NULL) < 0)
            rc = cl_error_set(err, CL_EUNSUPPORTED, "the FFmpeg build has no usable alimiter filter");
    }
    for (int64_t off = 0; rc == CL_OK && off < m->n; off += 4096) {
        int n = m->n - off < 4096 ? (int)(m->n - off) : 4096;
        if (!(f = av_frame_alloc())) {
            rc = cl_error_set(err, CL_ENOMEM, "out of memory");
            break;
        }
        f->format = AV_SAMPLE_FMT_FLTP;
        f->sample_rate = RATE;
        av_channel_layout_default(&f->ch_layout, 2);
        f->nb_samples = n;
        f->pts = off;
        if (av_frame_get_buffer(f, 0) < 0) {
            rc = cl_error_set(err, CL_ENOMEM, "out of memory");
            break;
        }
        for (int c = 0; c < 2; c++)
            memcpy(f->extended_data[c], m->ch[c] + off, (size_t)n * sizeof(float));
        if (av_buffersrc_add_frame(src, f) < 0)
            rc = cl_error_set(err, CL_ENOMEM, "limiter refused audio");
        av_frame_free(&f);
    }
    av_frame_free(&f);
    if (rc == CL_OK && av_buffersrc_add_frame(src, NULL) < 0)
        rc = cl_error_set(err, CL_ENOMEM, "limiter refused the end of the audio");
    if (rc == CL_OK)
        rc = drain(api, call, &gr, &out, NULL, err);
    avfilter_graph_free(&gr.g);
    if (rc == CL_OK) {
        /* alimiter delays nothing with these settings beyond its lookahead,
           which it compensates; keep the original length exactly. */
        int64_t n = m->n;
        for (int c = 0; c < 2; c++) {
            free(m->ch[c]);
            m->ch[c] = out.ch[c];
            out.ch[c] = NULL;
        }
        if (out.n < n) {
            for (int c = 0; c < 2; c++) {
                float *p = realloc(m->ch[c], (size_t)n * sizeof(float));
                if (!p) {
                    rc = cl_error_set(err, CL_ENOMEM, "out of memory");
                    break;
                }
                for (int64_t i = out.n; i < n; i++)
                    p[i] = 0;
                m->ch[c] = p;
            }
        }
        m->n = n;
    }
    rc_mix_free(&out);
    return rc;
}

int rc_audio_mix(const cl_host_api *api, cl_call *call, const rc_audio_spec *a, double duration, rc_mix *out,
                 cl_error *err)
{
    memset(out, 0, sizeof *out);
    if (!a->present || !(duration > 0))
        return CL_OK;
    graph gr = {0};
    int rc = make_sink(&gr, err);
    AVFilterContext *vo = NULL, *mu = NULL;
    if (rc == CL_OK && a->vo_path)
        vo = source(&gr, "vo", a->vo_path, 1, err, &rc);
    if (rc == CL_OK && a->music_path)
        mu = source(&gr, "mu", a->music_path, a->music_loop > 0 ? 1 : 0, err, &rc);
    char desc[2048];
    const char *norm = "aresample=48000,aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo";
    double d = duration, fo = a->fade_out < d / 2 ? a->fade_out : d / 2, fi = a->fade_in < d / 2 ? a->fade_in : d / 2;
    char vchain[512] = "", mchain[768] = "";
    if (vo)
        snprintf(vchain, sizeof vchain, "[vo]%s,volume=%.2fdB,adelay=delays=%d:all=1,apad,atrim=end=%.4f", norm,
                 a->vo_gain_db, (int)lround(a->vo_start * 1000), d);
    if (mu) {
        char loop[160] = "";
        if (a->music_loop > 0)
            snprintf(loop, sizeof loop, "atrim=end=%.4f,aloop=loop=-1:size=%lld,", a->music_loop,
                     (long long)llround(a->music_loop * RATE));
        snprintf(mchain, sizeof mchain,
                 "[mu]%s,%svolume=%.2fdB,atrim=end=%.4f,asetpts=N/SR/TB,afade=t=in:d=%.3f,afade=t=out:st=%.4f:d=%.3f",
                 norm, loop, a->music_gain_db, d, fi, d - fo, fo);
    }
    const char *meter = "ebur128=metadata=1,aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo[out]";
    if (vo && mu && a->duck)
        snprintf(desc, sizeof desc,
                 "%s,asplit=2[v1][v2];%s[m0];[m0][v2]sidechaincompress=threshold=0.02:ratio=8:attack=15:release=350[m1];"
                 "[v1][m1]amix=inputs=2:normalize=0:duration=first,%s",
                 vchain, mchain, meter);
    else if (vo && mu)
        snprintf(desc, sizeof desc, "%s[v1];%s[m1];[v1][m1]amix=inputs=2:normalize=0:duration=first,%s", vchain,
                 mchain, meter);
    else if (vo)
        snprintf(desc, sizeof desc, "%s,%s", vchain, meter);
    else if (mu)
        snprintf(desc, sizeof desc, "%s,%s", mchain, meter);
    else
        desc[0] = '\0';
    double lufs = -70;
    if (rc == CL_OK && desc[0] && (rc = build(&gr, desc, vo, mu, err)) == CL_OK)
        rc = drain(api, call, &gr, out, &lufs, err);
    avfilter_graph_free(&gr.g);
    if (rc != CL_OK) {
        rc_mix_free(out);
        return rc;
    }
    /* Normalize: one gain to the target, then the limiter keeps peaks under -1 dBFS. */
    out->measured_lufs = lufs;
    out->gain_db = lufs > -60 ? a->target_lufs - lufs : 0;
    if (out->gain_db > 30)
        out->gain_db = 30;
    float g = (float)pow(10, out->gain_db / 20);
    float peak = 0;
    for (int c = 0; c < 2; c++)
        for (int64_t i = 0; i < out->n; i++) {
            out->ch[c][i] *= g;
            float v = fabsf(out->ch[c][i]);
            if (v > peak)
                peak = v;
        }
    if (peak > 0.891f && (rc = limit(api, call, out, err)) != CL_OK)
        rc_mix_free(out);
    return rc;
}

int rc_aac_open(struct AVCodecContext **out, cl_error *err)
{
    *out = NULL;
    const AVCodec *ac = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (!ac)
        return cl_error_set(err, CL_EUNSUPPORTED, "the FFmpeg libraries have no AAC encoder");
    AVCodecContext *enc = avcodec_alloc_context3(ac);
    if (!enc)
        return cl_error_set(err, CL_ENOMEM, "out of memory");
    enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
    enc->sample_rate = 48000;
    enc->bit_rate = RC_AAC_BIT_RATE;
    av_channel_layout_default(&enc->ch_layout, 2);
    enc->time_base = (AVRational){1, 48000};
    enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER; /* MP4 */
    AVDictionary *opt = NULL;
    av_dict_set(&opt, "aac_coder", RC_AAC_CODER, 0);
    int e = avcodec_open2(enc, ac, &opt);
    av_dict_free(&opt);
    if (e < 0) {
        char buf[AV_ERROR_MAX_STRING_SIZE] = "";
        av_strerror(e, buf, sizeof buf);
        avcodec_free_context(&enc);
        return cl_error_set(err, CL_EUNSUPPORTED, "cannot open the AAC encoder: %s", buf);
    }
    *out = enc;
    return CL_OK;
}
