/*
 * test_plugins.c — the plugin loader, the host services table, llm_mock,
 * the SDK example built out of tree, and `cliploop plugins`.
 *
 * Fixtures are real .so files from tests/plugins/, one directory per case
 * under $CLIPLOOP_BUILD_DIR/test-plugins/. Every refusal is asserted by its
 * reason text, so a loader that refuses for the wrong reason fails here.
 */
#include "core/buf.h"
#include "core/config.h"
#include "plugins/call.h"
#include "plugins/registry.h"
#include "plugin_env.h"
#include "plugins/llm.h"
#include "test_util.h"
#include "unit.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *build_dir, *source_dir, *plugin_dir;
static char scratch[1024]; /* mkdtemp'd, removed at the end */

/* ------------------------------------------------------------------------- */
/* helpers                                                                   */
/* ------------------------------------------------------------------------- */

static const char *fixture_dir(const char *c)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/test-plugins/%s", build_dir, c);
    return path;
}

/* Load exactly one directory into a fresh registry; returns cl_plugins_load_dir's result. */
static int load_fresh(const char *dir)
{
    cl_plugins_reset_for_tests();
    return cl_plugins_load_dir(dir);
}

/* The registry record of `file`, or NULL. */
static const cl_plugin_info *info_of(const char *file)
{
    static cl_plugin_info info;
    for (size_t i = 0; cl_plugins_info_at(i, &info) == 0; i++)
        if (strcmp(info.file, file) == 0)
            return &info;
    return NULL;
}

static int contains(const char *hay, const char *needle)
{
    if (!(hay && needle && strstr(hay, needle))) {
        fprintf(stderr, "  expected to find \"%s\" in \"%s\"\n", needle ? needle : "(null)",
                hay ? hay : "(null)");
        return 0;
    }
    return 1;
}

/* Call an llm_provider; *out_text is malloc'd (caller frees) or NULL. */
static int complete(const cl_capability *cap, cl_call *call, const char *purpose, const char *prompt,
                    int json, char **out_text, cl_llm_usage *usage, cl_error *err)
{
    const cl_llm_provider *p = (const cl_llm_provider *)cap;
    cl_llm_request req = {.size = sizeof req, .purpose = purpose, .system = "You write promos.",
                          .prompt = prompt, .json_output = json};
    cl_output out = {CL_BUF_INIT, 0};
    cl_call local;
    if (!call) {
        cl_call_init(&local, NULL, NULL);
        call = &local;
    }
    int rc = CL_CAP_CALL(p, err, complete, call, &req, &out, usage, err);
    *out_text = out.buf.data ? cl_buf_steal(&out.buf) : NULL;
    cl_buf_free(&out.buf);
    return rc;
}

/* Cancels the call after 50 ms (a thread of its own). */
static void *cancel_later(void *arg)
{
    nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    cl_call_cancel(arg);
    return NULL;
}

/* A scratch directory holding symlinks to the given .so files (NULL-terminated pairs
   of link name and target). Returns a static path. */
static const char *link_dir(const char *name, const char *const *pairs)
{
    static char dir[2048];
    snprintf(dir, sizeof dir, "%s/%s", scratch, name);
    mkdir(dir, 0700);
    for (size_t i = 0; pairs[i]; i += 2) {
        char link[PATH_MAX];
        snprintf(link, sizeof link, "%s/%s", dir, pairs[i]);
        unlink(link);
        if (symlink(pairs[i + 1], link) != 0)
            fprintf(stderr, "symlink %s failed\n", link);
    }
    return dir;
}

