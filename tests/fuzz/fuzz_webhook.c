/*
 * fuzz_webhook.c — libFuzzer target: the body of POST /api/webhooks/lemonsqueezy,
 * the one route body a plugin reads. The plugin's source is compiled in (its
 * functions are static) and runs against the host's real plugin API with the
 * webhook secret configured: the body signed correctly must verify and a
 * wrong signature must not; then the parser (what the host stores) must
 * either refuse the body or answer a JSON object with event_key and kind.
 */
#include "../../plugins/billing_lemonsqueezy/billing_lemonsqueezy.c"

#include "core/buf.h"
#include "plugins/registry.h"

#include <openssl/hmac.h>

#define SECRET "whsec_fuzz_0123456789"

static const char *fuzz_cfg(const cl_plugin_ctx *ctx, const char *key)
{
    (void)ctx;
    return strcmp(key, "WEBHOOK_SECRET") == 0 ? SECRET : NULL;
}

static cl_host_api fuzz_api;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_api = *cl_host_api_get();
    fuzz_api.config_get = fuzz_cfg;
    cl_plugin_api_ = &fuzz_api; /* what CL_PLUGIN's init sets when the host loads it */
    cl_plugin_ctx_ = NULL;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char mac[32];
    unsigned int maclen = 0;
    char sig[65];
    if (!HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), data, size, mac, &maclen) || maclen != 32)
        abort();
    for (int i = 0; i < 32; i++)
        snprintf(sig + 2 * i, 3, "%02x", mac[i]);
    cl_error err;
    memset(&err, 0, sizeof err);
    if (verify_webhook(NULL, sig, data, size, &err) != CL_OK)
        abort();
    sig[0] = sig[0] == '0' ? '1' : '0';
    if (verify_webhook(NULL, sig, data, size, &err) == CL_OK)
        abort();

    cl_output out = {CL_BUF_INIT, 1 << 20};
    memset(&err, 0, sizeof err);
    int rc = parse_webhook(NULL, data, size, &out, &err);
    if (rc == CL_OK) {
        cJSON *o = cJSON_ParseWithLength(out.buf.data ? out.buf.data : "", out.buf.len);
        if (!cJSON_IsObject(o) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "event_key")) ||
            !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "kind")))
            abort();
        cJSON_Delete(o);
    } else if (!err.message[0]) {
        abort();
    }
    cl_buf_free(&out.buf);
    return 0;
}
