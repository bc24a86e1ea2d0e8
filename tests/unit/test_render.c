/*
 * test_render.c — compositions (build + validation) and the renderer
 * plugins, loaded from CLIPLOOP_PLUGIN_DIR through the real loader:
 *   - render_ffmpeg renders a 3 s 1080x1920 composition; the MP4 is opened
 *     with libavformat (container, H.264, size, duration, frame rate, AAC),
 *     the thumbnail decodes as a non-blank JPEG, and the text is really
 *     drawn (pixels in the text region differ from a render without text,
 *     pixels elsewhere do not);
 *   - error paths: invalid composition, unknown renderer, missing font,
 *     unreadable image URL (404 from tests/fakes/http_fake.mjs), blocked
 *     private address, unwritable output, cancellation, and for
 *     render_hyperframes: disabled, missing binary, failing CLI;
 *   - render_hyperframes against the real HyperFrames CLI when
 *     HYPERFRAMES_BIN is set (scripts/test installs it and sets it). Without
 *     it the test fails, unless CLIPLOOP_SKIP_HYPERFRAMES=1 says to skip.
 */
#include "core/config.h"
#include "net/http_client.h"
#include "plugins/call.h"
#include "plugins/registry.h"
#include "render/composition.h"
#include "render/render.h"
#include "render_probe.h"
#include "plugin_env.h"
#include "fake_proc.h"
#include "test_util.h"
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char scratch[] = "/tmp/cl_render_test_XXXXXX";
static int fake_port;
static pid_t fake_pid;

/* ------------------------------------------------------------------------- */

static const char *COMP_TEXT =
    "{\"template\":\"hf_promo_v1\",\"width\":1080,\"height\":1920,\"fps\":30,\"duration\":3,"
    "\"background\":{\"type\":\"gradient\",\"colors\":[\"#1E3A8A\",\"#DB2777\"]},\"logo_url\":null,"
    "\"safe_area\":{\"top\":180,\"bottom\":480,\"left\":60,\"right\":180},\"layers\":["
    "{\"role\":\"hook\",\"text\":\"Fresh bread, 50% off today\",\"start\":0,\"end\":2,"
    "\"animation\":\"slide_up\",\"font_size\":84,\"color\":\"#FFFFFF\"},"
    "{\"role\":\"cta\",\"text\":\"Order now\",\"start\":1.5,\"end\":3,\"animation\":\"fade\","
    "\"font_size\":68,\"color\":\"#FDE68A\"},"
    "{\"role\":\"business_name\",\"text\":\"Mama's Bakery\",\"start\":0,\"end\":3,"
    "\"animation\":\"none\",\"font_size\":44,\"position\":\"top\"}]}";

static const char *COMP_PLAIN =
    "{\"template\":\"hf_promo_v1\",\"width\":1080,\"height\":1920,\"fps\":30,\"duration\":3,"
    "\"background\":{\"type\":\"gradient\",\"colors\":[\"#1E3A8A\",\"#DB2777\"]},"
    "\"safe_area\":{\"top\":180,\"bottom\":480,\"left\":60,\"right\":180},\"layers\":[]}";

/* The hook's block at 1 s (centre of the safe area) and a region no layer touches. */
#define TEXT_X 120
#define TEXT_Y 700
#define TEXT_W 720
#define TEXT_H 220
#define BLANK_X 900
#define BLANK_Y 1560
#define BLANK_W 160
#define BLANK_H 300

static int start_fake(void)
{
    char port_file[PATH_MAX + 16];
    fake_pid = fake_proc_start("http_fake.mjs", scratch, port_file, sizeof port_file, &fake_port);
    return fake_pid > 0 ? 0 : -1;
}

static void stop_fake(void)
{
    fake_proc_stop(&fake_pid);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct progress_log {
    int64_t calls, last_done, last_total;
    int watch_nice;     /* on each report, look at the process's threads' nice values */
    unsigned nice_seen; /* bit k: a thread k steps above the reporting thread's nice value */
} progress_log;

/* Bit k set when one of this process's threads has a nice value k (0..31)
   above the calling thread's (Linux: per thread, /proc/self/task/T/stat,
   field 19). */
static unsigned thread_nice_raises(void)
{
    errno = 0;
    int base = getpriority(PRIO_PROCESS, 0);
    if (base == -1 && errno)
        return 0;
    unsigned seen = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], buf[1024];
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue; /* the thread has just ended */
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        char *q = strrchr(buf, ')'); /* after the name: fields 3.. */
        for (int field = 2; q && field < 19; field++)
            q = strchr(q + 1, ' ');
        if (q) {
            int k = atoi(q + 1) - base;
            if (k >= 0 && k < 32)
                seen |= 1u << k;
        }
    }
    if (d)
        closedir(d);
    return seen;
}

static void on_progress(void *arg, int64_t done, int64_t total)
{
    progress_log *p = arg;
    p->calls++;
    p->last_done = done;
    p->last_total = total;
    if (p->watch_nice)
        p->nice_seen |= thread_nice_raises();
}

/* Render comp into dir with renderer, progress into *pl; prints and checks
   the outcome and how long it took (the figure is logged, never asserted). */
static int render_logged(const char *comp, const char *dir, const char *renderer, progress_log *pl,
                         cl_render_result *res, double *took)
{
    cl_call call;
    cl_call_init(&call, on_progress, pl);
    cl_error err;
    double t0 = now_s();
    int rc = cl_render_composition(comp, dir, renderer, &call, res, &err);
    *took = now_s() - t0;
    if (rc != CL_OK)
        fprintf(stderr, "%s: %s\n", renderer, err.message);
    CHECK(rc == CL_OK);
    return rc;
}

/* Replace the composition's background with an image (or add a logo) URL. */
static char *with_background_image(const char *url)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"width\":1080,\"height\":1920,\"fps\":30,\"duration\":3,"
             "\"background\":{\"type\":\"image\",\"image_url\":\"%s\"},\"layers\":[]}",
             url);
    return buf;
}

/* ------------------------------------------------------------------------- */
/* Compositions                                                              */
/* ------------------------------------------------------------------------- */

static void expect_invalid(const char *json, const char *needle)
{
    char err[512] = "";
    int rc = cl_composition_validate(json, err, sizeof err);
    CHECK(rc == -1);
    if (!strstr(err, needle)) {
        unit_failed++;
        fprintf(stderr, "FAIL: validation message \"%s\" does not name \"%s\"\n", err, needle);
    } else {
        unit_passed++;
    }
}