/* Run a shell command, capture stdout (malloc'd, caller frees); returns the exit status. */
static int run_capture(const char *cmd, char **out)
{
    FILE *p = popen(cmd, "r");
    cl_buf b = CL_BUF_INIT;
    if (!p) {
        *out = NULL;
        return -1;
    }
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        cl_buf_append(&b, chunk, n);
    int st = pclose(p);
    *out = cl_buf_steal(&b);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ------------------------------------------------------------------------- */
/* refusals                                                                  */
/* ------------------------------------------------------------------------- */

static void test_refusals(void)
{
    char fp[256], major[64], minor[96], multi[128];
    snprintf(fp, sizeof fp, "fingerprint 'cl-abi1;ptr4;long4;1234', host '%s'", CL_BUILD_FINGERPRINT);
    snprintf(major, sizeof major, "ABI major %d, host %d", CL_ABI_MAJOR + 1, CL_ABI_MAJOR);
    snprintf(minor, sizeof minor, "ABI minor %d is newer than the host's %d", CL_ABI_MINOR + 1, CL_ABI_MINOR);
    snprintf(multi, sizeof multi, "%s; manifest_size 8, the manifest needs at least 56", major);
    const struct {
        const char *dir, *file, *reason;
    } cases[] = {
        {"no_entry", "no_entry.so", "no entry symbol cliploop_plugin_entry()"},
        {"bad_magic", "bad_magic.so", "wrong magic 0xdeadbeef, host 0x434c504c"},
        {"abi_major", "abi_major.so", major},
        {"abi_minor_newer", "abi_minor_newer.so", minor},
        {"small_manifest", "small_manifest.so",
         "manifest_size 8, the manifest needs at least 56 (build the manifest with CL_MANIFEST_INIT"},
        {"multi_mismatch", "multi_mismatch.so", multi},
        {"bad_fingerprint", "bad_fingerprint.so", NULL /* fp */},
        {"no_name", "no_name.so", "manifest has no name"},
        {"no_init", "no_init.so", "manifest has no init function"},
        {"init_fails", "init_fails.so",
         "init failed with CL_EUPSTREAM (-5): fixture: backend unreachable"},
        {"null_callback", "null_callback.so",
         "billing_provider 'nullbill': required callback 'verify_webhook' is NULL"},
        {"null_send", "null_send.so", "mailer 'nosend': required callback 'send' is NULL"},
        {"small_cap", "small_cap.so", "renderer 'tiny': size 48 is smaller than the renderer minimum 56"},
        {"empty_id", "empty_id.so", "llm_provider capability has no id"},
        {"not_elf", "not_elf.so", "dlopen failed: "},
        {"missing_dep", "missing_dep.so", "dlopen failed: libcl_fixture_dep.so: cannot open shared object"},
        {"dup_name", "dup_name_b.so", "duplicate plugin name 'dup_name' (already loaded from dup_name_a.so)"},
        {"dup_cap", "dup_cap_b.so",
         "duplicate llm_provider id 'same' (already registered by plugin 'dup_cap_a')"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int two = strcmp(cases[i].dir, "dup_name") == 0 || strcmp(cases[i].dir, "dup_cap") == 0;
        int rc = load_fresh(fixture_dir(cases[i].dir));
        CHECK(rc == (two ? 1 : 0));
        CHECK(cl_plugins_count() == (two ? 2u : 1u));
        const cl_plugin_info *info = info_of(cases[i].file);
        CHECK(info != NULL);
        if (!info)
            continue;
        CHECK(!info->loaded);
        CHECK(info->n_caps == 0);
        CHECK(contains(info->reason, cases[i].reason ? cases[i].reason : fp));
    }

    /* the ABI fields are reported even when refused */
    load_fresh(fixture_dir("abi_minor_newer"));
    const cl_plugin_info *info = info_of("abi_minor_newer.so");
    CHECK(info && info->abi_major == CL_ABI_MAJOR && info->abi_minor == CL_ABI_MINOR + 1 && info->name == NULL);

    /* a failed init keeps none of its capabilities, even ones registered before it failed */
    load_fresh(fixture_dir("init_fails"));
    CHECK(cl_plugins_find(CL_CAP_LLM_PROVIDER, "doomed") == NULL);
    load_fresh(fixture_dir("null_callback"));
    CHECK(cl_plugins_find(CL_CAP_LLM_PROVIDER, "nullcb_ok") == NULL);
    CHECK(cl_plugins_find(CL_CAP_BILLING_PROVIDER, "nullbill") == NULL);

    /* the winner of a duplicate keeps its capability and stays usable */
    load_fresh(fixture_dir("dup_cap"));
    const cl_capability *same = cl_plugins_find(CL_CAP_LLM_PROVIDER, "same");
    CHECK(same && strcmp(same->description, "dup_cap_a") == 0);
    info = info_of("dup_cap_a.so");
    CHECK(info && info->loaded && info->n_caps == 1);

    /* an unreadable directory */
    cl_plugins_reset_for_tests();
    CHECK(cl_plugins_load_dir("/nonexistent/cliploop-plugins") == -1);
    CHECK(cl_plugins_count() == 0);
}

/* The trust boundary: a directory or .so that someone else could write (or
   that someone else owns) is refused before dlopen runs any of its code. */
static void test_untrusted_files(void)
{
    char dir[PATH_MAX], so[PATH_MAX + 16], src[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/trust", scratch);
    mkdir(dir, 0755);
    chmod(dir, 0755);
    snprintf(so, sizeof so, "%s/good.so", dir);
    snprintf(src, sizeof src, "%s/good.so", fixture_dir("good"));
    copy_file(src, so);
    chmod(so, 0755);
    CHECK(load_fresh(dir) == 1);

    /* A world-writable file: refused with the reason, nothing of it runs. */
    chmod(so, 0757);
    CHECK(load_fresh(dir) == 0);
    const cl_plugin_info *i = info_of("good.so");
    CHECK(i && !i->loaded && contains(i->reason, "writable by others (mode 0757)"));
    CHECK(i && i->name == NULL); /* refused before the manifest was read */
    chmod(so, 0755);

    /* A world-writable directory: nothing loaded from it. */
    chmod(dir, 0777);
    CHECK(load_fresh(dir) == -1);
    CHECK(cl_plugins_count() == 0);
    chmod(dir, 01777); /* sticky /tmp-style: still writable by others */
    CHECK(load_fresh(dir) == -1);
    chmod(dir, 0755);
    CHECK(load_fresh(dir) == 1);

    /* Owned by someone else (only root can arrange that here). */
    if (geteuid() == 0) {
        CHECK(chown(so, 4242, 4242) == 0);
        CHECK(load_fresh(dir) == 0);
        i = info_of("good.so");
        CHECK(i && !i->loaded && contains(i->reason, "owned by uid 4242"));
        CHECK(chown(so, 0, 0) == 0);
        CHECK(chown(dir, 4242, 4242) == 0);
        CHECK(load_fresh(dir) == -1);
        CHECK(chown(dir, 0, 0) == 0);
        /* Group-writable by a group that is neither ours nor root's. */
        CHECK(chown(so, 0, 4242) == 0);
        chmod(so, 0775);
        CHECK(load_fresh(dir) == 0);
        chmod(so, 0755);
        CHECK(load_fresh(dir) == 1);
    }
    cl_plugins_reset_for_tests();
}

/* One refusal is one log line, naming the file and the reason. */
static void test_refusal_log_line(void)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/stderr.log", scratch);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    CHECK(saved >= 0 && fd >= 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
    load_fresh(fixture_dir("small_cap"));
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);

    FILE *f = fopen(path, "r");
    char line[2048];
    int lines = 0, matching = 0;
    while (f && fgets(line, sizeof line, f)) {
        lines++;
        if (strstr(line, "ERROR") && strstr(line, "small_cap.so") &&
            strstr(line, "renderer 'tiny': size 48 is smaller than the renderer minimum 56"))
            matching++;
    }
    if (f)
        fclose(f);
    CHECK(lines == 1);
    CHECK(matching == 1);
}

/* ------------------------------------------------------------------------- */
/* good plugins, host services                                               */
/* ------------------------------------------------------------------------- */

static int64_t progress_done, progress_total;
static int progress_calls;
static void on_progress(void *arg, int64_t done, int64_t total)
{
    (void)arg;
    progress_done = done;
    progress_total = total;
    progress_calls++;
}

/* One overlap-probe render of the "noop" renderer through the host's call wrapper. */
static void *render_probe(void *arg)
{
    const cl_renderer *r = (const cl_renderer *)cl_plugins_find(CL_CAP_RENDERER, "noop");
    cl_call call;
    cl_call_init(&call, NULL, NULL);
    cl_render_request rq = {.size = sizeof rq, .work_dir = "overlap-probe"};
    cl_error err;
    *(int *)arg = CL_CAP_CALL(r, &err, render, &call, &rq, &err);
    return NULL;
}

static void test_good_plugin(void)
{
    CHECK(load_fresh(fixture_dir("good")) == 1);
    const cl_plugin_info *info = info_of("good.so");
    CHECK(info && info->loaded && info->reason == NULL);
    if (info) {
        CHECK_STR(info->name, "good");
        CHECK_STR(info->version, "1.2.3");
        CHECK(info->abi_major == CL_ABI_MAJOR && info->abi_minor == CL_ABI_MINOR);
        CHECK(info->n_caps == 2);
    }
    const cl_capability *c0 = cl_plugins_cap_at(0, 0), *c1 = cl_plugins_cap_at(0, 1);
    CHECK(c0 && c0->kind == CL_CAP_LLM_PROVIDER && strcmp(c0->id, "echo") == 0);
    CHECK(c1 && c1->kind == CL_CAP_RENDERER && strcmp(c1->id, "noop") == 0);
    CHECK(cl_plugins_cap_at(0, 2) == NULL);
    CHECK(c1 && (c1->flags & CL_CAP_SERIALIZED));
    CHECK_STR(cl_cap_kind_name(CL_CAP_BILLING_PROVIDER), "billing_provider");
    CHECK(cl_cap_kind_name(99) == NULL);

    /* found by kind and id only */
    const cl_capability *echo = cl_plugins_find(CL_CAP_LLM_PROVIDER, "echo");
    CHECK(echo == c0);
    CHECK(cl_plugins_find(CL_CAP_RENDERER, "echo") == NULL);
    CHECK(cl_plugins_find(CL_CAP_LLM_PROVIDER, "nope") == NULL);
    CHECK(cl_plugins_find(CL_CAP_LLM_PROVIDER, NULL) == NULL);

    /* config_get reads GOOD_<key>; temp_dir is <storage>/tmp/good and exists */
    plugin_setenv("GOOD_GREETING", "hi there");
    char *text = NULL;
    cl_error err;
    cl_llm_usage usage = {.size = sizeof usage};
    CHECK(echo && complete(echo, NULL, "chat", "ping", 0, &text, &usage, &err) == CL_OK);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "echo|ping|hi there|%s/tmp/good", cl_cfg.storage_dir);
    CHECK_STR(text, want);
    CHECK_STR(usage.model, "echo-1");
    free(text);
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/tmp/good", cl_cfg.storage_dir);
    struct stat st;
    CHECK(stat(tmp, &st) == 0 && S_ISDIR(st.st_mode));
    /* a changed value is seen; the string handed out earlier stays valid */
    plugin_setenv("GOOD_GREETING", "hello again");
    CHECK(echo && complete(echo, NULL, "chat", "x", 0, &text, NULL, &err) == CL_OK);
    snprintf(want, sizeof want, "echo|x|hello again|%s/tmp/good", cl_cfg.storage_dir);
    CHECK_STR(text, want);
    free(text);
    plugin_setenv("GOOD_GREETING", NULL);
    CHECK(echo && complete(echo, NULL, "chat", "y", 0, &text, NULL, &err) == CL_OK);
    CHECK(contains(text, "echo|y|(null)|"));
    free(text);

    /* configuration is a snapshot taken at load: a change the host did not
       re-read is not seen (the host never takes getenv's lock per call) */
    setenv("GOOD_GREETING", "changed behind the host's back", 1);
    CHECK(echo && complete(echo, NULL, "chat", "z", 0, &text, NULL, &err) == CL_OK);
    CHECK(contains(text, "echo|z|(null)|"));
    free(text);
    plugin_setenv("GOOD_GREETING", NULL);

    /* config_int / config_bool: one parse rule for every plugin */
    static const struct {
        const char *number, *flag, *want;
    } cfgs[] = {
        {NULL, NULL, "int=7|bool=1"},           /* unset: the defaults */
        {"", "", "int=7|bool=1"},               /* empty: the defaults */
        {" 42 ", "off", "int=42|bool=0"},       /* spaces around are fine */
        {"-5", "YES", "int=-5|bool=1"},         /* sign, any case */
        {"12abc", "maybe", "int=7|bool=1"},     /* not a number / boolean: default (and a warning) */
        {"99999999999999999999", "0", "int=7|bool=0"}, /* out of range: default */
        {"0x10", "false", "int=7|bool=0"},      /* base 10 only */
    };
    for (size_t i = 0; i < sizeof cfgs / sizeof *cfgs; i++) {
        plugin_setenv("GOOD_NUMBER", cfgs[i].number);
        plugin_setenv("GOOD_FLAG", cfgs[i].flag);
        CHECK(echo && complete(echo, NULL, "chat", "config", 0, &text, NULL, &err) == CL_OK);
        CHECK_STR(text, cfgs[i].want);
        free(text);
    }
    plugin_setenv("GOOD_NUMBER", NULL);
    plugin_setenv("GOOD_FLAG", NULL);

    /* sleep(call, ms) returns CL_ECANCELLED once the call is cancelled (here:
       before the 10 s are up), and at once for an already cancelled call */
    cl_call sleeper;
    cl_call_init(&sleeper, NULL, NULL);
    pthread_t canceller;
    CHECK(pthread_create(&canceller, NULL, cancel_later, &sleeper) == 0);
    CHECK(echo && complete(echo, &sleeper, "chat", "sleep", 0, &text, NULL, &err) == CL_ECANCELLED);
    free(text);
    pthread_join(canceller, NULL);
    CHECK(echo && complete(echo, &sleeper, "chat", "sleep", 0, &text, NULL, &err) == CL_ECANCELLED);
    free(text);
    const cl_host_api *host = cl_host_api_get();
    CHECK(host->sleep(NULL, 1) == CL_OK);

    /* cl_llm_complete: the host's one way to ask a provider */
    cl_llm_request lr = {.size = sizeof lr, .purpose = "chat", .prompt = "ping"};
    cl_llm_usage lu;
    size_t llen = 0;
    CHECK(cl_llm_complete(NULL, "echo", &lr, &text, &llen, &lu, &err) == CL_OK);
    CHECK(text && contains(text, "echo|ping|") && llen == strlen(text));
    CHECK_STR(lu.model, "echo-1");
    free(text);
    lr.prompt = "empty";
    CHECK(cl_llm_complete(NULL, "echo", &lr, &text, NULL, NULL, &err) == CL_EMALFORMED);
    CHECK(text == NULL && err.code == CL_EMALFORMED && contains(err.message, "empty answer"));
    CHECK(cl_llm_complete(NULL, "nope", &lr, &text, NULL, NULL, &err) == CL_EUNSUPPORTED);
    CHECK(text == NULL && contains(err.message, "LLM_PROVIDER=nope"));
    lr.prompt = "fail-silently"; /* the provider's own status comes back, with the wrapper's message */
    CHECK(cl_llm_complete(NULL, "echo", &lr, &text, NULL, NULL, &err) == CL_EUPSTREAM);
    CHECK(text == NULL && err.code == CL_EUPSTREAM);
    CHECK(host->sleep(NULL, 0) == CL_OK);

    /* renderer: self handed back, progress and cancellation through cl_call */
    const cl_renderer *r = (const cl_renderer *)cl_plugins_find(CL_CAP_RENDERER, "noop");
    CHECK(r != NULL);
    if (r) {
        cl_call call;
        cl_call_init(&call, on_progress, NULL);
        cl_render_request rq = {.size = sizeof rq};
        CHECK(CL_CAP_CALL(r, &err, render, &call, &rq, &err) == CL_OK);
        CHECK(progress_calls == 2 && progress_done == 2 && progress_total == 2);
        cl_call_cancel(&call);
        CHECK(CL_CAP_CALL(r, &err, render, &call, &rq, &err) == CL_ECANCELLED);
        CHECK(err.code == CL_ECANCELLED && err.size == sizeof err);
        CHECK(progress_calls == 3 && progress_done == 1);
    }

    /* errors travel one way: a plugin that returns a code without filling
       err still hands the caller that code and a message naming it */
    CHECK(echo && complete(echo, NULL, "chat", "fail-silently", 0, &text, NULL, &err) == CL_EUPSTREAM);
    free(text);
    CHECK(err.code == CL_EUPSTREAM);
    CHECK_STR(err.message, "llm_provider 'echo' failed with CL_EUPSTREAM and gave no reason");

    /* CL_CAP_SERIALIZED is kept by the host: four threads calling "noop" at
       once never overlap inside it */
    if (r) {
        pthread_t t[4];
        int rcs[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, render_probe, &rcs[i]);
        for (int i = 0; i < 4; i++) {
            pthread_join(t[i], NULL);
            CHECK(rcs[i] == CL_OK);
        }
    }
}

