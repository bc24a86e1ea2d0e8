/*
 * test_llm_providers.c — the real LLM provider plugins (llm_mistral,
 * llm_openai_compat), loaded through the plugin loader from
 * $CLIPLOOP_PLUGIN_DIR, against tests/fakes/llm_fake.mjs on 127.0.0.1:
 * 200 (request shape, Bearer key, JSON mode, usage), 401, 400, 422, 429 with
 * Retry-After (given up and retried), 500 (given up and retried), a reply
 * slower than the timeout, malformed answers, missing configuration.
 */
#include "core/buf.h"
#include "core/config.h"
#include "net/http_client.h"
#include "plugins/call.h"
#include "plugins/registry.h"
#include "plugin_env.h"
#include "fake_proc.h"
#include "test_util.h"
#include "unit.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static fake_tmp fake;

/* GET or DELETE /requests on the fake; returns the parsed array (caller deletes) or NULL. */
static cJSON *fake_requests(const char *method)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/requests", fake.port);
    cl_http_request r = {.size = sizeof r, .method = method, .url = url};
    cl_http_response res = {.size = sizeof res};
    cl_error err;
    if (cl_http_do(NULL, &r, &res, &err) != CL_OK)
        return NULL;
    cJSON *j = cJSON_Parse(res.body);
    cl_http_response_free(&res);
    return j;
}

static void reset_requests(void) { cJSON_Delete(fake_requests("DELETE")); }

static int request_count(void)
{
    cJSON *j = fake_requests("GET");
    int n = cJSON_IsArray(j) ? cJSON_GetArraySize(j) : -1;
    cJSON_Delete(j);
    return n;
}

typedef struct {
    int rc;
    char *text; /* malloc'd answer or NULL */
    cl_error err;
    cl_llm_usage usage;
    long elapsed_ms;
} outcome;

static outcome complete(const char *id, const char *prompt, const char *messages_json, int json)
{
    outcome o;
    memset(&o, 0, sizeof o);
    o.usage.size = sizeof o.usage;
    const cl_llm_provider *p = (const cl_llm_provider *)cl_plugins_find(CL_CAP_LLM_PROVIDER, id);
    if (!p) {
        o.rc = 999;
        return o;
    }
    cl_llm_request req = {.size = sizeof req, .purpose = "chat", .system = "You write promos.",
                          .prompt = prompt, .messages_json = messages_json, .json_output = json,
                          /* JSON calls ask for temperature 0.0 (a valid value, not
                             "absent"); plain calls leave it to the provider */
                          .has_temperature = json, .temperature = 0.0, .max_tokens = 200};
    cl_output out = {CL_BUF_INIT, 0};
    cl_call call;
    cl_call_init(&call, NULL, NULL);
    long t0 = now_ms();
    o.rc = CL_CAP_CALL(p, &o.err, complete, &call, &req, &out, &o.usage, &o.err);
    o.elapsed_ms = now_ms() - t0;
    o.text = out.buf.data ? cl_buf_steal(&out.buf) : NULL;
    cl_buf_free(&out.buf);
    return o;
}

static int contains(const char *hay, const char *needle)
{
    if (!(hay && needle && strstr(hay, needle))) {
        fprintf(stderr, "  expected \"%s\" in \"%s\"\n", needle ? needle : "(null)", hay ? hay : "(null)");
        return 0;
    }
    return 1;
}

static void set(const char *prefix, const char *key, const char *value)
{
    char name[128];
    snprintf(name, sizeof name, "%s_%s", prefix, key);
    plugin_setenv(name, value);
}

static const char *KEY = "sk-test-secret-4242";