static void test_composition(void)
{
    char err[512] = "";
    CHECK(cl_composition_validate(COMP_TEXT, err, sizeof err) == 0);
    CHECK(cl_composition_validate(COMP_PLAIN, err, sizeof err) == 0);
    CHECK(cl_composition_validate("{}", err, sizeof err) == 0); /* every field has a default */
    expect_invalid("not json", "not valid JSON");
    expect_invalid("[]", "JSON object");
    expect_invalid("{\"fps\":29}", "fps");
    expect_invalid("{\"width\":720,\"height\":1280}", "width x height");
    expect_invalid("{\"duration\":2}", "duration");
    expect_invalid("{\"duration\":61}", "duration");
    expect_invalid("{\"template\":\"other\"}", "template");
    expect_invalid("{\"background\":{\"type\":\"gradient\",\"colors\":[\"#fff\"]}}", "background.colors");
    expect_invalid("{\"background\":{\"type\":\"image\",\"image_url\":\"file:///etc/passwd\"}}",
                   "background.image_url");
    expect_invalid("{\"background\":{\"type\":\"video\"}}", "background.type");
    expect_invalid("{\"logo_url\":\"ftp://x/y.png\"}", "logo_url");
    expect_invalid("{\"safe_area\":{\"top\":-1}}", "safe_area.top");
    expect_invalid("{\"safe_area\":{\"top\":900,\"bottom\":900}}", "safe_area");
    expect_invalid("{\"layers\":{}}", "layers must be an array");
    expect_invalid("{\"layers\":[{\"role\":\"hook\"}]}", "layers[0].text");
    expect_invalid("{\"layers\":[{\"role\":\"intro\",\"text\":\"x\"}]}", "layers[0].role");
    expect_invalid("{\"duration\":5,\"layers\":[{\"role\":\"hook\",\"text\":\"x\"},"
                   "{\"role\":\"cta\",\"text\":\"y\",\"start\":2,\"end\":6}]}",
                   "layers[1].end");
    expect_invalid("{\"layers\":[{\"role\":\"cta\",\"text\":\"y\",\"start\":3,\"end\":2}]}",
                   "layers[0].end");
    expect_invalid("{\"layers\":[{\"role\":\"cta\",\"text\":\"y\",\"color\":\"red\"}]}",
                   "layers[0].color");
    expect_invalid("{\"layers\":[{\"role\":\"cta\",\"text\":\"y\",\"animation\":\"spin\"}]}",
                   "layers[0].animation");
    expect_invalid("{\"layers\":[{\"role\":\"cta\",\"text\":\"y\",\"font_size\":4}]}",
                   "layers[0].font_size");
    expect_invalid("{\"layers\":[{\"role\":\"cta\",\"text\":\"y\",\"box\":{\"x\":1000,\"y\":0,"
                   "\"w\":200,\"h\":100}}]}",
                   "layers[0].box");
    expect_invalid("{\"layers\":[{\"role\":\"cta\",\"text\":\"y\",\"position\":\"left\"}]}",
                   "layers[0].position");

    /* Channel safe areas keep text off the platforms' overlays. */
    cl_safe_area tk, ig, wa, other;
    CHECK(cl_composition_safe_area("tiktok", 1080, 1920, &tk) == 0);
    CHECK(cl_composition_safe_area("instagram", 1080, 1920, &ig) == 0);
    CHECK(cl_composition_safe_area("whatsapp", 1080, 1920, &wa) == 0);
    CHECK(cl_composition_safe_area("myspace", 1080, 1920, &other) == -1);
    CHECK(tk.right > tk.left && tk.right >= 160); /* TikTok's right rail */
    CHECK(tk.bottom >= 400 && ig.bottom >= 400);  /* captions and buttons */
    CHECK(wa.bottom < ig.bottom);
    cl_safe_area sq;
    CHECK(cl_composition_safe_area("tiktok", 1080, 1080, &sq) == 0);
    CHECK(sq.bottom == tk.bottom * 1080 / 1920 && sq.right == tk.right);

    /* Building hf_promo_v1 from a draft, the profile and channel rules. */
    const char *draft =
        "{\"hook\":\"Generic hook\",\"caption\":\"A caption\",\"cta\":\"Buy\","
        "\"variants\":{\"tiktok\":{\"hook\":\"POV: best bread\",\"caption\":\"TikTok caption "
        "#bread\",\"cta\":\"Tap the link\"}}}";
    const char *profile = "{\"business_name\":\"Mama's Bakery\",\"brand_colors\":[\"#112233\","
                          "\"#445566\"],\"logo_url\":\"https://cdn.example.test/logo.png\"}";
    cl_buf out = CL_BUF_INIT;
    CHECK(cl_composition_build(draft, profile, "tiktok", "{\"duration_seconds\":20}", &out, err,
                               sizeof err) == 0);
    CHECK(out.data && cl_composition_validate(out.data, err, sizeof err) == 0);
    CHECK(out.data && strstr(out.data, "\"template\":\"hf_promo_v1\""));
    CHECK(out.data && strstr(out.data, "\"duration\":20"));
    CHECK(out.data && strstr(out.data, "POV: best bread"));        /* channel variant wins */
    CHECK(out.data && strstr(out.data, "Tap the link"));
    CHECK(out.data && strstr(out.data, "\"colors\":[\"#112233\",\"#445566\"]"));
    CHECK(out.data && strstr(out.data, "\"right\":180"));           /* TikTok safe area */
    CHECK(out.data && strstr(out.data, "\"role\":\"business_name\""));
    CHECK(out.data && strstr(out.data, "\"box\""));                 /* name below the logo */
    cl_buf_free(&out);
    CHECK(cl_composition_build("{\"hook\":\"Hi\"}", NULL, "whatsapp", NULL, &out, err, sizeof err) == 0);
    CHECK(out.data && strstr(out.data, "\"duration\":15") && strstr(out.data, "\"logo_url\":null"));
    cl_buf_free(&out);
    CHECK(cl_composition_build("{\"caption\":\"no hook\"}", NULL, "tiktok", NULL, &out, err, sizeof err) == -1);
    CHECK(strstr(err, "draft.hook") != NULL && out.data == NULL);
    CHECK(cl_composition_build("{\"hook\":\"x\"}", NULL, "myspace", NULL, &out, err, sizeof err) == -1);
    CHECK(strstr(err, "channel") != NULL);
    CHECK(cl_composition_build("{\"hook\":\"x\"}", NULL, "tiktok", "{\"size\":\"640x480\"}", &out, err,
                               sizeof err) == -1);
    CHECK(strstr(err, "size") != NULL);
    CHECK(cl_composition_build("{", NULL, "tiktok", NULL, &out, err, sizeof err) == -1);
    CHECK(strstr(err, "draft") != NULL);
}