static void test_registration_rules(void)
{
    /* registering after init returned is refused, and nothing is added */
    CHECK(load_fresh(fixture_dir("late_register")) == 1);
    const cl_capability *late = cl_plugins_find(CL_CAP_LLM_PROVIDER, "late");
    char *text = NULL;
    cl_error err;
    CHECK(late && complete(late, NULL, "chat", "x", 0, &text, NULL, &err) == CL_OK);
    char want[64];
    snprintf(want, sizeof want, "register=%d;config=(null)", CL_EINVAL);
    CHECK_STR(text, want); /* and: no config_prefix -> config_get is always NULL */
    free(text);
    CHECK(cl_plugins_find(CL_CAP_LLM_PROVIDER, "late_extra") == NULL);
    const cl_plugin_info *info = info_of("late_register.so");
    CHECK(info && info->loaded && info->n_caps == 1);
    /* …and kept on that plugin's record, so the listing names it there */
    CHECK(info && info->late_count == 1 && contains(info->late_error, "capability 'late_extra'"));

    /* register with no plugin context at all */
    cl_llm_provider p = {.base = {.kind = CL_CAP_LLM_PROVIDER, .id = "x"}};
    CHECK(cl_host_api_get()->register_capability(NULL, &p.base, sizeof p) == CL_EINVAL);

    /* a struct larger than the host's: the host keeps what it knows */
    CHECK(load_fresh(fixture_dir("big_cap")) == 1);
    const cl_capability *big = cl_plugins_find(CL_CAP_LLM_PROVIDER, "big");
    CHECK(big && big->size == sizeof(cl_llm_provider));
    CHECK(big && complete(big, NULL, "chat", "x", 0, &text, NULL, &err) == CL_OK);
    free(text);

    /* the size rule itself: copy min(size, host size), zero the rest */
    unsigned char src[32];
    memset(src, 0xab, sizeof src);
    unsigned char *copy = cl_plugins_copy_sized(src, 8, 24);
    CHECK(copy != NULL);
    if (copy) {
        int head = 1, tail = 1;
        for (int i = 0; i < 8; i++)
            head &= copy[i] == 0xab;
        for (int i = 8; i < 24; i++)
            tail &= copy[i] == 0;
        CHECK(head && tail);
        free(copy);
    }
    copy = cl_plugins_copy_sized(src, sizeof src, 16); /* larger: truncated, no overread */
    CHECK(copy && copy[15] == 0xab);
    free(copy);

    CHECK_STR(cl_plugins_status_name(CL_ECANCELLED), "CL_ECANCELLED");
    CHECK_STR(cl_plugins_status_name(5), "unknown status");
}