static void test_provider(const char *id, const char *prefix)
{
    fprintf(stderr, "-- %s\n", id);
    char base[128];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/v1/", fake.port); /* trailing / on purpose */
    set(prefix, "BASE_URL", base);
    set(prefix, "API_KEY", KEY);
    set(prefix, "TIMEOUT_MS", "1000");
    set(prefix, "MAX_RETRIES", "2");

    /* 200: the documented request, the answer, usage */
    set(prefix, "MODEL", "fake-echo");
    reset_requests();
    outcome o = complete(id, "Promo for our weekend sale",
                         "[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\"}]", 1);
    CHECK(o.rc == CL_OK);
    cJSON *ans = cJSON_Parse(o.text);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(ans, "echo")));
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(ans, "last_user")), "Promo for our weekend sale");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(ans, "system")), "You write promos.");
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(ans, "n_messages")) == 4);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(ans, "json_mode")));
    cJSON_Delete(ans);
    CHECK(o.usage.prompt_tokens > 0 && o.usage.completion_tokens > 0);
    CHECK_STR(o.usage.model, "fake-echo");
    free(o.text);
    cJSON *reqs = fake_requests("GET");
    CHECK(cJSON_GetArraySize(reqs) == 1);
    cJSON *r0 = cJSON_GetArrayItem(reqs, 0);
    cJSON *hdrs = cJSON_GetObjectItem(r0, "headers");
    cJSON *body = cJSON_GetObjectItem(r0, "body");
    char bearer[128];
    snprintf(bearer, sizeof bearer, "Bearer %s", KEY);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(r0, "path")), "/v1/chat/completions");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(hdrs, "authorization")), bearer);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(hdrs, "content-type")), "application/json");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(body, "model")), "fake-echo");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(body, "response_format"), "type")),
              "json_object");
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(body, "max_tokens")) == 200);
    /* has_temperature with 0.0 sends 0 (zero is a value here, the flag says "present") */
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(body, "temperature")) &&
          cJSON_GetNumberValue(cJSON_GetObjectItem(body, "temperature")) == 0);
    cJSON *msgs = cJSON_GetObjectItem(body, "messages");
    CHECK(cJSON_GetArraySize(msgs) == 4);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "role")), "system");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 2), "role")), "assistant");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 3), "content")),
              "Promo for our weekend sale");
    cJSON_Delete(reqs);

    /* plain text mode: no response_format, text passes through */
    reset_requests();
    o = complete(id, "just chat", NULL, 0);
    CHECK(o.rc == CL_OK && o.text && strstr(o.text, "\"echo\""));
    free(o.text);
    reqs = fake_requests("GET");
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(reqs, 0), "body"), "response_format") == NULL);
    /* a zeroed has_temperature means absent: no temperature is sent */
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(reqs, 0), "body"), "temperature") == NULL);
    cJSON_Delete(reqs);

    /* invalid prior turns are the caller's error, nothing is sent */
    reset_requests();
    o = complete(id, "x", "[{\"role\":\"root\",\"content\":\"x\"}]", 1);
    CHECK(o.rc == CL_EINVAL && request_count() == 0);
    free(o.text);

    /* 401: bad key; the message never carries the key */
    set(prefix, "MODEL", "fake-401");
    o = complete(id, "x", NULL, 1);
    CHECK(o.rc == CL_EAUTH && o.err.code == CL_EAUTH && o.err.http_status == 401);
    CHECK(contains(o.err.message, "Unauthorized"));
    CHECK(contains(o.err.message, prefix));
    CHECK(strstr(o.err.message, KEY) == NULL);
    CHECK(o.text == NULL);
    free(o.text);

    /* 422 (detail shape) and 400 (error.message shape): bad request with the upstream message */
    set(prefix, "MODEL", "fake-422");
    o = complete(id, "x", NULL, 1);
    CHECK(o.rc == CL_EINVAL && o.err.http_status == 422);
    CHECK(contains(o.err.message, "body.temperature: Input should be less than or equal to 1.5"));
    free(o.text);
    set(prefix, "MODEL", "fake-400");
    o = complete(id, "x", NULL, 1);
    CHECK(o.rc == CL_EINVAL && o.err.http_status == 400);
    CHECK(contains(o.err.message, "Invalid model: 'fake-400'"));
    free(o.text);

    /* 429 with Retry-After, no retries allowed: rate limited, retry_after_ms reported */
    set(prefix, "MODEL", "fake-429");
    set(prefix, "MAX_RETRIES", "0");
    reset_requests();
    o = complete(id, "x", NULL, 1);
    CHECK(o.rc == CL_ERATELIMIT && o.err.http_status == 429 && o.err.retry_after_ms == 1000);
    CHECK(contains(o.err.message, "rate limit"));
    CHECK(request_count() == 1);
    free(o.text);
    /* persistent 429 with one retry: waits Retry-After once, then gives up */
    set(prefix, "MAX_RETRIES", "1");
    reset_requests();
    o = complete(id, "x", NULL, 1);
    CHECK(o.rc == CL_ERATELIMIT && request_count() == 2 && o.elapsed_ms >= 900);
    free(o.text);
    /* 429 once, then an answer: the retry honours Retry-After (1 s) and succeeds */
    set(prefix, "MAX_RETRIES", "2");
    set(prefix, "MODEL", "fake-429once-a");
    reset_requests();
    o = complete(id, "x", NULL, 1);
    CHECK(o.rc == CL_OK && o.text && strstr(o.text, "\"echo\""));
    CHECK(request_count() == 2);
    CHECK(o.elapsed_ms >= 900);
    free(o.text);

    /* 500: retried with backoff, then CL_EUPSTREAM */
    set(prefix, "MODEL", "fake-500");
    set(prefix, "MAX_RETRIES", "1");
    reset_requests();
    o = complete(id, "x", NULL, 1);
    CHECK(o.rc == CL_EUPSTREAM && o.err.http_status == 500);
    CHECK(contains(o.err.message, "Internal server error"));
    CHECK(request_count() == 2);
    free(o.text);
    set(prefix, "MODEL", "fake-500once-b");
    reset_requests();
    o = complete(id, "x", NULL, 1);
    CHECK(o.rc == CL_OK && request_count() == 2);
    free(o.text);

    /* slower than the timeout: CL_ETIMEOUT after one attempt (timeouts are not retried) */
    set(prefix, "MODEL", "fake-slow-3000");
    set(prefix, "TIMEOUT_MS", "400");
    set(prefix, "MAX_RETRIES", "2");
    reset_requests();
    o = complete(id, "x", NULL, 1);
    CHECK(o.rc == CL_ETIMEOUT);
    CHECK(o.elapsed_ms < 2000);
    CHECK(contains(o.err.message, id));
    CHECK(request_count() == 1);
    free(o.text);
    set(prefix, "TIMEOUT_MS", "1000");

    /* malformed answers: content not JSON, no choices, body not JSON */
    static const char *const malformed[] = {"fake-malformed", "fake-nochoices", "fake-notjson"};
    for (size_t i = 0; i < 3; i++) {
        set(prefix, "MODEL", malformed[i]);
        o = complete(id, "x", NULL, 1);
        CHECK(o.rc == CL_EMALFORMED && o.err.code == CL_EMALFORMED);
        CHECK(o.text == NULL);
        free(o.text);
    }
    /* …but non-JSON content is fine when JSON was not asked for */
    set(prefix, "MODEL", "fake-malformed");
    o = complete(id, "x", NULL, 0);
    CHECK(o.rc == CL_OK && o.text && strncmp(o.text, "Sure!", 5) == 0);
    free(o.text);

    /* the private-address guard still applies to providers */
    set(prefix, "MODEL", "fake-echo");
    cl_cfg.http_allow_loopback = 0;
    o = complete(id, "x", NULL, 1);
    CHECK(o.rc == CL_EBLOCKED);
    free(o.text);
    cl_cfg.http_allow_loopback = 1;

    /* missing base URL: explicit error naming the variable */
    set(prefix, "BASE_URL", NULL);
    o = complete(id, "x", NULL, 1);
    char var[64];
    snprintf(var, sizeof var, "%s_BASE_URL", prefix);
    CHECK(o.rc == CL_EUNSUPPORTED && contains(o.err.message, var));
    free(o.text);
    set(prefix, "BASE_URL", base);
}

