/*
 * test_templates.c — composition version 2 and the Lua video templates
 * (scripts/templates/):
 *   - version 2 validation: image, rect and text fields, limits, messages
 *     naming the field; version 1 stays as it was;
 *   - every template builds a valid composition for each aspect (9:16, 1:1,
 *     4:5, 16:9), with and without images; media ids and font ids are
 *     resolved to paths, a raw path or an unknown media id is refused;
 *   - the choice: the draft's template, restricted by the channel rules,
 *     else showcase with images, offer for a % or a price, three_reasons;
 *   - render_ffmpeg renders a showcase (decoded: duration, streams, size)
 *     whose picture moves between 1 s and 3 s, and writes frames of every
 *     template to tests/e2e/artifacts/templates/ for a person to look at.
 */
#include "core/config.h"
#include "lua/lua_runtime.h"
#include "plugins/registry.h"
#include "render/composition.h"
#include "render/render.h"
#include "render/templates.h"
#include "render_probe.h"
#include "unit.h"

#include <libswscale/swscale.h>

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch[] = "/tmp/cl_templates_test_XXXXXX";
static char img1[PATH_MAX], img2[PATH_MAX], img3[PATH_MAX], media_json[4 * PATH_MAX];

static const char *DRAFT =
    "{\"hook\":\"Fresh sourdough, 50% off this weekend\",\"caption\":\"Crusty outside, soft inside: "
    "three ingredients and 24 hours of patience.\",\"cta\":\"Order for pickup today\",\"script\":["
    "\"Baked at 5am every day\",\"Only flour, water and salt\",\"Still warm when you pick it up\","
    "\"Order today\"]}";
static const char *PROFILE = "{\"business_name\":\"Mama's Bakery\",\"brand_colors\":[\"#9A3412\",\"#FDBA74\"]}";

/* A 'product photo': warm gradient, a plate and a loaf, in a PPM file. */
static int write_photo(const char *path, int w, int h, int hue)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fprintf(f, "P6\n%d %d\n255\n", w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double dx = (x - w * 0.5) / (w * 0.5), dy = (y - h * 0.55) / (h * 0.5);
            double r2 = dx * dx + dy * dy * 1.6;
            unsigned char px[3];
            px[0] = (unsigned char)(200 - 80 * y / h + hue % 40);
            px[1] = (unsigned char)(150 - 60 * y / h + (x * 40) / w);
            px[2] = (unsigned char)(110 - 50 * y / h + hue % 70);
            if (r2 < 0.30) { /* plate */
                px[0] = 236, px[1] = 232, px[2] = 225;
            }
            if (r2 < 0.12 + 0.02 * sin(x * 0.05)) { /* loaf, with texture */
                px[0] = (unsigned char)(170 + 30 * sin(x * 0.09 + y * 0.03)), px[1] = 105, px[2] = 45;
            }
            if ((x / 40 + y / 40) % 2 == 0 && y > h * 0.9) /* tablecloth */
                px[0] = 200, px[1] = 40, px[2] = 40;
            fwrite(px, 1, 3, f);
        }
    return fclose(f);
}

static void expect_invalid(const char *json, const char *needle)
{
    char err[512] = "";
    CHECK(cl_composition_validate(json, err, sizeof err) == -1);
    if (!strstr(err, needle)) {
        unit_failed++;
        fprintf(stderr, "FAIL: message \"%s\" does not name \"%s\"\n", err, needle);
    } else {
        unit_passed++;
    }
}