/* ------------------------------------------------------------------------- */
/* render_ffmpeg                                                             */
/* ------------------------------------------------------------------------- */

static void check_video(const char *what, const char *path, double duration, int fps)
{
    probe_info p = probe_video(path);
    CHECK(p.ok);
    CHECK(strstr(p.format, "mp4") != NULL);
    CHECK_STR(p.vcodec, "h264");
    CHECK(p.width == 1080 && p.height == 1920);
    CHECK(fabs(p.duration - duration) <= 0.1);
    CHECK(p.fps_den > 0 && p.fps_num == fps * p.fps_den);
    CHECK(p.n_audio == 1);
    CHECK_STR(p.acodec, "aac");
    fprintf(stderr, "%s: %s %s %dx%d %.3fs %d/%d fps, audio %s\n", what, p.format, p.vcodec,
            p.width, p.height, p.duration, p.fps_num, p.fps_den, p.acodec);
}

static void test_ffmpeg_render(void)
{
    CHECK(cl_plugins_find(CL_CAP_RENDERER, "ffmpeg") != NULL);
    char dir_text[PATH_MAX], dir_plain[PATH_MAX];
    snprintf(dir_text, sizeof dir_text, "%s/ff-text", scratch);
    snprintf(dir_plain, sizeof dir_plain, "%s/ff-plain", scratch);

    progress_log pl = {0};
    cl_render_result res;
    double took;
    render_logged(COMP_TEXT, dir_text, "ffmpeg", &pl, &res, &took);
    fprintf(stderr, "render_ffmpeg: 3 s 1080x1920 30 fps in %.2f s\n", took);
    CHECK_STR(res.renderer, "ffmpeg");
    CHECK(pl.calls >= 2 && pl.last_done == 90 && pl.last_total == 90);
    check_video("ffmpeg", res.video_path, 3.0, 30);

    cl_call call;
    cl_error err;
    cl_call_init(&call, NULL, NULL);
    CHECK(cl_render_composition(COMP_PLAIN, dir_plain, "ffmpeg", &call, NULL, &err) == CL_OK);

    /* The work directory is gone; only the two outputs remain. */
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/thumbnail.jpg", dir_plain);
    CHECK(exists(p));

    luma with = {0}, without = {0};
    char codec[32] = "";
    CHECK(decode_luma(res.thumbnail_path, &with, codec, sizeof codec) == 0);
    CHECK_STR(codec, "mjpeg");
    CHECK(with.w == 1080 && with.h == 1920);
    CHECK(decode_luma(p, &without, codec, sizeof codec) == 0);
    if (with.y && without.y) {
        double var = region_variance(&with, 0, 0, with.w, with.h);
        double d_text = region_diff(&with, &without, TEXT_X, TEXT_Y, TEXT_W, TEXT_H);
        double d_blank = region_diff(&with, &without, BLANK_X, BLANK_Y, BLANK_W, BLANK_H);
        double d_name = region_diff(&with, &without, 300, 180, 480, 70);
        fprintf(stderr, "ffmpeg thumbnail: variance %.1f, text diff %.2f, name diff %.2f, blank diff %.2f\n",
                var, d_text, d_name, d_blank);
        CHECK(var > 50);        /* not blank: a gradient with text */
        CHECK(d_text > 8);      /* the hook is drawn where the layout puts it */
        CHECK(d_name > 4);      /* and the business name at the top */
        CHECK(d_blank < 1.0);   /* nothing else changed */
    }
    luma_free(&with);
    luma_free(&without);
}