static void test_keys_and_models(void)
{
    /* mistral: no key -> CL_EUNSUPPORTED naming MISTRAL_API_KEY, nothing sent */
    set("MISTRAL", "API_KEY", NULL);
    set("MISTRAL", "MODEL", NULL);
    reset_requests();
    outcome o = complete("mistral", "x", NULL, 1);
    CHECK(o.rc == CL_EUNSUPPORTED && contains(o.err.message, "MISTRAL_API_KEY"));
    CHECK(request_count() == 0);
    free(o.text);
    /* default model mistral-small-latest */
    set("MISTRAL", "API_KEY", KEY);
    reset_requests();
    o = complete("mistral", "x", NULL, 1);
    CHECK(o.rc == CL_OK);
    CHECK_STR(o.usage.model, "mistral-small-latest");
    free(o.text);
    cJSON *reqs = fake_requests("GET");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(reqs, 0), "body"), "model")),
              "mistral-small-latest");
    cJSON_Delete(reqs);

    /* openai_compat: the key is optional (no Authorization header), the model is not */
    set("OPENAI_COMPAT", "API_KEY", NULL);
    set("OPENAI_COMPAT", "MODEL", "local-model");
    reset_requests();
    o = complete("openai_compat", "x", NULL, 1);
    CHECK(o.rc == CL_OK);
    free(o.text);
    reqs = fake_requests("GET");
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(reqs, 0), "headers"), "authorization") == NULL);
    cJSON_Delete(reqs);
    set("OPENAI_COMPAT", "MODEL", NULL);
    o = complete("openai_compat", "x", NULL, 1);
    CHECK(o.rc == CL_EUNSUPPORTED && contains(o.err.message, "OPENAI_COMPAT_MODEL"));
    free(o.text);
}

int main(void)
{
    const char *plugin_dir = getenv("CLIPLOOP_PLUGIN_DIR");
    if (!plugin_dir) {
        fprintf(stderr, "CLIPLOOP_PLUGIN_DIR is not set (run through ctest)\n");
        return 1;
    }
    cl_http_global_init();
    cl_cfg.http_allow_loopback = 1;
    CHECK(cl_plugins_load_dir(plugin_dir) >= 2);
    CHECK(cl_plugins_find(CL_CAP_LLM_PROVIDER, "mistral") != NULL);
    CHECK(cl_plugins_find(CL_CAP_LLM_PROVIDER, "openai_compat") != NULL);
    if (fake_tmp_start(&fake, "llm_fake.mjs") != 0) {
        CHECK(!"fake server started");
        cl_plugins_reset_for_tests();
        return unit_done("test_llm_providers");
    }
    test_provider("mistral", "MISTRAL");
    test_provider("openai_compat", "OPENAI_COMPAT");
    test_keys_and_models();
    fake_tmp_stop(&fake);
    cl_plugins_reset_for_tests();
    return unit_done("test_llm_providers");
}
