/* Configuration parsing: defaults, .env loading, errors naming the variable. */
#include "core/config.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The table (core/config_vars.c) is the one source: the loader's defaults
   are its values, and .env.example is exactly what it generates. */
static void test_table(void)
{
    char err[512];
    setenv("CLIPLOOP_ENV_FILE", "/dev/null", 1);
    for (size_t i = 0; i < cl_config_var_count; i++)
        if (cl_config_vars[i].type != CL_CFG_DOC)
            unsetenv(cl_config_vars[i].name);
    CHECK(cl_config_load(err, sizeof err) == 0);
    int checked = 0;
    for (size_t i = 0; i < cl_config_var_count; i++) {
        const cl_config_var *v = &cl_config_vars[i];
        const char *d = v->def ? v->def : v->shown ? v->shown : "";
        const void *field = (const char *)&cl_cfg + v->off;
        int ok = 1;
        if (v->type == CL_CFG_INT)
            ok = *(const int *)field == atol(d);
        else if (v->type == CL_CFG_SIZE)
            ok = *(const size_t *)field == (size_t)atol(d);
        else if (v->type == CL_CFG_BOOL)
            ok = *(const int *)field == (strcmp(d, "true") == 0);
        else if (v->type == CL_CFG_STR && strncmp(d, "<exe>", 5) != 0 && strcmp(v->name, "TTS_PROVIDER") &&
                 strcmp(v->name, "BILLING_PROVIDER"))
            ok = strcmp((const char *)field, d) == 0;
        if (!ok)
            fprintf(stderr, "FAIL default of %s is not the table's %s\n", v->name, d);
        CHECK(ok);
        checked += v->type != CL_CFG_DOC;
    }
    CHECK(checked >= 60);

    /* a value outside the table's range names the variable and the range */
    setenv("CLIPLOOP_HTTP_THREADS", "65", 1);
    CHECK(cl_config_load(err, sizeof err) == -1);
    CHECK_STR(err, "CLIPLOOP_HTTP_THREADS=65 is out of range (1..64)");
    unsetenv("CLIPLOOP_HTTP_THREADS");

    /* .env.example == `cliploop config-doc` */
    const char *src = getenv("CLIPLOOP_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/.env.example", src ? src : ".");
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    char *want = NULL, *got = NULL;
    size_t wlen = 0, glen = 0;
    FILE *w = open_memstream(&want, &wlen), *g = open_memstream(&got, &glen);
    int c;
    while (f && (c = fgetc(f)) != EOF)
        fputc(c, w);
    if (f)
        fclose(f);
    fclose(w);
    CHECK(cl_config_write_doc(g) == 0);
    fclose(g);
    int same = wlen == glen && memcmp(want, got, wlen) == 0;
    if (!same)
        fprintf(stderr, "FAIL .env.example differs from the table: run build/cliploop config-doc > .env.example\n");
    CHECK(same);
    free(want);
    free(got);
}

int main(void)
{
    char err[512];
    long n;
    int b;
    CHECK(cl_config_parse_int("PORT", "8080", 0, 65535, &n, err, sizeof err) == 0 && n == 8080);
    CHECK(cl_config_parse_int("PORT", "80x", 0, 65535, &n, err, sizeof err) == -1);
    CHECK_STR(err, "PORT=80x is not a whole number");
    CHECK(cl_config_parse_int("PORT", "", 0, 65535, &n, err, sizeof err) == -1);
    CHECK(cl_config_parse_int("PORT", "65536", 0, 65535, &n, err, sizeof err) == -1);
    CHECK_STR(err, "PORT=65536 is out of range (0..65535)");
    CHECK(cl_config_parse_bool("MOCK_MODE", "TRUE", &b, err, sizeof err) == 0 && b == 1);
    CHECK(cl_config_parse_bool("MOCK_MODE", "off", &b, err, sizeof err) == 0 && b == 0);
    CHECK(cl_config_parse_bool("MOCK_MODE", "perhaps", &b, err, sizeof err) == -1);
    CHECK_STR(err, "MOCK_MODE=perhaps is not a boolean (use true or false)");

    /* Defaults. */
    unsetenv("HOST");
    unsetenv("PORT");
    unsetenv("LLM_PROVIDER");
    setenv("CLIPLOOP_ENV_FILE", "/dev/null", 1);
    CHECK(cl_config_load(err, sizeof err) == 0);
    CHECK_STR(cl_cfg.host, "127.0.0.1");
    CHECK(cl_cfg.port == 3000);
    CHECK_STR(cl_cfg.llm_provider, "mock");
    CHECK(cl_cfg.max_body_bytes == 1u << 20);

    /* .env values apply, the environment wins over them. */
    char path[] = "/tmp/cliploop-env-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "# comment\nexport PORT=4100\nHOST = \"0.0.0.0\"\nLLM_PROVIDER='mistral'\n\n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    setenv("CLIPLOOP_ENV_FILE", path, 1);
    setenv("LLM_PROVIDER", "openai_compat", 1);
    CHECK(cl_config_load(err, sizeof err) == 0);
    CHECK(cl_cfg.port == 4100);
    CHECK_STR(cl_cfg.host, "0.0.0.0");
    CHECK_STR(cl_cfg.llm_provider, "openai_compat");

    /* A malformed .env line names the file and line. */
    FILE *f = fopen(path, "w");
    fputs("GOOD=1\nthis line is wrong\n", f);
    fclose(f);
    unsetenv("PORT");
    CHECK(cl_config_load(err, sizeof err) == -1);
    CHECK(strstr(err, ":2: expected NAME=value") != NULL);
    unlink(path);

    /* Bad values name the variable. */
    setenv("CLIPLOOP_ENV_FILE", "/dev/null", 1);
    setenv("PORT", "http", 1);
    CHECK(cl_config_load(err, sizeof err) == -1);
    CHECK(strstr(err, "PORT=http") != NULL);
    unsetenv("PORT");
    setenv("LLM_PROVIDER", "Mis tral", 1);
    CHECK(cl_config_load(err, sizeof err) == -1);
    CHECK(strstr(err, "LLM_PROVIDER=Mis tral") != NULL);
    unsetenv("LLM_PROVIDER");
    setenv("CLIPLOOP_LOG_LEVEL", "loud", 1);
    CHECK(cl_config_load(err, sizeof err) == -1);
    CHECK(strstr(err, "CLIPLOOP_LOG_LEVEL=loud") != NULL);
    unsetenv("CLIPLOOP_LOG_LEVEL");

    test_table();
    return unit_done("test_config");
}