static void test_ffmpeg_errors(void)
{
    const cl_renderer *r = (const cl_renderer *)cl_plugins_find(CL_CAP_RENDERER, "ffmpeg");
    CHECK(r != NULL);
    if (!r)
        return;
    cl_error err;
    cl_call call;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/ff-err", scratch);

    /* Invalid composition and unknown renderer, through the host function. */
    CHECK(cl_render_composition("{\"fps\":7}", out, "ffmpeg", NULL, NULL, &err) == CL_EINVAL);
    CHECK(strstr(err.message, "fps") != NULL);
    CHECK(cl_render_composition(COMP_PLAIN, out, "nosuch", NULL, NULL, &err) == CL_EUNSUPPORTED);
    CHECK(strstr(err.message, "nosuch") && strstr(err.message, "RENDERER"));
    snprintf(cl_cfg.renderer, sizeof cl_cfg.renderer, "nosuch2");
    CHECK(strcmp(cl_render_pick(NULL), "nosuch2") == 0 && strcmp(cl_render_pick("ffmpeg"), "ffmpeg") == 0);
    snprintf(cl_cfg.renderer, sizeof cl_cfg.renderer, "ffmpeg");
    CHECK(strcmp(cl_render_pick(NULL), "ffmpeg") == 0);

    /* Unwritable output: a path below a regular file (fails even as root). */
    char file[PATH_MAX + 16], bad[PATH_MAX + 32], thumb[PATH_MAX + 32];
    snprintf(file, sizeof file, "%s/afile", scratch);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    snprintf(bad, sizeof bad, "%s/sub", file);
    CHECK(cl_render_composition(COMP_PLAIN, bad, "ffmpeg", NULL, NULL, &err) == CL_EIO);
    CHECK(strstr(err.message, "cannot create output directory") != NULL);
    snprintf(bad, sizeof bad, "%s/x.mp4", file);
    snprintf(thumb, sizeof thumb, "%s/x.jpg", scratch);
    cl_render_request req = {.size = sizeof req,
                             .composition_json = COMP_PLAIN,
                             .work_dir = scratch,
                             .video_path = bad,
                             .thumbnail_path = thumb};
    memset(&err, 0, sizeof err);
    cl_call_init(&call, NULL, NULL);
    CHECK(r->render(r->base.self, &call, &req, &err) == CL_EIO);
    CHECK(err.code == CL_EIO && strstr(err.message, bad) != NULL);
    fprintf(stderr, "unwritable: %s\n", err.message);

    /* Missing font (explicitly configured). */
    plugin_setenv("RENDER_FFMPEG_FONT", "/nonexistent/font.ttf");
    CHECK(cl_render_composition(COMP_TEXT, out, "ffmpeg", NULL, NULL, &err) == CL_EUNSUPPORTED);
    CHECK(strstr(err.message, "/nonexistent/font.ttf") && strstr(err.message, "RENDER_FFMPEG_FONT"));
    plugin_setenv("RENDER_FFMPEG_FONT", NULL);

    /* Cancelled before the first frame: an explicit code and no video left. */
    cl_call_init(&call, NULL, NULL);
    cl_call_cancel(&call);
    CHECK(cl_render_composition(COMP_TEXT, out, "ffmpeg", &call, NULL, &err) == CL_ECANCELLED);
    CHECK(strstr(err.message, "cancelled") != NULL);
    snprintf(bad, sizeof bad, "%s/rendered.mp4", out);
    CHECK(!exists(bad));

    /* Images through the host's HTTP client and its guard. */
    int saved = cl_cfg.http_allow_loopback;
    cl_cfg.http_allow_loopback = 1;
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/status/404", fake_port);
    CHECK(cl_render_composition(with_background_image(url), out, "ffmpeg", NULL, NULL, &err) ==
          CL_EUPSTREAM);
    CHECK(err.http_status == 404 && strstr(err.message, "background image") && strstr(err.message, "404"));
    fprintf(stderr, "404: %s\n", err.message);
    CHECK(!exists(bad));

    CHECK(cl_render_composition(with_background_image("http://10.0.0.1/x.png"), out, "ffmpeg", NULL,
                                NULL, &err) == CL_EBLOCKED);
    CHECK(strstr(err.message, "10.0.0.1") != NULL);
    fprintf(stderr, "blocked: %s\n", err.message);

    /* A body that is not an image. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/json", fake_port);
    CHECK(cl_render_composition(with_background_image(url), out, "ffmpeg", NULL, NULL, &err) ==
          CL_EUPSTREAM);
    CHECK(strstr(err.message, "not a decodable image") != NULL);

    /* A real (tiny PPM) image as background and logo: renders. */
    snprintf(url, sizeof url,
             "http://127.0.0.1:%d/status/200?type=image/x-portable-pixmap&body=P3%%0A2%%202%%0A255%%0A"
             "255%%200%%200%%200%%20255%%200%%200%%200%%20255%%20255%%20255%%20255%%0A",
             fake_port);
    char comp[4096];
    snprintf(comp, sizeof comp,
             "{\"duration\":3,\"background\":{\"type\":\"image\",\"image_url\":\"%s\"},"
             "\"logo_url\":\"%s\",\"layers\":[{\"role\":\"cta\",\"text\":\"Hi\"}]}",
             url, url);
    int rc = cl_render_composition(comp, out, "ffmpeg", NULL, NULL, &err);
    if (rc != CL_OK)
        fprintf(stderr, "image render: %s\n", err.message);
    CHECK(rc == CL_OK);
    CHECK(exists(bad));

    cl_cfg.http_allow_loopback = 0; /* loopback refused by the guard by default */
    CHECK(cl_render_composition(comp, out, "ffmpeg", NULL, NULL, &err) == CL_EBLOCKED);
    cl_cfg.http_allow_loopback = saved;
}

/* ------------------------------------------------------------------------- */
/* render_hyperframes                                                        */
/* ------------------------------------------------------------------------- */

static const char *COMP_HF =
    "{\"template\":\"hf_promo_v1\",\"width\":1080,\"height\":1920,\"fps\":24,\"duration\":3,"
    "\"background\":{\"type\":\"gradient\",\"colors\":[\"#1E3A8A\",\"#DB2777\"]},"
    "\"safe_area\":{\"top\":180,\"bottom\":480,\"left\":60,\"right\":180},\"layers\":["
    "{\"role\":\"hook\",\"text\":\"Fresh bread, 50% off today\",\"start\":0,\"end\":2,"
    "\"animation\":\"slide_up\",\"font_size\":84},"
    "{\"role\":\"cta\",\"text\":\"Order now\",\"start\":1.5,\"end\":3,\"animation\":\"fade\"}]}";

/* The same design without any text layer: the reference for "text is drawn". */
static const char *COMP_HF_NOTEXT =
    "{\"template\":\"hf_promo_v1\",\"width\":1080,\"height\":1920,\"fps\":24,\"duration\":3,"
    "\"background\":{\"type\":\"gradient\",\"colors\":[\"#1E3A8A\",\"#DB2777\"]},"
    "\"safe_area\":{\"top\":180,\"bottom\":480,\"left\":60,\"right\":180},\"layers\":[]}";