static void test_host_api(void)
{
    const cl_host_api *api = cl_host_api_get();
    CHECK(api->size == sizeof(cl_host_api));
    CHECK(api->abi_major == CL_ABI_MAJOR && api->abi_minor == CL_ABI_MINOR);
    /* every service of this minor is present: plugins never test for one */
    CHECK(api->log && api->config_get && api->register_capability && api->http_do &&
          api->http_response_free && api->temp_dir && api->asset_dir && api->cancelled &&
          api->progress && api->output_append);

    CHECK_STR(api->asset_dir(NULL), cl_cfg.asset_dir);
    CHECK(api->cancelled(NULL) == 0);
    api->progress(NULL, 1, 2); /* no call: ignored */
    cl_output out = {CL_BUF_INIT, 4};
    CHECK(api->output_append(&out, "abc", 3) == CL_OK);
    CHECK(api->output_append(&out, "de", 2) == CL_ENOMEM); /* over the limit */
    CHECK(out.buf.len == 3);
    cl_buf_free(&out.buf);
    cl_http_response res = {.size = sizeof res};
    api->http_response_free(&res); /* safe on a zeroed response */

    /* cl_error_set fills code and message and returns the code */
    cl_error e = CL_ERROR_INIT;
    CHECK(e.size == sizeof e && e.code == 0);
    CHECK(cl_error_set(&e, CL_EMALFORMED, "bad %s", "shape") == CL_EMALFORMED);
    CHECK(e.code == CL_EMALFORMED);
    CHECK_STR(e.message, "bad shape");
    CHECK(cl_error_set(NULL, CL_ETOOLARGE, "x") == CL_ETOOLARGE);
    CHECK_STR(cl_plugins_status_name(CL_ETOOLARGE), "CL_ETOOLARGE");
}