static void test_v2_validation(void)
{
    char err[512] = "";
    const char *ok = "{\"version\":2,\"template\":\"showcase\",\"width\":1080,\"height\":1350,\"duration\":5,"
                     "\"layers\":[{\"type\":\"image\",\"path\":\"/tmp/a.jpg\",\"start\":0,\"end\":5,"
                     "\"motion\":{\"from\":{\"scale\":1,\"cx\":0.5,\"cy\":0.5},\"to\":{\"scale\":1.2}}},"
                     "{\"type\":\"rect\",\"box\":{\"x\":0,\"y\":0,\"w\":100,\"h\":100},\"color\":\"#102030\","
                     "\"radius\":20,\"opacity\":0.5},"
                     "{\"role\":\"price\",\"text\":\"$12\",\"font\":\"/usr/x.ttf\",\"align\":\"left\",\"outline\":3,"
                     "\"bg\":{\"color\":\"#FFFFFF\",\"pad\":10},\"fade_in\":1,\"fade_out\":1}]}";
    CHECK(cl_composition_validate(ok, err, sizeof err) == 0);
    if (err[0])
        fprintf(stderr, "  (%s)\n", err);
    expect_invalid("{\"version\":3}", "version must be 1 or 2");
    expect_invalid("{\"layers\":[{\"type\":\"image\",\"path\":\"/a.jpg\"}]}", "needs \"version\": 2");
    expect_invalid("{\"width\":1080,\"height\":1350}", "width x height");
    expect_invalid("{\"version\":2,\"layers\":[{\"type\":\"image\",\"path\":\"a.jpg\"}]}",
                   "layers[0].path must be an absolute file path");
    expect_invalid("{\"version\":2,\"layers\":[{\"type\":\"image\",\"path\":\"/a.jpg\",\"media\":1,"
                   "\"motion\":{\"from\":{\"scale\":0.5},\"to\":{}}}]}",
                   "layers[0].motion.from.scale must be between 1 and 4");
    expect_invalid("{\"version\":2,\"duration\":4,\"layers\":[{\"type\":\"image\",\"path\":\"/a.jpg\","
                   "\"start\":0,\"end\":2,\"fade_in\":1.5,\"fade_out\":1}]}",
                   "layers[0].fade_in and fade_out");
    expect_invalid("{\"version\":2,\"layers\":[{\"type\":\"rect\",\"color\":\"#000000\"}]}",
                   "layers[0].box is required");
    expect_invalid("{\"version\":2,\"layers\":[{\"type\":\"video\"}]}", "layers[0].type must be one of");
    expect_invalid("{\"version\":2,\"layers\":[{\"role\":\"Bad Role\",\"text\":\"x\"}]}", "layers[0].role");
    expect_invalid("{\"version\":2,\"layers\":[{\"role\":\"x\",\"text\":\"x\",\"font\":\"rel.ttf\"}]}",
                   "layers[0].font must be an absolute");
    expect_invalid("{\"version\":2,\"layers\":[{\"role\":\"x\",\"text\":\"x\",\"bg\":{\"color\":\"red\"}}]}",
                   "layers[0].bg.color");
    expect_invalid("{\"version\":2,\"layers\":[{\"role\":\"x\",\"text\":\"x\",\"align\":\"justify\"}]}",
                   "layers[0].align");
    /* version 1 keeps its roles */
    expect_invalid("{\"layers\":[{\"role\":\"price\",\"text\":\"x\"}]}", "role must be one of hook");
}

static const int sizes[4][2] = {{1080, 1920}, {1080, 1080}, {1080, 1350}, {1920, 1080}};
static const char *const templates[] = {"showcase", "offer", "three_reasons", "quote"};

static int boxes_meet(const cJSON *a, const cJSON *b)
{
    double ax = cJSON_GetNumberValue(cJSON_GetObjectItem(a, "x")), ay = cJSON_GetNumberValue(cJSON_GetObjectItem(a, "y"));
    double aw = cJSON_GetNumberValue(cJSON_GetObjectItem(a, "w")), ah = cJSON_GetNumberValue(cJSON_GetObjectItem(a, "h"));
    double bx = cJSON_GetNumberValue(cJSON_GetObjectItem(b, "x")), by = cJSON_GetNumberValue(cJSON_GetObjectItem(b, "y"));
    double bw = cJSON_GetNumberValue(cJSON_GetObjectItem(b, "w")), bh = cJSON_GetNumberValue(cJSON_GetObjectItem(b, "h"));
    return ax < bx + bw && bx < ax + aw && ay < by + bh && by < ay + ah;
}

/* With captions, the caption band (inside the safe area) and every text and
   rect layer of every template, in every aspect and channel, do not meet. */