static void test_hyperframes_errors(void)
{
    CHECK(cl_plugins_find(CL_CAP_RENDERER, "hyperframes") != NULL);
    cl_error err;
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/hf-err", scratch);

    plugin_setenv("HYPERFRAMES_ENABLED", NULL);
    CHECK(cl_render_composition(COMP_HF, out, "hyperframes", NULL, NULL, &err) == CL_EUNSUPPORTED);
    CHECK_STR(err.message, "HyperFrames rendering is disabled (set HYPERFRAMES_ENABLED=true)");

    plugin_setenv("HYPERFRAMES_ENABLED", "true");
    plugin_setenv("HYPERFRAMES_BIN", "/nonexistent/hyperframes");
    CHECK(cl_render_composition(COMP_HF, out, "hyperframes", NULL, NULL, &err) == CL_EUNSUPPORTED);
    CHECK(strstr(err.message, "HYPERFRAMES_BIN=/nonexistent/hyperframes") != NULL);

    /* A CLI that fails: CL_EUPSTREAM with the tail of its stderr. */
    char script[PATH_MAX + 16];
    snprintf(script, sizeof script, "%s/failing-cli", scratch);
    FILE *f = fopen(script, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("#!/bin/sh\necho 'starting' ; echo 'boom: the browser crashed' >&2; exit 3\n", f);
        fclose(f);
        chmod(script, 0755);
    }
    plugin_setenv("HYPERFRAMES_BIN", script);
    CHECK(cl_render_composition(COMP_HF, out, "hyperframes", NULL, NULL, &err) == CL_EUPSTREAM);
    CHECK(strstr(err.message, "status 3") && strstr(err.message, "boom: the browser crashed"));
    fprintf(stderr, "failing CLI: %s\n", err.message);
    char video[PATH_MAX + 32];
    snprintf(video, sizeof video, "%s/rendered.mp4", out);
    CHECK(!exists(video)); /* never a fake success */

    /* The CLI sees an allow-listed environment: PATH and HOME, the browser
       and offline switches, never the host's secrets. */
    setenv("DATABASE_URL", "postgresql://secret-db/cliploop", 1);
    plugin_setenv("MISTRAL_API_KEY", "sk-test-secret");
    setenv("CLIPLOOP_SESSION_SECRET", "secret", 1);
    f = fopen(script, "w");
    if (f) {
        fputs("#!/bin/sh\n"
              "if env | grep -q -e secret -e DATABASE_URL -e API_KEY; then echo LEAKED >&2; else echo CLEAN >&2; fi\n"
              "env | grep -q '^PATH=' && env | grep -q '^HYPERFRAMES_NO_TELEMETRY=1' && echo KEPT >&2\n"
              "exit 4\n",
              f);
        fclose(f);
    }
    CHECK(cl_render_composition(COMP_HF, out, "hyperframes", NULL, NULL, &err) == CL_EUPSTREAM);
    CHECK(strstr(err.message, "status 4") != NULL);
    CHECK(strstr(err.message, "CLEAN") != NULL && strstr(err.message, "LEAKED") == NULL);
    CHECK(strstr(err.message, "KEPT") != NULL);
    unsetenv("DATABASE_URL");
    plugin_setenv("MISTRAL_API_KEY", NULL);
    unsetenv("CLIPLOOP_SESSION_SECRET");

    /* A CLI that "succeeds" without writing anything. */
    f = fopen(script, "w");
    if (f) {
        fputs("#!/bin/sh\nexit 0\n", f);
        fclose(f);
    }
    CHECK(cl_render_composition(COMP_HF, out, "hyperframes", NULL, NULL, &err) == CL_EUPSTREAM);
    CHECK(strstr(err.message, "no video") != NULL);

    /* Cancellation kills the CLI's process group promptly. */
    f = fopen(script, "w");
    if (f) {
        fputs("#!/bin/sh\nsleep 30 &\nsleep 30\n", f);
        fclose(f);
    }
    cl_call call;
    cl_call_init(&call, NULL, NULL);
    plugin_setenv("HYPERFRAMES_TIMEOUT_MS", "600");
    double t0 = now_s();
    CHECK(cl_render_composition(COMP_HF, out, "hyperframes", &call, NULL, &err) == CL_ETIMEOUT);
    CHECK(now_s() - t0 < 5);
    CHECK(strstr(err.message, "HYPERFRAMES_TIMEOUT_MS") != NULL);
    plugin_setenv("HYPERFRAMES_TIMEOUT_MS", NULL);
    cl_call_cancel(&call);
    CHECK(cl_render_composition(COMP_HF, out, "hyperframes", &call, NULL, &err) == CL_ECANCELLED);

    /* ABI 2.1: several videos in one call, made one after the other. A CLI
       that writes a real video of the package's size (the ffmpeg program);
       it refuses a 1080x1080 package whose text says FAIL_SQUA. */
    f = fopen(script, "w");
    if (f) {
        fputs("#!/bin/sh\n"
              "pkg=$2; out=$4\n"
              "w=$(sed -n 's/.*data-width=\"\\([0-9]*\\)\".*/\\1/p' \"$pkg/index.html\" | head -n 1)\n"
              "h=$(sed -n 's/.*data-height=\"\\([0-9]*\\)\".*/\\1/p' \"$pkg/index.html\" | head -n 1)\n"
              "if [ \"$h\" = 1080 ] && grep -q FAIL_SQUA \"$pkg/index.html\"; then echo 'square refused' >&2; exit 6; fi\n"
              "exec ffmpeg -v error -y -f lavfi -i color=c=0x336699:s=${w}x${h}:r=24:d=3 -pix_fmt yuv420p -c:v libx264 "
              "-preset ultrafast \"$out\"\n",
              f);
        fclose(f);
    }
    char sq[1024], sq_fail[1024], hd[2][PATH_MAX];
    snprintf(sq, sizeof sq, "%s", COMP_HF);
    char *hp = strstr(sq, "\"height\":1920");
    CHECK(hp != NULL);
    if (hp)
        memcpy(hp, "\"height\":1080", 13);
    snprintf(sq_fail, sizeof sq_fail, "%s", sq);
    char *hook = strstr(sq_fail, "Order now");
    if (hook)
        memcpy(hook, "FAIL_SQUA", 9); /* as long as "Order now" */
    for (int i = 0; i < 2; i++)
        snprintf(hd[i], sizeof hd[i], "%s/hf-multi-%d", scratch, i);
    const char *comps[2] = {COMP_HF, sq}, *dirs[2] = {hd[0], hd[1]};
    cl_render_result res[2];
    progress_log pl = {0};
    int calls = 0;
    cl_call_init(&call, on_progress, &pl);
    int rc = cl_render_compositions(comps, dirs, 2, "hyperframes", &call, res, &calls, &err);
    if (rc != CL_OK)
        fprintf(stderr, "hyperframes, two videos: %s\n", err.message);
    CHECK(rc == CL_OK && calls == 1);
    CHECK(pl.last_done == 144 && pl.last_total == 144); /* 2 x 3 s x 24 fps */
    probe_info a = probe_video(res[0].video_path), b = probe_video(res[1].video_path);
    CHECK(a.ok && a.width == 1080 && a.height == 1920 && a.n_audio == 1);
    CHECK(b.ok && b.width == 1080 && b.height == 1080 && b.n_audio == 1);
    CHECK(exists(res[0].thumbnail_path) && exists(res[1].thumbnail_path));
    /* all or nothing: the second video fails, the first one goes too */
    CHECK(hook != NULL);
    const char *comps2[2] = {COMP_HF, sq_fail};
    for (int i = 0; i < 2; i++)
        snprintf(hd[i], sizeof hd[i], "%s/hf-multi-fail-%d", scratch, i);
    rc = cl_render_compositions(comps2, dirs, 2, "hyperframes", NULL, res, &calls, &err);
    fprintf(stderr, "hyperframes, second video refused: %d %s\n", rc, err.message);
    CHECK(rc == CL_EUPSTREAM && calls == 1 && strstr(err.message, "square refused") != NULL);
    CHECK(!exists(res[0].video_path) && !exists(res[1].video_path));
}