static void test_selection(void)
{
    char err[512];
    char saved[sizeof cl_cfg.llm_provider], saved_storage[sizeof cl_cfg.storage], saved_r[sizeof cl_cfg.renderer];
    memcpy(saved, cl_cfg.llm_provider, sizeof saved);
    memcpy(saved_storage, cl_cfg.storage, sizeof saved_storage);
    memcpy(saved_r, cl_cfg.renderer, sizeof saved_r);
    load_fresh(fixture_dir("good"));
    snprintf(cl_cfg.llm_provider, sizeof cl_cfg.llm_provider, "echo");
    snprintf(cl_cfg.renderer, sizeof cl_cfg.renderer, "noop");
    /* STORAGE must name a loaded storage backend: the fixture has none */
    snprintf(cl_cfg.storage, sizeof cl_cfg.storage, "local");
    CHECK(cl_plugins_check_selection(err, sizeof err) == -1);
    CHECK_STR(err, "STORAGE=local: no loaded plugin provides a storage backend named 'local' (available: none)");
    cl_cfg.storage[0] = '\0'; /* only a zeroed test config has no STORAGE */
    /* TTS_PROVIDER likewise (default espeak), unless it is none */
    snprintf(cl_cfg.tts_provider, sizeof cl_cfg.tts_provider, "espeak");
    CHECK(cl_plugins_check_selection(err, sizeof err) == -1);
    CHECK_STR(err, "TTS_PROVIDER=espeak: no loaded plugin provides a tts engine named 'espeak' (available: none)");
    snprintf(cl_cfg.tts_provider, sizeof cl_cfg.tts_provider, "none");
    CHECK(cl_plugins_check_selection(err, sizeof err) == 0);
    cl_cfg.tts_provider[0] = '\0'; /* a zeroed test config; the fixtures below have no tts engine either */
    CHECK(cl_plugins_check_selection(err, sizeof err) == 0);
    /* RENDERER is checked at start-up too (a typo stops the start) */
    snprintf(cl_cfg.renderer, sizeof cl_cfg.renderer, "ffmpge");
    CHECK(cl_plugins_check_selection(err, sizeof err) == -1);
    CHECK_STR(err, "RENDERER=ffmpge: no loaded plugin provides a renderer named 'ffmpge' (available: noop)");
    snprintf(cl_cfg.renderer, sizeof cl_cfg.renderer, "noop");
    snprintf(cl_cfg.llm_provider, sizeof cl_cfg.llm_provider, "foo");
    CHECK(cl_plugins_check_selection(err, sizeof err) == -1);
    CHECK_STR(err, "LLM_PROVIDER=foo: no loaded plugin provides an llm_provider named 'foo' "
                   "(available: echo)");
    load_fresh(fixture_dir("bad_magic"));
    CHECK(cl_plugins_check_selection(err, sizeof err) == -1);
    CHECK(contains(err, "(available: none)"));
    memcpy(cl_cfg.llm_provider, saved, sizeof saved);
    memcpy(cl_cfg.storage, saved_storage, sizeof saved_storage);
    memcpy(cl_cfg.renderer, saved_r, sizeof saved_r);
}

/* ------------------------------------------------------------------------- */
/* llm_mock                                                                  */
/* ------------------------------------------------------------------------- */

static cJSON *parse_obj(const char *text)
{
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    if (!cJSON_IsObject(j)) {
        fprintf(stderr, "  not a JSON object: %s\n", text ? text : "(null)");
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static int has_keys(const cJSON *o, const char *const *keys)
{
    int ok = 1;
    for (; *keys; keys++)
        if (!cJSON_HasObjectItem(o, *keys)) {
            fprintf(stderr, "  missing key %s\n", *keys);
            ok = 0;
        }
    return ok;
}

static void test_llm_mock(void)
{
    char target[PATH_MAX];
    snprintf(target, sizeof target, "%s/llm_mock.so", plugin_dir);
    const char *dir = link_dir("mock", (const char *const[]){"llm_mock.so", target, NULL});
    CHECK(load_fresh(dir) == 1);
    const cl_capability *mock = cl_plugins_find(CL_CAP_LLM_PROVIDER, "mock");
    CHECK(mock != NULL);
    if (!mock)
        return;
    const char *p1 = "Bakery in Lagos selling jollof pies and chin chin, promote on TikTok",
               *p2 = "Barber shop fades and beard trims, weekend discount";
    char *a = NULL, *b = NULL, *c = NULL;
    cl_error err;
    cl_llm_usage usage = {.size = sizeof usage};

    /* brief: deterministic, different input -> different bytes, right shape */
    CHECK(complete(mock, NULL, "brief", p1, 1, &a, &usage, &err) == CL_OK);
    CHECK(complete(mock, NULL, "brief", p1, 1, &b, NULL, &err) == CL_OK);
    CHECK(complete(mock, NULL, "brief", p2, 1, &c, NULL, &err) == CL_OK);
    CHECK(a && b && strcmp(a, b) == 0);
    CHECK(a && c && strcmp(a, c) != 0);
    CHECK_STR(usage.model, "mock-1");
    CHECK(usage.prompt_tokens > 0 && usage.completion_tokens > 0);
    cJSON *j = parse_obj(a);
    CHECK(j && has_keys(j, (const char *const[]){"title", "channel", "tone", "duration_seconds",
                                                 "style", "cta", "caption_hint", "audience",
                                                 "offer", NULL}));
    CHECK(j && cJSON_IsNumber(cJSON_GetObjectItem(j, "duration_seconds")));
    CHECK(j && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "channel")), "tiktok") == 0);
    cJSON_Delete(j);
    free(a);
    free(b);
    free(c);

    /* the words come from the prompt */
    CHECK(complete(mock, NULL, "brief", "jollof jollof rice", 1, &a, NULL, &err) == CL_OK);
    j = parse_obj(a);
    const char *title = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "title")) : NULL;
    CHECK(title && (strcasestr(title, "jollof") || strcasestr(title, "rice")));
    cJSON_Delete(j);
    free(a);

    /* a different system prompt or message history changes the answer too */
    CHECK(complete(mock, NULL, "promo_draft", p1, 1, &a, NULL, &err) == CL_OK);
    CHECK(complete(mock, NULL, "regenerate", p1, 1, &b, NULL, &err) == CL_OK);
    CHECK(a && b && strcmp(a, b) != 0);
    j = parse_obj(a);
    CHECK(j && has_keys(j, (const char *const[]){"hook", "script", "caption", "cta", "caption_hint",
                                                 "hashtags", "variants", NULL}));
    CHECK(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "script")) >= 3);
    CHECK(j && cJSON_IsArray(cJSON_GetObjectItem(j, "hashtags")));
    cJSON *v = j ? cJSON_GetObjectItem(j, "variants") : NULL;
    CHECK(v && has_keys(v, (const char *const[]){"instagram", "tiktok", "whatsapp", NULL}));
    cJSON_Delete(j);
    j = parse_obj(b);
    CHECK(j && has_keys(j, (const char *const[]){"hook", "script", "variants", NULL}));
    cJSON_Delete(j);
    free(a);
    free(b);

    /* chat: JSON reply, or plain text */
    CHECK(complete(mock, NULL, "chat", p2, 1, &a, NULL, &err) == CL_OK);
    j = parse_obj(a);
    CHECK(j && cJSON_IsString(cJSON_GetObjectItem(j, "reply")));
    cJSON_Delete(j);
    free(a);
    CHECK(complete(mock, NULL, "chat", p2, 0, &a, NULL, &err) == CL_OK);
    CHECK(a && a[0] != '{' && strlen(a) > 10);
    free(a);

    /* posts (count from the prompt), iteration, unknown */
    CHECK(complete(mock, NULL, "posts", "Plan 3 posts for the bakery", 1, &a, NULL, &err) == CL_OK);
    j = parse_obj(a);
    CHECK(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "posts")) == 3);
    cJSON_Delete(j);
    free(a);
    /* iteration: grounded in the scored posts the prompt lists (iteration.lua's format) */
    static const char *const it_prompt =
        "Week of 2026-11-23. Scores: revenue*100 + signups*20 + clicks*2 + ctr*5 (revenue in NGN).\n"
        "Scored posts, best first:\n"
        "[item 7] class=winner score=44 clicks=12 signups=1 conversions=1 revenue=0 views=unknown ctr=unknown"
        " channel=instagram position=1\n"
        "  hook: Jollof trays for the office\n"
        "  angle: offer\n"
        "[item 9] class=loser score=0 clicks=0 signups=0 conversions=0 revenue=0 views=unknown ctr=unknown"
        " channel=whatsapp position=2\n"
        "  hook: Meet the chef\n"
        "  angle: behind_the_scenes\n"
        "At least 5 entries in all.\n";
    CHECK(complete(mock, NULL, "iteration", it_prompt, 1, &a, NULL, &err) == CL_OK);
    j = parse_obj(a);
    CHECK(j && has_keys(j, (const char *const[]){"summary", "hooks", "angles", "recommendations", NULL}));
    const char *summary = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "summary")) : NULL;
    CHECK(summary && strstr(summary, "Jollof trays for the office") && strstr(summary, "12 clicks"));
    cJSON *h0 = j ? cJSON_GetArrayItem(cJSON_GetObjectItem(j, "hooks"), 0) : NULL;
    CHECK(h0 && cJSON_GetNumberValue(cJSON_GetObjectItem(h0, "item_id")) == 7);
    CHECK(h0 && strstr(cJSON_GetStringValue(cJSON_GetObjectItem(h0, "hook")), "Jollof trays for the office"));
    cJSON *a0 = j ? cJSON_GetArrayItem(cJSON_GetObjectItem(j, "angles"), 0) : NULL;
    CHECK(a0 && cJSON_GetNumberValue(cJSON_GetObjectItem(a0, "item_id")) == 9);
    CHECK(a0 && !strncmp(cJSON_GetStringValue(cJSON_GetObjectItem(a0, "angle")), "product", 7));
    cJSON_Delete(j);
    free(a);
    CHECK(complete(mock, NULL, "something_else", "quote \" backslash \\ tab\t", 1, &a, NULL, &err) ==
          CL_OK);
    j = parse_obj(a);
    CHECK(j && cJSON_IsString(cJSON_GetObjectItem(j, "text")));
    cJSON_Delete(j);
    free(a);

    /* injected failures (LLM_MOCK_FAIL) and cancellation */
    plugin_setenv("LLM_MOCK_FAIL", "rate_limit");
    CHECK(complete(mock, NULL, "brief", p1, 1, &a, NULL, &err) == CL_ERATELIMIT);
    CHECK(err.code == CL_ERATELIMIT && err.http_status == 429 && err.retry_after_ms > 0);
    CHECK(contains(err.message, "rate_limit"));
    CHECK(a == NULL);
    free(a);
    plugin_setenv("LLM_MOCK_FAIL", "auth");
    CHECK(complete(mock, NULL, "brief", p1, 1, &a, NULL, &err) == CL_EAUTH);
    CHECK(err.http_status == 401);
    free(a);
    plugin_setenv("LLM_MOCK_FAIL", "upstream");
    CHECK(complete(mock, NULL, "brief", p1, 1, &a, NULL, &err) == CL_EUPSTREAM);
    free(a);
    plugin_setenv("LLM_MOCK_FAIL", "sometimes");
    CHECK(complete(mock, NULL, "brief", p1, 1, &a, NULL, &err) == CL_EINVAL);
    CHECK(contains(err.message, "LLM_MOCK_FAIL=sometimes"));
    free(a);
    plugin_setenv("LLM_MOCK_FAIL", NULL);

    /* LLM_MOCK_DELAY_MS: waits, reporting progress through the call */
    plugin_setenv("LLM_MOCK_DELAY_MS", "30");
    cl_call slow;
    cl_call_init(&slow, on_progress, NULL);
    progress_calls = 0;
    CHECK(complete(mock, &slow, "brief", p1, 1, &a, NULL, &err) == CL_OK);
    CHECK(progress_calls == 3 && progress_done == 30 && progress_total == 30);
    free(a);
    plugin_setenv("LLM_MOCK_DELAY_MS", NULL);

    cl_call call;
    cl_call_init(&call, NULL, NULL);
    cl_call_cancel(&call);
    CHECK(complete(mock, &call, "brief", p1, 1, &a, NULL, &err) == CL_ECANCELLED);
    CHECK(a == NULL);
    free(a);
}

