/*
 * test_assets.c — fingerprinted static files (host/http/assets.c) on a small
 * web directory made here: hashed names, the import graph (./ and ../
 * imports, a cycle), the shell pre-rendered per route of app.js's table,
 * HTML references rewritten only where a whole known name ends, plain and
 * fingerprinted lookups; and the small thumbnail (host/render/thumb.c) of a
 * JPEG written by FFmpeg's mjpeg encoder.
 */
#include "http/assets.h"
#include "render/thumb.h"
#include "unit.h"

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256];

static void put(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_assets(void)
{
    snprintf(root, sizeof root, "/tmp/cliploop-test-assets-%d", (int)getpid());
    static const char *const dirs[] = {"", "/assets", "/assets/js", "/assets/js/lib", "/assets/css"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        char d[300];
        snprintf(d, sizeof d, "%s%s", root, dirs[i]);
        mkdir(d, 0700);
    }
    put("assets/css/app.css", "body{}");
    put("assets/js/api.js", "export const x = 1;\n");
    put("assets/js/ui.js", "import { x } from './api.js';\nimport { y } from './lib/deep.js';\n");
    put("assets/js/lib/deep.js", "import '../ui.js';\nexport const y = 2;\n"); /* a cycle back to ui.js */
    put("assets/js/app.js", "import { x } from './api.js';\n"
                            "const routes = [\n"
                            "  { path: '/app', title: 'Home', page: () => import('./home.js') },\n"
                            "  { path: '/app/chats', prefix: true, page: () => import('./chat.js') },\n"
                            "];\n");
    put("assets/js/home.js", "import { x } from './ui.js';\n");
    put("assets/js/chat.js", "import { x } from \"./api.js\";\n");
    put("assets/notes.txt", "not fingerprinted");
    put("app.html", "<head><link rel=\"stylesheet\" href=\"/assets/css/app.css\">\n"
                    "<script type=\"module\" src=\"/assets/js/app.js\"></script></head>"
                    "<a href=\"/assets/css/app.css.map\">x</a><img src=\"/assets/css/app.css?v=1\">");
    put("login.html", "<link href=\"/assets/css/app.css\"><script type=\"module\" src=\"/assets/js/chat.js\"></script>");

    CHECK(cl_assets_init(root) == 0);
    int hashed = -1;
    const cl_asset *css = cl_assets_find("/assets/css/app.css", 19, &hashed);
    CHECK(css && hashed == 0);
    if (!css)
        return;
    CHECK(strlen(css->hashed) == strlen("css/app.") + CL_ASSET_HASH_LEN + strlen(".css"));
    char path[300];
    int n = snprintf(path, sizeof path, "/assets/%s", css->hashed);
    CHECK(cl_assets_find(path, (size_t)n, &hashed) == css && hashed == 1);
    CHECK(cl_assets_find("/assets/css/app.0000000000.css", 30, &hashed) == NULL);
    CHECK(cl_assets_find("/assets/notes.txt", 17, &hashed) == NULL);
    /* The hash is SHA-256 of the content ("body{}"). */
    CHECK(strcmp(css->hashed, "css/app.7c98040a54.css") == 0);

    size_t len = 0;
    const char *home = cl_assets_shell("/app", 4, &len);
    CHECK(home && len == strlen(home));
    if (!home)
        return;
    char want[400];
    snprintf(want, sizeof want, "href=\"/assets/%s\"", css->hashed);
    CHECK(strstr(home, want) != NULL);
    CHECK(strstr(home, "<script type=\"importmap\">") < strstr(home, "<script type=\"module\""));
    CHECK(count(home, "rel=\"modulepreload\"") == 5); /* app, api, home, ui, lib/deep */
    CHECK(strstr(home, "modulepreload\" href=\"/assets/js/lib/deep.") != NULL);
    CHECK(strstr(home, "modulepreload\" href=\"/assets/js/chat.") == NULL);
    CHECK(strstr(home, "\"/assets/js/lib/deep.js\":\"/assets/js/lib/deep.") != NULL);
    /* Only whole names: a longer name or a query keeps or gets its own treatment. */
    CHECK(strstr(home, "/assets/css/app.css.map") != NULL);
    snprintf(want, sizeof want, "/assets/%s?v=1", css->hashed);
    CHECK(strstr(home, want) != NULL);

    const char *chats = cl_assets_shell("/app/chats/12", 13, &len);
    CHECK(chats && strstr(chats, "modulepreload\" href=\"/assets/js/chat.") && !strstr(chats, "modulepreload\" href=\"/assets/js/home."));
    CHECK(count(chats, "rel=\"modulepreload\"") == 3); /* app, api, chat */
    const char *other = cl_assets_shell("/app/nowhere", 12, &len);
    CHECK(other && count(other, "rel=\"modulepreload\"") == 2); /* app, api */
    CHECK(cl_assets_shell("/dashboard", 10, &len) == home);

    const char *login = cl_assets_page("/login.html", 11, &len);
    CHECK(login && strstr(login, "src=\"/assets/js/chat.") && count(login, "rel=\"modulepreload\"") == 2);
    CHECK(cl_assets_page("/nope.html", 10, &len) == NULL);

    char *plain = cl_assets_rewrite_html("no refs", 7, NULL, &len);
    CHECK_STR(plain, "no refs");
    free(plain);
    cl_assets_free();
    CHECK(cl_assets_find(path, (size_t)n, &hashed) == NULL);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
}

/* A 1080x1920 gradient JPEG made with the mjpeg encoder. */
static int write_jpeg(const char *path)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    AVCodecContext *enc = codec ? avcodec_alloc_context3(codec) : NULL;
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    int ok = 0;
    if (enc && f && pkt) {
        enc->width = f->width = 1080;
        enc->height = f->height = 1920;
        enc->pix_fmt = f->format = AV_PIX_FMT_YUVJ420P;
        enc->time_base = (AVRational){1, 25};
        if (avcodec_open2(enc, codec, NULL) == 0 && av_frame_get_buffer(f, 0) == 0) {
            for (int y = 0; y < 1920; y++)
                memset(f->data[0] + y * f->linesize[0], y * 255 / 1920, 1080);
            for (int y = 0; y < 960; y++) {
                memset(f->data[1] + y * f->linesize[1], 90, 540);
                memset(f->data[2] + y * f->linesize[2], 160, 540);
            }
            FILE *out = NULL;
            if (avcodec_send_frame(enc, f) == 0 && avcodec_send_frame(enc, NULL) == 0 &&
                avcodec_receive_packet(enc, pkt) == 0 && (out = fopen(path, "wb")) != NULL) {
                ok = fwrite(pkt->data, 1, (size_t)pkt->size, out) == (size_t)pkt->size;
                fclose(out);
            }
        }
    }
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&enc);
    return ok;
}