static void test_caption_zone(void)
{
    static const char *const channels[][2] = {
        {"instagram", "{\"captions\":{\"position\":\"lower_third\",\"font_size\":60}}"},
        {"tiktok", "{\"captions\":{\"position\":\"lower_third\",\"font_size\":66}}"},
        {"whatsapp", "{\"captions\":{\"position\":\"bottom\",\"font_size\":58}}"},
    };
    char err[512];
    int checked = 0;
    for (int t = 0; t < 4; t++)
        for (int s = 0; s < 4; s++)
            for (int ch = 0; ch < 3; ch++)
                for (int im = 0; im < 2; im++) {
                    cl_template_input in = {.draft_json = DRAFT, .profile_json = PROFILE, .channel = channels[ch][0],
                                            .rules_json = channels[ch][1], .media_json = im ? media_json : NULL,
                                            .width = sizes[s][0], .height = sizes[s][1]};
                    cl_buf out = CL_BUF_INIT;
                    int ok = cl_template_build(templates[t], &in, &out, err, sizeof err) == 0;
                    if (!ok)
                        fprintf(stderr, "  %s %dx%d %s: %s\n", templates[t], sizes[s][0], sizes[s][1], channels[ch][0], err);
                    CHECK(ok);
                    cJSON *c = ok ? cJSON_Parse(out.data) : NULL;
                    cl_buf_free(&out);
                    const cJSON *zone = cJSON_GetObjectItem(c, "caption_zone"), *sa = cJSON_GetObjectItem(c, "safe_area");
                    CHECK(zone != NULL);
                    if (!zone) {
                        cJSON_Delete(c);
                        continue;
                    }
                    int zx = cJSON_GetObjectItem(zone, "x")->valueint, zy = cJSON_GetObjectItem(zone, "y")->valueint;
                    int zw = cJSON_GetObjectItem(zone, "w")->valueint, zh = cJSON_GetObjectItem(zone, "h")->valueint;
                    CHECK(zh >= 3 * 58 * (sizes[s][0] < sizes[s][1] ? sizes[s][0] : sizes[s][1]) / 1080); /* three lines of captions */
                    CHECK(zx >= cJSON_GetObjectItem(sa, "left")->valueint &&
                          zy >= cJSON_GetObjectItem(sa, "top")->valueint &&
                          zx + zw <= sizes[s][0] - cJSON_GetObjectItem(sa, "right")->valueint &&
                          zy + zh <= sizes[s][1] - cJSON_GetObjectItem(sa, "bottom")->valueint);
                    const cJSON *l;
                    cJSON_ArrayForEach(l, cJSON_GetObjectItem(c, "layers"))
                    {
                        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(l, "type"));
                        const cJSON *box = cJSON_GetObjectItem(l, "box");
                        if ((type && strcmp(type, "rect") != 0 && strcmp(type, "text") != 0) || !box)
                            continue;
                        if (cJSON_GetObjectItem(box, "w")->valueint >= sizes[s][0] &&
                            cJSON_GetObjectItem(box, "h")->valueint >= sizes[s][1])
                            continue; /* a tint over the whole frame is a backdrop, not content */
                        checked++;
                        if (boxes_meet(zone, box)) {
                            fprintf(stderr, "  %s %dx%d %s: layer %s meets the caption band\n", templates[t], sizes[s][0],
                                    sizes[s][1], channels[ch][0],
                                    cJSON_GetStringValue(cJSON_GetObjectItem(l, "role")) ?: "(rect)");
                            CHECK(0);
                        }
                    }
                    cJSON_Delete(c);
                }
    CHECK(checked > 500);
    /* a channel without captions: no band, the whole safe area */
    cl_template_input in = {.draft_json = DRAFT, .profile_json = PROFILE, .channel = "instagram",
                            .rules_json = "{\"captions\":false}"};
    cl_buf out = CL_BUF_INIT;
    CHECK(cl_template_build("quote", &in, &out, err, sizeof err) == 0);
    CHECK(out.data && !strstr(out.data, "caption_zone"));
    cl_buf_free(&out);
    /* No voice (the owner turned it off) and no voiceover lines: nothing is
       captioned (the hook and CTA are on screen already), so no band. */
    in.rules_json = channels[0][1];
    in.audio_json = "{\"voiceover\":false}";
    CHECK(cl_template_build("quote", &in, &out, err, sizeof err) == 0);
    CHECK(out.data && !strstr(out.data, "caption_zone"));
    cl_buf_free(&out);
    /* ... with voiceover lines they are shown line-timed: the band is kept. */
    in.draft_json = "{\"hook\":\"Fresh sourdough\",\"cta\":\"Order today\",\"voiceover\":[\"Baked at 5am.\"]}";
    CHECK(cl_template_build("quote", &in, &out, err, sizeof err) == 0);
    CHECK(out.data && strstr(out.data, "caption_zone"));
    cl_buf_free(&out);
    /* ... and with the default choice a voice speaks the hook and CTA: the band too. */
    in.draft_json = DRAFT;
    in.audio_json = NULL;
    CHECK(cl_template_build("quote", &in, &out, err, sizeof err) == 0);
    CHECK(out.data && strstr(out.data, "caption_zone"));
    cl_buf_free(&out);
}