/* ------------------------------------------------------------------------- */
/* the SDK example, built out of tree against sdk/ alone                     */
/* ------------------------------------------------------------------------- */

/* Install the SDK (header only) into scratch/prefix, copy the example
   directory away from the source tree and build it with its own Makefile
   against the installed header. Returns 0 when the .so was built into dir. */
static int build_example(const char *example, const char *dir)
{
    char cmd[6 * PATH_MAX];
    snprintf(cmd, sizeof cmd,
             "cmake --install '%s' --component sdk --prefix '%s/prefix' >/dev/null && "
             "rm -rf '%s' && cp -r '%s/sdk/examples/%s' '%s' && rm -f '%s'/*.so && "
             "make -s -C '%s' SDK='%s/prefix/include/cliploop' CFLAGS='-std=c11 -Wall -Wextra -Werror' "
             ">/dev/null && rm -f '%s'/*.c '%s/Makefile'",
             build_dir, scratch, dir, source_dir, example, dir, dir, dir, scratch, dir, dir);
    return system(cmd);
}

static void test_sdk_example(void)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/sdk-example", scratch);
    int st = build_example("hello_llm", dir);
    CHECK(st == 0);
    if (st != 0)
        return;
    CHECK(load_fresh(dir) == 1);
    const cl_capability *hello = cl_plugins_find(CL_CAP_LLM_PROVIDER, "hello");
    CHECK(hello != NULL);
    char *text = NULL;
    cl_error err;
    plugin_setenv("HELLO_GREETING", "Howdy");
    CHECK(hello && complete(hello, NULL, "chat", "what is new?", 0, &text, NULL, &err) == CL_OK);
    CHECK_STR(text, "Howdy! You asked: what is new?");
    free(text);
    plugin_setenv("HELLO_GREETING", NULL);
    CHECK(hello && complete(hello, NULL, "brief", "abcd", 1, &text, NULL, &err) == CL_OK);
    cJSON *j = parse_obj(text);
    CHECK(j != NULL);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "text")), "Hello! Your prompt has 4 bytes.");
    cJSON_Delete(j);
    free(text);
    /* the JSON answer uses the configured greeting too */
    plugin_setenv("HELLO_GREETING", "Howdy");
    CHECK(hello && complete(hello, NULL, "brief", "abcd", 1, &text, NULL, &err) == CL_OK);
    CHECK(contains(text, "\"Howdy! Your prompt has 4 bytes.\""));
    free(text);
    plugin_setenv("HELLO_GREETING", NULL);
    /* an error fills err itself (code and message), not only the return value */
    CHECK(hello && complete(hello, NULL, "chat", NULL, 0, &text, NULL, &err) == CL_EINVAL);
    free(text);
    CHECK(err.code == CL_EINVAL);
    CHECK_STR(err.message, "hello: prompt is required");
}