static void test_thumb(void)
{
    char in[128], out[128], err[256] = "";
    snprintf(in, sizeof in, "/tmp/cliploop-test-thumb-%d.jpg", (int)getpid());
    snprintf(out, sizeof out, "/tmp/cliploop-test-thumb-%d-360.jpg", (int)getpid());
    CHECK(write_jpeg(in));
    int w = 0, h = 0;
    CHECK(cl_thumbnail_small(in, out, CL_RENDER_THUMBNAIL_SMALL_WIDTH, &w, &h, err, sizeof err) == 0);
    CHECK(w == 360 && h == 640);
    struct stat a, b;
    CHECK(stat(in, &a) == 0 && stat(out, &b) == 0 && b.st_size > 0 && b.st_size < a.st_size);
    /* never scaled up */
    CHECK(cl_thumbnail_small(out, out, 1000, &w, &h, err, sizeof err) == 0 && w == 360 && h == 640);
    /* not a picture: an error and nothing left behind */
    FILE *f = fopen(in, "w");
    if (f) {
        fputs("not a jpeg", f);
        fclose(f);
    }
    unlink(out);
    CHECK(cl_thumbnail_small(in, out, 360, NULL, NULL, err, sizeof err) == -1 && err[0]);
    CHECK(access(out, F_OK) != 0);
    unlink(in);
}

int main(void)
{
    test_assets();
    test_thumb();
    return unit_done("test_assets");
}