/* Build a template into a parsed cJSON (caller deletes) or NULL with err. */
static cJSON *build(const char *tpl, const char *draft, const char *media, const char *rules, int w, int h,
                    char *err, size_t errlen)
{
    cl_template_input in = {.draft_json = draft,
                            .profile_json = PROFILE,
                            .channel = "instagram",
                            .rules_json = rules,
                            .media_json = media,
                            .width = w,
                            .height = h};
    cl_buf out = CL_BUF_INIT;
    if (cl_template_build(tpl, &in, &out, err, errlen) != 0)
        return NULL;
    cJSON *c = cJSON_Parse(out.data);
    cl_buf_free(&out);
    return c;
}

static int count_type(const cJSON *comp, const char *type)
{
    int n = 0;
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItem(comp, "layers"))
    {
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(l, "type"));
        if (strcmp(t ? t : "text", type) == 0)
            n++;
    }
    return n;
}

static const char *role_text(const cJSON *comp, const char *role)
{
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItem(comp, "layers"))
    {
        const char *r = cJSON_GetStringValue(cJSON_GetObjectItem(l, "role"));
        if (r && !strcmp(r, role))
            return cJSON_GetStringValue(cJSON_GetObjectItem(l, "text"));
    }
    return NULL;
}


static void test_templates_build(void)
{
    char err[600];
    char *names = NULL;
    CHECK(cl_template_names(&names, err, sizeof err) == 0);
    for (int i = 0; i < 4; i++)
        CHECK(names && strstr(names, templates[i]));
    free(names);
    for (int t = 0; t < 4; t++)
        for (int s = 0; s < 4; s++)
            for (int with = 0; with < 2; with++) {
                err[0] = '\0';
                cJSON *c = build(templates[t], DRAFT, with ? media_json : NULL, NULL, sizes[s][0], sizes[s][1], err,
                                 sizeof err);
                CHECK(c != NULL);
                if (!c) {
                    fprintf(stderr, "  %s %dx%d images=%d: %s\n", templates[t], sizes[s][0], sizes[s][1], with, err);
                    continue;
                }
                CHECK(cJSON_GetObjectItem(c, "version")->valuedouble == 2);
                CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c, "template")), templates[t]);
                CHECK(cJSON_GetObjectItem(c, "width")->valueint == sizes[s][0]);
                CHECK(cJSON_GetObjectItem(c, "height")->valueint == sizes[s][1]);
                /* the card's words are the video's */
                CHECK_STR(role_text(c, "cta"), "Order for pickup today");
                CHECK(role_text(c, "caption") != NULL);
                CHECK(role_text(c, "business_name") != NULL);
                int imgs = count_type(c, "image");
                if (with)
                    CHECK(imgs >= 1);
                else
                    CHECK(imgs == 0);
                if (with && t == 0)
                    CHECK(imgs == 3); /* showcase: every image, each its own move */
                /* every image layer names a resolved file; every font a file */
                const cJSON *l;
                cJSON_ArrayForEach(l, cJSON_GetObjectItem(c, "layers"))
                {
                    CHECK(!cJSON_GetObjectItem(l, "media"));
                    const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(l, "path"));
                    const char *f = cJSON_GetStringValue(cJSON_GetObjectItem(l, "font"));
                    if (p)
                        CHECK(access(p, R_OK) == 0);
                    if (f)
                        CHECK(f[0] == '/' && access(f, R_OK) == 0);
                }
                cJSON_Delete(c);
            }
    /* offer: the deal in big type; three_reasons: the beats, numbered */
    cJSON *c = build("offer", DRAFT, NULL, NULL, 0, 0, err, sizeof err);
    CHECK_STR(role_text(c, "badge"), "50% OFF");
    CHECK(cJSON_GetObjectItem(c, "height")->valueint == 1920); /* the channel's default frame */
    cJSON_Delete(c);
    c = build("three_reasons", DRAFT, NULL, NULL, 0, 0, err, sizeof err);
    CHECK_STR(role_text(c, "point"), "Baked at 5am every day");
    cJSON_Delete(c);
    c = build("quote", "{\"hook\":\"\\\"Best bread in Yaba, still warm at 7am\\\" - Ada, a regular\",\"cta\":\"Visit us\"}",
              NULL, NULL, 0, 0, err, sizeof err);
    CHECK_STR(role_text(c, "quote"), "Best bread in Yaba, still warm at 7am");
    CHECK(role_text(c, "author") && strstr(role_text(c, "author"), "Ada, a regular"));
    cJSON_Delete(c);

    /* the brand kit's logo, where its placement says, in every template; "none" hides it */
    for (int t = 0; t < 4; t++)
        for (int k = 0; k < 2; k++) {
            cl_template_input in = {.draft_json = DRAFT, .profile_json = PROFILE, .channel = "instagram",
                                    .media_json = media_json,
                                    .brand_json = k ? "{\"logo_media_id\":13,\"logo_placement\":\"none\"}"
                                                    : "{\"logo_media_id\":13,\"logo_placement\":\"top-left\","
                                                      "\"colors\":[\"#0F766E\"]}"};
            cl_buf out = CL_BUF_INIT;
            CHECK(cl_template_build(templates[t], &in, &out, err, sizeof err) == 0);
            cJSON *c2 = cJSON_Parse(out.data), *logo = NULL, *l;
            cJSON_ArrayForEach(l, cJSON_GetObjectItem(c2, "layers"))
            {
                const char *r = cJSON_GetStringValue(cJSON_GetObjectItem(l, "role"));
                if (r && !strcmp(r, "logo"))
                    logo = l;
                const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(l, "path"));
                if (p && strstr(p, "photo3") && !(r && !strcmp(r, "logo")))
                    CHECK(0); /* the logo is not one of the photos */
            }
            if (k) {
                CHECK(logo == NULL);
            } else {
                CHECK(logo && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(logo, "path")), img3));
                CHECK(logo && cJSON_GetObjectItem(cJSON_GetObjectItem(logo, "box"), "x")->valueint == 60);
                CHECK(logo && cJSON_GetObjectItem(cJSON_GetObjectItem(logo, "box"), "y")->valueint == 220);
            }
            cJSON_Delete(c2);
            cl_buf_free(&out);
        }

    /* refusals */
    CHECK(build("nope", DRAFT, NULL, NULL, 0, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "does not exist") != NULL);
    CHECK(build("../channels/tiktok", DRAFT, NULL, NULL, 0, 0, err, sizeof err) == NULL);
    CHECK(build("showcase", "[1]", NULL, NULL, 0, 0, err, sizeof err) == NULL);
    CHECK(build("showcase", DRAFT, NULL, "{\"size\":\"640x480\"}", 0, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "size") != NULL);
}