/* The whole file at path, NUL-terminated (malloc'd into *out); 0 or -1. */
static int read_file(const char *path, char **out)
{
    char quoted[PATH_MAX + 64];
    snprintf(quoted, sizeof quoted, "cat '%s'", path);
    return run_capture(quoted, out);
}

/* One publisher step through the host's call wrapper; *text is malloc'd or NULL. */
static int publisher_step(const cl_publisher *p, int step, const cl_publish_request *rq, const char *id,
                          char **text, cl_error *err)
{
    cl_call call;
    cl_call_init(&call, NULL, NULL);
    cl_output out = {CL_BUF_INIT, 0};
    int rc = step == 0   ? CL_CAP_CALL(p, err, create_container, &call, rq, &out, err)
             : step == 1 ? CL_CAP_CALL(p, err, container_status, &call, rq, id, &out, err)
             : step == 2 ? CL_CAP_CALL(p, err, publish_container, &call, rq, id, &out, err)
                         : CL_CAP_CALL(p, err, permalink, &call, rq, id, &out, err);
    *text = out.buf.data ? cl_buf_steal(&out.buf) : NULL;
    cl_buf_free(&out.buf);
    return rc;
}

/* The second SDK example: a publisher driven through the same steps as Instagram. */
static void test_sdk_publisher_example(void)
{
    char dir[PATH_MAX], pub_dir[1024], video[1024], path[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/sdk-publisher", scratch);
    int st = build_example("folder_publisher", dir);
    CHECK(st == 0);
    if (st != 0)
        return;
    CHECK(load_fresh(dir) == 1);
    const cl_publisher *p = (const cl_publisher *)cl_plugins_find(CL_CAP_PUBLISHER, "folder");
    CHECK(p != NULL);
    if (!p)
        return;
    snprintf(video, sizeof video, "%.900s/clip.mp4", scratch);
    FILE *f = fopen(video, "wb");
    CHECK(f && fputs("not really an mp4", f) >= 0 && fclose(f) == 0);
    cl_publish_request rq = {.size = sizeof rq, .channel = "folder", .video_path = video,
                             .caption = "Two plates, one price", .idempotency_key = "item:42:publish:1"};
    char *text = NULL;
    cl_error err;

    /* not configured: a clear refusal naming the setting */
    plugin_setenv("FOLDER_DIR", NULL);
    CHECK(publisher_step(p, 0, &rq, NULL, &text, &err) == CL_EUNSUPPORTED);
    CHECK(err.code == CL_EUNSUPPORTED && contains(err.message, "FOLDER_DIR"));
    free(text);

    snprintf(pub_dir, sizeof pub_dir, "%.900s/published", scratch);
    mkdir(pub_dir, 0700);
    plugin_setenv("FOLDER_DIR", pub_dir);
    CHECK(publisher_step(p, 0, &rq, NULL, &text, &err) == CL_OK);
    CHECK_STR(text, "{\"container_id\":\"item_42_publish_1\"}");
    free(text);
    CHECK(publisher_step(p, 1, &rq, "item_42_publish_1", &text, &err) == CL_OK);
    CHECK_STR(text, "{\"status\":\"FINISHED\"}");
    free(text);
    CHECK(publisher_step(p, 2, &rq, "item_42_publish_1", &text, &err) == CL_OK);
    CHECK_STR(text, "{\"media_id\":\"item_42_publish_1\"}");
    free(text);
    CHECK(publisher_step(p, 3, &rq, "item_42_publish_1", &text, &err) == CL_OK);
    snprintf(path, sizeof path, "{\"permalink\":\"file://%s/item_42_publish_1.mp4\"}", pub_dir);
    CHECK_STR(text, path);
    free(text);
    char *copy = NULL;
    snprintf(path, sizeof path, "%s/item_42_publish_1.mp4", pub_dir);
    CHECK(read_file(path, &copy) == 0 && copy && strcmp(copy, "not really an mp4") == 0);
    free(copy);
    snprintf(path, sizeof path, "%s/item_42_publish_1.txt", pub_dir);
    CHECK(read_file(path, &copy) == 0 && copy && strcmp(copy, "Two plates, one price") == 0);
    free(copy);
    /* an unknown container has expired */
    CHECK(publisher_step(p, 1, &rq, "nope", &text, &err) == CL_OK);
    CHECK_STR(text, "{\"status\":\"EXPIRED\"}");
    free(text);
    plugin_setenv("FOLDER_DIR", NULL);
}

/* ------------------------------------------------------------------------- */
/* cliploop plugins                                                          */
/* ------------------------------------------------------------------------- */

static void test_plugins_command(void)
{
    char good[PATH_MAX], magic[PATH_MAX], notelf[PATH_MAX], mock[PATH_MAX], local[PATH_MAX];
    snprintf(good, sizeof good, "%s/good.so", fixture_dir("good"));
    snprintf(magic, sizeof magic, "%s/bad_magic.so", fixture_dir("bad_magic"));
    snprintf(notelf, sizeof notelf, "%s/not_elf.so", fixture_dir("not_elf"));
    snprintf(mock, sizeof mock, "%s/llm_mock.so", plugin_dir);
    snprintf(local, sizeof local, "%s/storage_local.so", plugin_dir);
    const char *dir = link_dir("mixed", (const char *const[]){"d_good.so", good, "c_bad_magic.so",
                                                              magic, "a_not_elf.so", notelf,
                                                              "b_llm_mock.so", mock,
                                                              "e_storage_local.so", local, NULL});
    /* in-process: sorted by file name, one bad file does not stop the others */
    CHECK(load_fresh(dir) == 3);
    cl_plugin_info info;
    const char *order[] = {"a_not_elf.so", "b_llm_mock.so", "c_bad_magic.so", "d_good.so", "e_storage_local.so"};
    for (size_t i = 0; i < 5; i++)
        CHECK(cl_plugins_info_at(i, &info) == 0 && strcmp(info.file, order[i]) == 0);
    CHECK(cl_plugins_info_at(5, &info) == -1);

    char cmd[3 * PATH_MAX], *out = NULL;
    snprintf(cmd, sizeof cmd, "'%s/cliploop' plugins --json --dir '%s' 2>/dev/null", build_dir, dir);
    CHECK(run_capture(cmd, &out) == 0);
    cJSON *j = parse_obj(out);
    cJSON *plugins = j ? cJSON_GetObjectItem(j, "plugins") : NULL;
    cJSON *refused = j ? cJSON_GetObjectItem(j, "refused") : NULL;
    CHECK(cJSON_GetArraySize(plugins) == 3 && cJSON_GetArraySize(refused) == 2);
    cJSON *p0 = cJSON_GetArrayItem(plugins, 0), *p1 = cJSON_GetArrayItem(plugins, 1);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(p0, "name")), "llm_mock");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(p0, "file")), "b_llm_mock.so");
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(p0, "abi_major")) == CL_ABI_MAJOR);
    cJSON *caps = cJSON_GetObjectItem(p1, "capabilities");
    CHECK(cJSON_GetArraySize(caps) == 2);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(caps, 1), "kind")),
              "renderer");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(caps, 1), "id")), "noop");
    cJSON *r1 = cJSON_GetArrayItem(refused, 1);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(r1, "file")), "c_bad_magic.so");
    CHECK(contains(cJSON_GetStringValue(cJSON_GetObjectItem(r1, "reason")), "wrong magic"));
    /* an author's --dir is not checked against the host's own LLM_PROVIDER/RENDERER */
    CHECK(cJSON_GetObjectItem(j, "selection") == NULL);
    cJSON_Delete(j);
    free(out);

    /* text form lists the capability and the refusal */
    snprintf(cmd, sizeof cmd, "'%s/cliploop' plugins --dir '%s' 2>/dev/null", build_dir, dir);
    CHECK(run_capture(cmd, &out) == 0);
    CHECK(contains(out, "llm_provider") && contains(out, "mock") && contains(out, "c_bad_magic.so: wrong magic"));
    free(out);

    /* an unreadable directory is exit 2; a bad argument too */
    snprintf(cmd, sizeof cmd, "'%s/cliploop' plugins --dir '%s/none' 2>/dev/null", build_dir, scratch);
    CHECK(run_capture(cmd, &out) == 2);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s/cliploop' plugins --bogus 2>/dev/null", build_dir);
    CHECK(run_capture(cmd, &out) == 2);
    free(out);
}