static void test_hyperframes_real(const char *bin)
{
    if (!bin || !bin[0]) {
        const char *skip = getenv("CLIPLOOP_SKIP_HYPERFRAMES");
        if (skip && strcmp(skip, "1") == 0) {
            fprintf(stderr, "\n*** SKIPPED: render_hyperframes against the real CLI "
                            "(CLIPLOOP_SKIP_HYPERFRAMES=1) ***\n\n");
            return;
        }
        unit_failed++;
        fprintf(stderr, "FAIL: HYPERFRAMES_BIN is not set: run the tests through scripts/test, which "
                        "installs the HyperFrames CLI (or set CLIPLOOP_SKIP_HYPERFRAMES=1 to skip)\n");
        return;
    }
    plugin_setenv("HYPERFRAMES_ENABLED", "true");
    plugin_setenv("HYPERFRAMES_BIN", bin);
    plugin_setenv("HYPERFRAMES_QUALITY", "draft");
    if (!getenv("HYPERFRAMES_BROWSER_PATH"))
        plugin_setenv("HYPERFRAMES_BROWSER_PATH", "/usr/bin/chromium");
    char out[PATH_MAX];
    snprintf(out, sizeof out, "%s/hf", scratch);
    progress_log pl = {0};
    cl_render_result res;
    double took;
    if (render_logged(COMP_HF, out, "hyperframes", &pl, &res, &took) != CL_OK)
        return;
    fprintf(stderr, "render_hyperframes: 3 s 1080x1920 24 fps (draft) in %.2f s\n", took);
    CHECK(pl.last_done == 72 && pl.last_total == 72);
    check_video("hyperframes", res.video_path, 3.0, 24);
    luma th = {0};
    char codec[32] = "";
    CHECK(decode_luma(res.thumbnail_path, &th, codec, sizeof codec) == 0);
    CHECK_STR(codec, "mjpeg");
    if (th.y) {
        double var = region_variance(&th, 0, 0, th.w, th.h);
        double v_text = region_variance(&th, TEXT_X, TEXT_Y, TEXT_W, TEXT_H);
        double v_blank = region_variance(&th, BLANK_X, BLANK_Y, BLANK_W, BLANK_H);
        fprintf(stderr, "hyperframes thumbnail: variance %.1f, text region %.1f, blank region %.1f\n",
                var, v_text, v_blank);
        CHECK(var > 50);
        CHECK(v_text > 10 * (v_blank + 1)); /* glyphs on a smooth gradient */
    }
    /* Text is drawn: against a render of the same design without text, the
       text region differs and an empty region does not. */
    char out2[PATH_MAX + 16], thumb2[PATH_MAX + 48];
    snprintf(out2, sizeof out2, "%s/hf-notext", scratch);
    progress_log pl2 = {0};
    cl_render_result res2;
    int rc = render_logged(COMP_HF_NOTEXT, out2, "hyperframes", &pl2, &res2, &took);
    snprintf(thumb2, sizeof thumb2, "%s/thumbnail.jpg", out2);
    luma plain = {0};
    if (rc == CL_OK && th.y && decode_luma(thumb2, &plain, codec, sizeof codec) == 0 && plain.y) {
        double d_text = region_diff(&th, &plain, TEXT_X, TEXT_Y, TEXT_W, TEXT_H);
        double d_blank = region_diff(&th, &plain, BLANK_X, BLANK_Y, BLANK_W, BLANK_H);
        fprintf(stderr, "hyperframes thumbnail vs no-text render: text diff %.2f, blank diff %.2f\n", d_text,
                d_blank);
        CHECK(d_text > 8);
        CHECK(d_blank < 1.0);
    } else {
        CHECK(!"the text-less HyperFrames thumbnail decodes");
    }
    luma_free(&plain);
    luma_free(&th);
}

/* Bytes of a file into a malloc'd buffer (*n its size), or NULL. */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *b = malloc(1 << 22);
    *n = b ? fread(b, 1, 1 << 22, f) : 0;
    fclose(f);
    return b;
}

/* The audio track's packets of an MP4: how many, their total duration in
   seconds and a hash (FNV-1a) over their bytes and timestamps. */
typedef struct audio_packets {
    int n;
    double seconds;
    uint64_t hash;
} audio_packets;

static audio_packets read_audio_packets(const char *path)
{
    audio_packets a = {0, 0, 1469598103934665603ull};
    AVFormatContext *fmt = NULL;
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0)
        return a;
    int idx = avformat_find_stream_info(fmt, NULL) >= 0
                  ? av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0)
                  : -1;
    AVPacket *pkt = av_packet_alloc();
    while (idx >= 0 && pkt && av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == idx) {
            a.n++;
            a.seconds += pkt->duration * av_q2d(fmt->streams[idx]->time_base);
            for (int i = 0; i < pkt->size; i++)
                a.hash = (a.hash ^ pkt->data[i]) * 1099511628211ull;
            a.hash = (a.hash ^ (uint64_t)pkt->pts) * 1099511628211ull;
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    return a;
}

/*
 * ABI 2.1: several videos in one renderer call. Three compositions (the text
 * promo, the same at 1:1, the plain gradient) make three videos in ONE call
 * of render_ffmpeg; each has its size, duration and soundtrack; progress
 * counts all their frames; the plain one's thumbnail (the composed picture at
 * 1 s, before any encoder) is byte for byte the one a call of its own makes.
 * The soundtrack they share is encoded once and copied into each MP4: every
 * video's AAC packets are the same packets, as many as a call of its own
 * writes, covering the whole duration.
 * All or nothing: when the third video fails (its picture is not an image),
 * the first two, already being written, are removed too.
 */
/* The "subme=N" in the x264 options that libx264 writes into the stream
   (an SEI message, plain text): -1 when the file has none. */
static int x264_subme(const char *path)
{
    size_t n = 0;
    unsigned char *b = slurp(path, &n);
    int v = -1;
    for (size_t i = 0; b && i + 8 < n; i++)
        if (memcmp(b + i, " subme=", 7) == 0 && b[i + 7] >= '0' && b[i + 7] <= '9') {
            v = b[i + 7] - '0';
            break;
        }
    free(b);
    return v;
}