/* A template script in a scratch scripts dir: raw paths and unknown media ids are refused. */
static void test_template_refusals(void)
{
    char dir[PATH_MAX + 32], path[PATH_MAX + 64], err[600];
    snprintf(dir, sizeof dir, "%s/scripts/templates", scratch);
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    CHECK(system(cmd) == 0);
    snprintf(path, sizeof path, "%s/sneaky.lua", dir);
    FILE *f = fopen(path, "w");
    fputs("return function(ctx) return { layers = { { type = 'image', path = '/etc/passwd' } } } end\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/ghost.lua", dir);
    f = fopen(path, "w");
    fputs("return function(ctx) return { layers = { { type = 'image', media = 999 } } } end\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/badfont.lua", dir);
    f = fopen(path, "w");
    fputs("return function(ctx) return { layers = { { role = 'x', text = 'x', font = 'comic-sans' } } } end\n", f);
    fclose(f);
    snprintf(dir, sizeof dir, "%s/scripts", scratch);
    cl_lua_set_scripts_dir(dir);
    CHECK(build("sneaky", DRAFT, media_json, NULL, 0, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "not a path") != NULL);
    CHECK(build("ghost", DRAFT, media_json, NULL, 0, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "media 999 is not one of the project's images") != NULL);
    CHECK(build("badfont", DRAFT, NULL, NULL, 0, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "comic-sans") != NULL);
    cl_lua_set_scripts_dir(NULL);
}

static void test_choose(void)
{
    char out[64];
    cl_template_choose(DRAFT, NULL, 1, out, sizeof out);
    CHECK_STR(out, "showcase");
    cl_template_choose(DRAFT, NULL, 0, out, sizeof out);
    CHECK_STR(out, "offer");
    cl_template_choose("{\"hook\":\"Three reasons to love our bread\"}", NULL, 0, out, sizeof out);
    CHECK_STR(out, "three_reasons");
    cl_template_choose("{\"hook\":\"Jollof for \xe2\x82\xa6" "2,500\"}", NULL, 0, out, sizeof out);
    CHECK_STR(out, "offer");
    cl_template_choose("{\"hook\":\"x\",\"template\":\"quote\"}", NULL, 1, out, sizeof out);
    CHECK_STR(out, "quote");
    /* the channel restricts the choice */
    cl_template_choose("{\"hook\":\"x\",\"template\":\"quote\"}", "{\"templates\":[\"offer\",\"showcase\"]}", 0, out,
                       sizeof out);
    CHECK_STR(out, "offer");
    cl_template_choose("{\"hook\":\"x\",\"template\":\"nope\"}", NULL, 0, out, sizeof out);
    CHECK_STR(out, "three_reasons");
    CHECK(cl_template_allowed("{\"templates\":[\"offer\"]}", "offer") == 1);
    CHECK(cl_template_allowed("{\"templates\":[\"offer\"]}", "quote") == 0);
    CHECK(cl_template_allowed(NULL, "quote") == 1);
}