/* ------------------------------------------------------------------------- */
/* plugins --strict, late registration in the listing, llm-complete           */
/* ------------------------------------------------------------------------- */

/* Run `cliploop ARGS` (ARGS with %s for the directory); 1 when it exits with
   want_rc and its output (stdout, or stderr with err) contains want. */
static int command_says(const char *args, const char *dir, int err, int want_rc, const char *want)
{
    char a[2 * PATH_MAX], cmd[3 * PATH_MAX], *out = NULL;
    snprintf(a, sizeof a, args, dir);
    snprintf(cmd, sizeof cmd, "'%s/cliploop' %s %s", build_dir, a, err ? "2>&1 >/dev/null" : "2>/dev/null");
    int rc = run_capture(cmd, &out);
    int ok = rc == want_rc && (!want || contains(out, want));
    if (rc != want_rc)
        fprintf(stderr, "  `%s` exited %d, expected %d\n", cmd, rc, want_rc);
    free(out);
    return ok;
}

static void test_author_commands(void)
{
    /* a plugin that registers nothing loads, but is flagged; --strict fails */
    CHECK(command_says("plugins --dir '%s'", fixture_dir("empty"), 0, 0, "warning: registered no capability"));
    CHECK(command_says("plugins --strict --dir '%s'", fixture_dir("empty"), 0, 1, NULL));
    /* a refusal fails --strict; a clean directory passes it */
    CHECK(command_says("plugins --strict --dir '%s'", fixture_dir("bad_magic"), 1, 1, "--strict: 1 plugin file"));
    CHECK(command_says("plugins --strict --dir '%s'", fixture_dir("good"), 0, 0, "good 1.2.3"));
    /* a registration from a thread init did not wait for is listed under its plugin */
    char cmd[3 * PATH_MAX], *out = NULL;
    snprintf(cmd, sizeof cmd, "'%s/cliploop' plugins --json --strict --dir '%s' 2>/dev/null", build_dir,
             fixture_dir("late_thread"));
    CHECK(run_capture(cmd, &out) == 1);
    cJSON *j = parse_obj(out);
    cJSON *p0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "plugins"), 0);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(p0, "name")), "late_thread");
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(p0, "late_registrations")) == 1);
    CHECK(contains(cJSON_GetStringValue(cJSON_GetObjectItem(p0, "late_error")), "capability 'too_late'"));
    cJSON_Delete(j);
    free(out);

    /* llm-complete: one call, as the host makes it; --json checks the purpose's schema */
    const char *good = fixture_dir("good");
    CHECK(command_says("llm-complete --dir '%s' --provider echo 'one prompt'", good, 0, 0, "echo|one prompt|"));
    CHECK(command_says("llm-complete --dir '%s' --provider echo --purpose promo_draft --json x", good, 1, 3,
                       "the answer is not one JSON object"));
    CHECK(command_says("llm-complete --dir '%s' --provider mock --purpose promo_draft --json 'Jollof weekend'",
                       plugin_dir, 1, 0, "matching promo_draft.schema.json"));
    /* a failing call prints its status; an unknown provider is a usage error */
    CHECK(command_says("llm-complete --dir '%s' --provider echo fail-silently", good, 1, 1,
                       "echo failed with CL_EUPSTREAM (-5)"));
    CHECK(command_says("llm-complete --dir '%s' --provider nope x", good, 1, 2, "no loaded plugin"));
}

int main(void)
{
    build_dir = getenv("CLIPLOOP_BUILD_DIR");
    source_dir = getenv("CLIPLOOP_SOURCE_DIR");
    plugin_dir = getenv("CLIPLOOP_PLUGIN_DIR");
    if (!build_dir || !source_dir || !plugin_dir) {
        fprintf(stderr, "CLIPLOOP_BUILD_DIR, CLIPLOOP_SOURCE_DIR and CLIPLOOP_PLUGIN_DIR must be set\n");
        return 1;
    }
    snprintf(scratch, sizeof scratch, "%s/cl-test-plugins-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (scratch_with_storage(scratch) != 0)
        return 1;
    plugin_setenv("LLM_MOCK_FAIL", NULL);
    plugin_setenv("LLM_MOCK_DELAY_MS", NULL);
    char err[512];
    if (cl_config_load(err, sizeof err) != 0) {
        fprintf(stderr, "config: %s\n", err);
        return 1;
    }

    test_refusals();
    test_refusal_log_line();
    test_untrusted_files();
    test_good_plugin();
    test_registration_rules();
    test_host_api();
    test_selection();
    test_llm_mock();
    test_sdk_example();
    test_sdk_publisher_example();
    test_author_commands();
    test_plugins_command();
    cl_plugins_reset_for_tests();

    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", scratch);
    return unit_done("test_plugins");
}
