/* Configuration parsing: defaults, .env loading, errors naming the variable. */
#include "core/config.h"
#include "unit.h"

#include <stdlib.h>
#include <unistd.h>

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
    return unit_done("test_config");
}