/* The picture at t seconds of a video as rgb24 (caller frees), or NULL. */
static AVFrame *frame_at(const char *path, double t)
{
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc(), *rgb = NULL;
    if (!pkt || !f || avformat_open_input(&fmt, path, NULL, NULL) < 0 || avformat_find_stream_info(fmt, NULL) < 0)
        goto out;
    int vs = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (vs < 0)
        goto out;
    const AVCodec *c = avcodec_find_decoder(fmt->streams[vs]->codecpar->codec_id);
    if (!c || !(dec = avcodec_alloc_context3(c)) || avcodec_parameters_to_context(dec, fmt->streams[vs]->codecpar) < 0 ||
        avcodec_open2(dec, c, NULL) < 0)
        goto out;
    AVRational tb = fmt->streams[vs]->time_base;
    int got = 0;
    while (!got && av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == vs && avcodec_send_packet(dec, pkt) >= 0)
            while (!got && avcodec_receive_frame(dec, f) >= 0)
                got = f->pts != AV_NOPTS_VALUE && f->pts * av_q2d(tb) >= t - 1e-3;
        av_packet_unref(pkt);
    }
    if (!got)
        goto out;
    rgb = av_frame_alloc();
    rgb->format = AV_PIX_FMT_RGB24;
    rgb->width = f->width;
    rgb->height = f->height;
    struct SwsContext *sws = sws_getContext(f->width, f->height, f->format, f->width, f->height, AV_PIX_FMT_RGB24,
                                            SWS_BILINEAR, NULL, NULL, NULL);
    if (av_frame_get_buffer(rgb, 0) < 0 || !sws) {
        av_frame_free(&rgb);
    } else {
        sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, rgb->data, rgb->linesize);
    }
    sws_freeContext(sws);
out:
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    av_packet_free(&pkt);
    av_frame_free(&f);
    return rgb;
}

/* Mean absolute difference of two rgb24 pictures over a region. */
static double rgb_diff(const AVFrame *a, const AVFrame *b, int x, int y, int w, int h)
{
    double sum = 0;
    for (int j = y; j < y + h; j++)
        for (int i = x * 3; i < (x + w) * 3; i++)
            sum += abs(a->data[0][(size_t)j * a->linesize[0] + i] - b->data[0][(size_t)j * b->linesize[0] + i]);
    return sum / ((double)w * h * 3);
}

/* Write an rgb24 picture as PNG (the FFmpeg png encoder). 0 or -1. */
static int write_png(const AVFrame *rgb, const char *path)
{
    const AVCodec *c = avcodec_find_encoder(AV_CODEC_ID_PNG);
    AVCodecContext *enc = c ? avcodec_alloc_context3(c) : NULL;
    AVPacket *pkt = av_packet_alloc();
    int rc = -1;
    if (!enc || !pkt)
        goto out;
    enc->width = rgb->width;
    enc->height = rgb->height;
    enc->pix_fmt = AV_PIX_FMT_RGB24;
    enc->time_base = (AVRational){1, 1};
    if (avcodec_open2(enc, c, NULL) < 0 || avcodec_send_frame(enc, rgb) < 0 || avcodec_send_frame(enc, NULL) < 0 ||
        avcodec_receive_packet(enc, pkt) < 0)
        goto out;
    FILE *f = fopen(path, "wb");
    if (f) {
        rc = fwrite(pkt->data, 1, (size_t)pkt->size, f) == (size_t)pkt->size ? 0 : -1;
        if (fclose(f) != 0)
            rc = -1;
    }
out:
    av_packet_free(&pkt);
    avcodec_free_context(&enc);
    return rc;
}