/* The intra and inter partition flags ("analyse=0xI:0xP") that libx264
   writes into the stream: P 0x113 is veryfast's (i4x4, i8x8, p8x8, b8x8),
   0x3 superfast's (i4x4, i8x8), 0 ultrafast's. -1 when the file has none. */
static long x264_inter_partitions(const char *path)
{
    size_t n = 0;
    unsigned char *b = slurp(path, &n);
    long v = -1;
    for (size_t i = 0; b && i + 9 + 31 <= n; i++)
        if (memcmp(b + i, " analyse=", 9) == 0) {
            char tmp[32];
            memcpy(tmp, b + i + 9, sizeof tmp - 1);
            tmp[sizeof tmp - 1] = 0;
            char *colon = strchr(tmp, ':');
            if (colon)
                v = strtol(colon + 1, NULL, 16);
            break;
        }
    free(b);
    return v;
}

static void test_ffmpeg_multi(void)
{
    char square[2048];
    snprintf(square, sizeof square, "%s", COMP_TEXT);
    char *wh = strstr(square, "\"height\":1920");
    CHECK(wh != NULL);
    if (wh)
        memcpy(wh, "\"height\":1080", 13);
    char d[3][PATH_MAX];
    for (int i = 0; i < 3; i++)
        snprintf(d[i], sizeof d[i], "%s/multi-%d", scratch, i);
    const char *comps[3] = {COMP_TEXT, square, COMP_PLAIN}, *dirs[3] = {d[0], d[1], d[2]};
    progress_log pl = {.watch_nice = 1};
    cl_call call;
    cl_call_init(&call, on_progress, &pl);
    cl_error err;
    cl_render_result res[3];
    int calls = 0;
    double t0 = now_s();
    int rc = cl_render_compositions(comps, dirs, 3, "ffmpeg", &call, res, &calls, &err);
    if (rc != CL_OK)
        fprintf(stderr, "multi render: %s\n", err.message);
    CHECK(rc == CL_OK);
    fprintf(stderr, "render_ffmpeg: three 3 s videos in one call in %.2f s\n", now_s() - t0);
    CHECK(calls == 1);
    /* the balance: the 9:16 video (the most work) at the caller's weight;
       the 1:1 variant, 0.61 of its pixels at 0.70 of its cost per pixel,
       4 nice steps lower (log(1 / 0.42) / log(1.25) = 3.9); the plain 9:16
       variant, 0.70 of its work, 2 steps (1.6) */
    fprintf(stderr, "multi: threads' nice raises seen 0x%x\n", pl.nice_seen);
    errno = 0;
    int base_nice = getpriority(PRIO_PROCESS, 0);
    if (base_nice > 19 - 4) /* already near the lowest weight: the raises are cut off at 19 */
        fprintf(stderr, "multi: this process runs at nice %d; the balance's raises are not checked\n", base_nice);
    else
        CHECK(pl.nice_seen == ((1u << 0) | (1u << 2) | (1u << 4)));
    CHECK(pl.last_done == 270 && pl.last_total == 270);
    check_video("multi 9:16", res[0].video_path, 3.0, 30);
    probe_info sq = probe_video(res[1].video_path);
    CHECK(sq.ok && sq.width == 1080 && sq.height == 1080 && fabs(sq.duration - 3.0) <= 0.1 && sq.n_audio == 1);
    check_video("multi plain", res[2].video_path, 3.0, 30);
    luma th = {0};
    char codec[32] = "";
    CHECK(decode_luma(res[1].thumbnail_path, &th, codec, sizeof codec) == 0 && th.w == 1080 && th.h == 1080);
    luma_free(&th);

    char alone[PATH_MAX];
    snprintf(alone, sizeof alone, "%s/multi-alone", scratch);
    cl_render_result one;
    CHECK(cl_render_composition(COMP_PLAIN, alone, "ffmpeg", NULL, &one, &err) == CL_OK);
    size_t na = 0, nb = 0;
    unsigned char *a = slurp(one.thumbnail_path, &na), *b = slurp(res[2].thumbnail_path, &nb);
    CHECK(a && b && na > 1000 && na == nb && memcmp(a, b, na) == 0);
    free(a), free(b);
    audio_packets ap[3], ap1 = read_audio_packets(one.video_path);
    for (int i = 0; i < 3; i++) {
        ap[i] = read_audio_packets(res[i].video_path);
        CHECK(ap[i].n == ap1.n && ap[i].hash == ap1.hash);
    }
    fprintf(stderr, "multi: %d AAC packets, %.3f s in each video; alone %d, %.3f s\n", ap[0].n, ap[0].seconds, ap1.n,
            ap1.seconds);
    CHECK(ap1.n > 3 * 48000 / 1024 && fabs(ap1.seconds - 3.0) < 0.05);

    /* encoder effort: the first video at the preset's (veryfast: subme 2),
       the variants at RENDER_FFMPEG_VARIANT_SUBME (default 1) */
    fprintf(stderr, "x264 subme: main %d, variants %d %d, alone %d\n", x264_subme(res[0].video_path),
            x264_subme(res[1].video_path), x264_subme(res[2].video_path), x264_subme(one.video_path));
    CHECK(x264_subme(res[0].video_path) == 2 && x264_subme(one.video_path) == 2);
    CHECK(x264_subme(res[1].video_path) == 1 && x264_subme(res[2].video_path) == 1);
    static const struct {
        const char *value;
        int main, variant;
    } effort[] = {{"-1", 2, 2}, {"0", 2, 0}, {"12", 2, 1}, {"fast", 2, 1}, {"", 2, 1}};
    for (size_t k = 0; k < sizeof effort / sizeof effort[0]; k++) {
        char e1[PATH_MAX], e2[PATH_MAX];
        snprintf(e1, sizeof e1, "%s/effort-%zu-0", scratch, k);
        snprintf(e2, sizeof e2, "%s/effort-%zu-1", scratch, k);
        const char *ecomps[2] = {COMP_PLAIN, square}, *edirs[2] = {e1, e2};
        plugin_setenv("RENDER_FFMPEG_VARIANT_SUBME", effort[k].value); /* outside 0..11 or not a number: the default */
        CHECK(cl_render_compositions(ecomps, edirs, 2, "ffmpeg", NULL, res, &calls, &err) == CL_OK);
        int m = x264_subme(res[0].video_path), v = x264_subme(res[1].video_path);
        if (m != effort[k].main || v != effort[k].variant)
            fprintf(stderr, "RENDER_FFMPEG_VARIANT_SUBME=\"%s\": subme %d and %d, expected %d and %d\n",
                    effort[k].value, m, v, effort[k].main, effort[k].variant);
        CHECK(m == effort[k].main && v == effort[k].variant);
    }
    plugin_setenv("RENDER_FFMPEG_VARIANT_SUBME", NULL);

    /* the variants' partitions: superfast's (no p8x8, b8x8) unless
       RENDER_FFMPEG_VARIANT_SUBPART=1; under ultrafast, its own (none) */
    static const struct {
        const char *preset, *subpart;
        long main, variant;
    } parts[] = {{NULL, NULL, 0x113, 0x3}, {NULL, "1", 0x113, 0x113}, {NULL, "2", 0x113, 0x3},
                 {"ultrafast", NULL, 0, 0}, {"medium", NULL, 0x113, 0x3}};
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
        char e1[PATH_MAX], e2[PATH_MAX];
        snprintf(e1, sizeof e1, "%s/parts-%zu-0", scratch, k);
        snprintf(e2, sizeof e2, "%s/parts-%zu-1", scratch, k);
        const char *ecomps[2] = {COMP_PLAIN, square}, *edirs[2] = {e1, e2};
        plugin_setenv("RENDER_FFMPEG_PRESET", parts[k].preset);
        plugin_setenv("RENDER_FFMPEG_VARIANT_SUBPART", parts[k].subpart); /* not 0 or 1: the default */
        CHECK(cl_render_compositions(ecomps, edirs, 2, "ffmpeg", NULL, res, &calls, &err) == CL_OK);
        long m = x264_inter_partitions(res[0].video_path), v = x264_inter_partitions(res[1].video_path);
        if (m != parts[k].main || v != parts[k].variant)
            fprintf(stderr, "preset %s, RENDER_FFMPEG_VARIANT_SUBPART=%s: partitions 0x%lx and 0x%lx, expected 0x%lx and 0x%lx\n",
                    parts[k].preset ? parts[k].preset : "(default)", parts[k].subpart ? parts[k].subpart : "(unset)", m,
                    v, parts[k].main, parts[k].variant);
        CHECK(m == parts[k].main && v == parts[k].variant);
    }
    plugin_setenv("RENDER_FFMPEG_PRESET", NULL);
    plugin_setenv("RENDER_FFMPEG_VARIANT_SUBPART", NULL);

    /* RENDER_FFMPEG_BALANCE=0: every video's threads at the caller's weight */
    {
        char e1[PATH_MAX], e2[PATH_MAX];
        snprintf(e1, sizeof e1, "%s/flat-0", scratch);
        snprintf(e2, sizeof e2, "%s/flat-1", scratch);
        const char *ecomps[2] = {COMP_TEXT, square}, *edirs[2] = {e1, e2};
        progress_log fl = {.watch_nice = 1};
        cl_call fc;
        cl_call_init(&fc, on_progress, &fl);
        plugin_setenv("RENDER_FFMPEG_BALANCE", "0");
        CHECK(cl_render_compositions(ecomps, edirs, 2, "ffmpeg", &fc, res, &calls, &err) == CL_OK);
        plugin_setenv("RENDER_FFMPEG_BALANCE", NULL);
        fprintf(stderr, "RENDER_FFMPEG_BALANCE=0: nice raises seen 0x%x\n", fl.nice_seen);
        CHECK(fl.calls > 2 && fl.nice_seen == 1u);
    }

    /* the third video fails after the first two have started writing */
    char bad[PATH_MAX + 16], comp_bad[PATH_MAX + 512], f[3][PATH_MAX];
    snprintf(bad, sizeof bad, "%s/not-an-image.jpg", scratch);
    FILE *fp = fopen(bad, "w");
    CHECK(fp != NULL);
    if (fp) {
        fputs("this is text, not a picture\n", fp);
        fclose(fp);
    }
    snprintf(comp_bad, sizeof comp_bad,
             "{\"version\":2,\"template\":\"showcase\",\"width\":1080,\"height\":1920,\"fps\":30,\"duration\":3,"
             "\"background\":{\"type\":\"solid\",\"color\":\"#111827\"},\"layers\":[{\"type\":\"image\",\"path\":\"%s\","
             "\"start\":0,\"end\":3}]}",
             bad);
    for (int i = 0; i < 3; i++)
        snprintf(f[i], sizeof f[i], "%s/fail-%d", scratch, i);
    const char *comps2[3] = {COMP_TEXT, square, comp_bad}, *dirs2[3] = {f[0], f[1], f[2]};
    rc = cl_render_compositions(comps2, dirs2, 3, "ffmpeg", NULL, res, &calls, &err);
    fprintf(stderr, "multi render with a bad picture: %d %s\n", rc, err.message);
    CHECK(rc != CL_OK && calls == 1);
    CHECK(strstr(err.message, "video 3") != NULL);
    for (int i = 0; i < 3; i++) {
        CHECK(!exists(res[i].video_path));
        CHECK(!exists(res[i].thumbnail_path));
    }
}

