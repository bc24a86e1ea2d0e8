/*
 * test_billing.c — the billing_lemonsqueezy plugin's pure parts through the
 * real loader (signature check, webhook normalization, configuration check)
 * and the public site's template renderer.
 */
#include "cliploop_plugin.h"
#include "core/buf.h"
#include "plugins/registry.h"
#include "site/site.h"
#include "plugin_env.h"
#include "unit.h"

#include <cjson/cJSON.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#define SECRET "unit-secret"

static void hex_hmac(const char *body, char out[65])
{
    unsigned char mac[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)body, strlen(body), mac, &n);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

static cJSON *parse(const cl_billing_provider *b, const char *body, int *rc)
{
    cl_output out = {CL_BUF_INIT, 0};
    cl_error e = {0};
    *rc = b->parse_webhook(b->base.self, body, strlen(body), &out, &e);
    cJSON *j = *rc == CL_OK ? cJSON_Parse(out.buf.data) : NULL;
    cl_buf_free(&out.buf);
    return j;
}

static const char *str(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_plugin(void)
{
    plugin_setenv("LEMON_SQUEEZY_WEBHOOK_SECRET", SECRET);
    plugin_setenv("LEMON_SQUEEZY_STARTER_VARIANT_ID", "777");
    plugin_setenv("LEMON_SQUEEZY_API_KEY", NULL);
    plugin_setenv("LEMON_SQUEEZY_STORE_ID", NULL);
    const char *dir = getenv("CLIPLOOP_PLUGIN_DIR");
    CHECK(dir && cl_plugins_load_dir(dir) > 0);
    const cl_billing_provider *b = (const cl_billing_provider *)cl_plugins_find(CL_CAP_BILLING_PROVIDER, "lemonsqueezy");
    CHECK(b != NULL);
    if (!b)
        return;
    CHECK_STR(b->signature_header, "X-Signature");
    CHECK(b->get_subscription != NULL);

    char missing[200];
    CHECK(b->configured(b->base.self, missing, sizeof missing) == 0);
    CHECK_STR(missing, "LEMON_SQUEEZY_API_KEY, LEMON_SQUEEZY_STORE_ID");

    /* Signatures: hex HMAC-SHA256 of the raw body, either case; anything else is refused. */
    const char *body = "{\"meta\":{\"event_name\":\"subscription_created\",\"custom_data\":{\"user_id\":\"42\"}},"
                       "\"data\":{\"type\":\"subscriptions\",\"id\":\"9\",\"attributes\":{\"status\":\"active\","
                       "\"variant_id\":777,\"customer_id\":12,\"order_id\":13,\"cancelled\":false,"
                       "\"renews_at\":\"2026-02-01T00:00:00.000000Z\",\"ends_at\":null,"
                       "\"updated_at\":\"2026-01-01T00:00:00.000000Z\","
                       "\"urls\":{\"customer_portal\":\"https://x/p\",\"update_payment_method\":\"https://x/u\"}}}}";
    char sig[65];
    hex_hmac(body, sig);
    cl_error e = {0};
    CHECK(b->verify_webhook(b->base.self, sig, body, strlen(body), &e) == CL_OK);
    char upper[65];
    for (int i = 0; i < 65; i++)
        upper[i] = (char)(sig[i] >= 'a' && sig[i] <= 'f' ? sig[i] - 32 : sig[i]);
    CHECK(b->verify_webhook(b->base.self, upper, body, strlen(body), &e) == CL_OK);
    CHECK(b->verify_webhook(b->base.self, sig, body, strlen(body) - 1, &e) == CL_EAUTH);
    char wrong[65];
    memcpy(wrong, sig, sizeof wrong);
    wrong[63] = wrong[63] == '0' ? '1' : '0';
    CHECK(b->verify_webhook(b->base.self, wrong, body, strlen(body), &e) == CL_EAUTH);
    CHECK(b->verify_webhook(b->base.self, "", body, strlen(body), &e) == CL_EAUTH);
    CHECK(b->verify_webhook(b->base.self, "abc", body, strlen(body), &e) == CL_EAUTH);
    wrong[0] = 'g';
    CHECK(b->verify_webhook(b->base.self, wrong, body, strlen(body), &e) == CL_EAUTH);

    /* Normalization: numeric ids become strings, the Starter variant is "starter". */
    int rc;
    cJSON *ev = parse(b, body, &rc);
    CHECK(rc == CL_OK && ev);
    CHECK_STR(str(ev, "kind", NULL), "subscription");
    CHECK_STR(str(ev, "event_name", NULL), "subscription_created");
    CHECK_STR(str(ev, "event_key", NULL), "subscription_created:subscriptions:9:2026-01-01T00:00:00.000000Z");
    CHECK_STR(str(ev, "user_id", NULL), "42");
    CHECK_STR(str(ev, "subscription", "id"), "9");
    CHECK_STR(str(ev, "subscription", "plan"), "starter");
    CHECK_STR(str(ev, "subscription", "customer_id"), "12");
    CHECK_STR(str(ev, "subscription", "portal_url"), "https://x/p");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "subscription"), "ends_at")));
    cJSON_Delete(ev);

    ev = parse(b, "{\"meta\":{\"event_name\":\"subscription_created\"},\"data\":{\"type\":\"subscriptions\",\"id\":5,"
                  "\"attributes\":{\"status\":\"active\",\"variant_id\":1}}}",
               &rc);
    CHECK(rc == CL_OK && ev);
    CHECK_STR(str(ev, "subscription", "plan"), "");
    CHECK_STR(str(ev, "subscription", "id"), "5");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(ev, "user_id")));
    cJSON_Delete(ev);

    ev = parse(b, "{\"meta\":{\"event_name\":\"subscription_payment_success\"},\"data\":{\"type\":"
                  "\"subscription-invoices\",\"id\":\"77\",\"attributes\":{\"subscription_id\":9,\"status\":\"paid\","
                  "\"total\":500,\"currency\":\"USD\",\"updated_at\":\"t\"}}}",
               &rc);
    CHECK(rc == CL_OK && ev);
    CHECK_STR(str(ev, "kind", NULL), "payment");
    CHECK_STR(str(ev, "payment", "subscription_id"), "9");
    CHECK_STR(str(ev, "payment", "currency"), "USD");
    CHECK(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "payment"), "amount_cents")->valuedouble ==
          500);
    cJSON_Delete(ev);

    ev = parse(b, "{\"meta\":{\"event_name\":\"order_created\"},\"data\":{\"type\":\"orders\",\"id\":\"1\",\"attributes\":{}}}",
               &rc);
    CHECK(rc == CL_OK && ev);
    CHECK_STR(str(ev, "kind", NULL), "other");
    cJSON_Delete(ev);

    const char *bads[] = {"", "not json", "{\"meta\":{}}", "[1]",
                          "{\"meta\":{\"event_name\":\"x\"},\"data\":{\"type\":\"subscriptions\",\"id\":\"1\",\"attributes\":{}}}"};
    for (size_t i = 0; i < sizeof bads / sizeof *bads; i++) {
        ev = parse(b, bads[i], &rc);
        CHECK(rc == CL_EINVAL && ev == NULL);
    }
    cl_plugins_reset_for_tests();
}

static void render(const char *tpl, const char *want, const char *want_unknown)
{
    const cl_tpl_var vars[] = {{"name", "<b>Ada & \"co\"</b>"}, {"n", "5"}, {"empty", NULL}};
    cl_buf out = CL_BUF_INIT;
    char unknown[32];
    CHECK(cl_tpl_render(tpl, vars, 3, &out, unknown, sizeof unknown) == 0);
    CHECK_STR(out.data ? out.data : "", want);
    CHECK_STR(unknown, want_unknown);
    cl_buf_free(&out);
}

static void test_templates(void)
{
    render("Hi {{name}}!", "Hi &lt;b&gt;Ada &amp; &quot;co&quot;&lt;/b&gt;!", "");
    render("Hi {{{name}}}!", "Hi <b>Ada & \"co\"</b>!", "");
    render("{{n}}{{n}} {{empty}}.", "55 .", "");
    render("a {{nope}} b {{other}}", "a  b ", "nope");
    render("open {{name", "open {{name", "");
    render("no values", "no values", "");
}

int main(void)
{
    test_templates();
    test_plugin();
    return unit_done("test_billing");
}