/* Render template tpl (with images) at w x h for secs seconds into dir; 0 or -1. */
static int render_template(const char *tpl, int w, int h, int secs, const char *dir, cl_render_result *res)
{
    char err[600], rules[64];
    snprintf(rules, sizeof rules, "{\"duration_seconds\":%d}", secs);
    cl_template_input in = {.draft_json = DRAFT, .profile_json = PROFILE, .channel = "instagram",
                            .rules_json = rules, .media_json = media_json, .width = w, .height = h};
    cl_buf comp = CL_BUF_INIT;
    if (cl_template_build(tpl, &in, &comp, err, sizeof err) != 0) {
        fprintf(stderr, "  %s: %s\n", tpl, err);
        return -1;
    }
    cl_error e;
    int rc = cl_render_composition(comp.data, dir, "ffmpeg", NULL, res, &e);
    if (rc != CL_OK)
        fprintf(stderr, "  render %s: %s\n", tpl, e.message);
    cl_buf_free(&comp);
    return rc == CL_OK ? 0 : -1;
}

/* Render template tpl with burned-in captions (the Instagram style) at w x h
   into dir and write the frame at t seconds to png; 0 or -1. */
static int render_captioned(const char *tpl, int w, int h, const char *dir, double t, const char *png)
{
    char err[600];
    cl_template_input in = {.draft_json = DRAFT, .profile_json = PROFILE, .channel = "instagram",
                            .rules_json = "{\"duration_seconds\":6,\"captions\":{\"position\":\"lower_third\","
                                          "\"font_size\":60}}",
                            .media_json = media_json, .width = w, .height = h};
    cl_buf comp = CL_BUF_INIT;
    if (cl_template_build(tpl, &in, &comp, err, sizeof err) != 0) {
        fprintf(stderr, "  %s: %s\n", tpl, err);
        return -1;
    }
    cJSON *c = cJSON_Parse(comp.data);
    cl_buf_free(&comp);
    cJSON_AddItemToObject(c, "captions",
                          cJSON_Parse("{\"mode\":\"lines\",\"style\":{\"position\":\"lower_third\",\"font_size\":60,"
                                      "\"outline\":5,\"box\":true,\"color\":\"#FFFFFF\",\"highlight_color\":\"#FDE68A\"},"
                                      "\"cues\":[{\"text\":\"Fresh sourdough every morning, baked at five and still "
                                      "warm when you pick it up on your way to work\",\"start\":0,\"end\":6}]}"));
    char *text = cJSON_PrintUnformatted(c);
    cJSON_Delete(c);
    cl_render_result res;
    cl_error e;
    int rc = cl_render_composition(text, dir, "ffmpeg", NULL, &res, &e);
    free(text);
    if (rc != CL_OK) {
        fprintf(stderr, "  render %s: %s\n", tpl, e.message);
        return -1;
    }
    AVFrame *f = frame_at(res.video_path, t);
    rc = f && write_png(f, png) == 0 ? 0 : -1;
    av_frame_free(&f);
    return rc;
}