int main(void)
{
    const char *plugin_dir = getenv("CLIPLOOP_PLUGIN_DIR");
    if (!plugin_dir || !getenv("CLIPLOOP_SOURCE_DIR")) {
        fprintf(stderr, "CLIPLOOP_PLUGIN_DIR / CLIPLOOP_SOURCE_DIR are not set (run through ctest)\n");
        return 1;
    }
    const char *hf = getenv("HYPERFRAMES_BIN");
    char *hf_bin = hf ? strdup(hf) : NULL;
    if (scratch_with_storage(scratch) != 0)
        return 1;
    unsetenv("RENDERER");
    plugin_setenv("RENDER_FFMPEG_FONT", NULL);
    char err[512];
    if (cl_config_load(err, sizeof err) != 0) {
        fprintf(stderr, "config: %s\n", err);
        return 1;
    }
    cl_cfg.http_allow_loopback = 0;
    CHECK(cl_http_global_init() == 0);
    CHECK(start_fake() == 0);
    CHECK(cl_plugins_load_dir(plugin_dir) > 0);

    test_composition();
    test_ffmpeg_render();
    test_ffmpeg_multi();
    test_ffmpeg_errors();
    test_hyperframes_errors();
    test_hyperframes_real(hf_bin);

    stop_fake();
    cl_plugins_reset_for_tests();
    free(hf_bin);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", scratch);
    return unit_done("test_render");
}