/* render_ffmpeg draws the templates: the showcase moves; frames of each go to the artifacts. */
static void test_render_templates(void)
{
    char dir[PATH_MAX + 64], art[PATH_MAX + 64], png[PATH_MAX + 128];
    snprintf(art, sizeof art, "%s/tests/e2e/artifacts/templates", getenv("CLIPLOOP_SOURCE_DIR"));
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", art);
    CHECK(system(cmd) == 0);
    cl_render_result res;
    snprintf(dir, sizeof dir, "%s/out-showcase", scratch);
    CHECK(render_template("showcase", 1080, 1920, 4, dir, &res) == 0);
    probe_info p = probe_video(res.video_path);
    CHECK(p.ok && !strcmp(p.vcodec, "h264") && p.width == 1080 && p.height == 1920);
    CHECK(fabs(p.duration - 4) < 0.15);
    CHECK(p.n_audio == 1);
    luma th;
    char codec[32];
    CHECK(decode_luma(res.thumbnail_path, &th, codec, sizeof codec) == 0 && th.w == 1080);
    CHECK(th.y && region_variance(&th, 0, 300, 1080, 700) > 10); /* the picture, not a flat colour */
    luma_free(&th);
    (void)region_diff;
    AVFrame *a = frame_at(res.video_path, 1.0), *b = frame_at(res.video_path, 3.0), *c = frame_at(res.video_path, 1.0 + 1.0 / 30);
    CHECK(a && b && c);
    if (a && b && c) {
        /* the top half is picture only (no text): it moves between 1 s and 3 s,
           and a little from one frame to the next (a slow move, not a cut) */
        double d13 = rgb_diff(a, b, 0, 300, 1080, 700), d1 = rgb_diff(a, c, 0, 300, 1080, 700);
        CHECK(d13 > 4);
        CHECK(d1 > 0.05 && d1 < d13);
        fprintf(stderr, "  showcase motion: 1s->3s %.2f, one frame %.3f (mean abs diff)\n", d13, d1);
    }
    av_frame_free(&a), av_frame_free(&b), av_frame_free(&c);
    /* with burned-in captions: the card clears the caption band (a frame of each to look at) */
    for (int t = 0; t < 4; t++) {
        snprintf(dir, sizeof dir, "%s/out-cap-%s", scratch, templates[t]);
        snprintf(png, sizeof png, "%s/%s-captions-1080x1920.png", art, templates[t]);
        CHECK(render_captioned(templates[t], 1080, 1920, dir, 4.6, png) == 0);
    }
    snprintf(dir, sizeof dir, "%s/out-cap-square", scratch);
    snprintf(png, sizeof png, "%s/offer-captions-1080x1080.png", art);
    CHECK(render_captioned("offer", 1080, 1080, dir, 4.6, png) == 0);
    /* frames of every template (and the showcase in every aspect) for a person to look at */
    for (int t = 0; t < 4; t++)
        for (int s = 0; s < 4; s++) {
            if (t > 0 && s > 0)
                continue;
            snprintf(dir, sizeof dir, "%s/out-%s-%d", scratch, templates[t], s);
            if (render_template(templates[t], sizes[s][0], sizes[s][1], 6, dir, &res) != 0) {
                CHECK(0);
                continue;
            }
            for (int k = 0; k < 2; k++) {
                double at = k ? 5.2 : 2.5;
                AVFrame *f = frame_at(res.video_path, at);
                CHECK(f && f->width == sizes[s][0] && f->height == sizes[s][1]);
                snprintf(png, sizeof png, "%s/%s-%dx%d-t%.1f.png", art, templates[t], sizes[s][0], sizes[s][1], at);
                CHECK(f && write_png(f, png) == 0);
                av_frame_free(&f);
            }
        }
}

int main(void)
{
    const char *plugin_dir = getenv("CLIPLOOP_PLUGIN_DIR");
    const char *src = getenv("CLIPLOOP_SOURCE_DIR");
    if (!plugin_dir || !src) {
        fprintf(stderr, "CLIPLOOP_PLUGIN_DIR / CLIPLOOP_SOURCE_DIR are not set (run through ctest)\n");
        return 1;
    }
    if (!mkdtemp(scratch)) {
        perror("mkdtemp");
        return 1;
    }
    char scripts[PATH_MAX];
    snprintf(scripts, sizeof scripts, "%s/scripts", src);
    setenv("CLIPLOOP_SCRIPTS_DIR", scripts, 1);
    snprintf(img1, sizeof img1, "%s/photo1.ppm", scratch);
    snprintf(img2, sizeof img2, "%s/photo2.ppm", scratch);
    snprintf(img3, sizeof img3, "%s/photo3.ppm", scratch);
    CHECK(write_photo(img1, 1600, 1200, 10) == 0);
    CHECK(write_photo(img2, 1200, 1600, 45) == 0);
    CHECK(write_photo(img3, 1400, 1400, 80) == 0);
    snprintf(media_json, sizeof media_json,
             "[{\"id\":11,\"path\":\"%s\",\"width\":1600,\"height\":1200},{\"id\":12,\"path\":\"%s\","
             "\"width\":1200,\"height\":1600},{\"id\":13,\"path\":\"%s\",\"width\":1400,\"height\":1400}]",
             img1, img2, img3);
    char err[512], storage[PATH_MAX + 16];
    snprintf(storage, sizeof storage, "%s/storage", scratch);
    setenv("CLIPLOOP_STORAGE_DIR", storage, 1);
    unsetenv("RENDERER");
    unsetenv("RENDER_FFMPEG_FONT");
    if (cl_config_load(err, sizeof err) != 0) {
        fprintf(stderr, "config: %s\n", err);
        return 1;
    }

    test_v2_validation();
    test_templates_build();
    test_template_refusals();
    test_choose();
    test_caption_zone();
    CHECK(cl_plugins_load_dir(plugin_dir) > 0);
    test_render_templates();
    cl_plugins_reset_for_tests();

    cl_lua_thread_release();
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", scratch);
    return unit_done("test_templates");
}
