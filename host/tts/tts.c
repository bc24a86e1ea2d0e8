/*
 * tts.c — see tts.h.
 */
#include "tts/tts.h"

#include "core/config.h"
#include "plugins/call.h"
#include "plugins/registry.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cl_tts_enabled(void) { return cl_cfg.tts_provider[0] && strcmp(cl_cfg.tts_provider, "none") != 0; }

/* Check the engine's answer against the contract. 0 or -1 with why. */
static int check_meta(const char *json, char *why, size_t whylen)
{
    cJSON *o = cJSON_Parse(json);
    int ok = 0;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "duration");
    const cJSON *words = cJSON_GetObjectItemCaseSensitive(o, "words");
    if (!cJSON_IsObject(o)) {
        snprintf(why, whylen, "its answer is not a JSON object");
    } else if (!cJSON_IsNumber(d) || !(d->valuedouble > 0) || d->valuedouble > 600) {
        snprintf(why, whylen, "its answer has no duration in (0, 600] seconds");
    } else if (!cJSON_IsArray(words)) {
        snprintf(why, whylen, "its answer has no words array");
    } else {
        ok = 1;
        double last = 0;
        int i = 0;
        const cJSON *w;
        cJSON_ArrayForEach(w, words)
        {
            const cJSON *s = cJSON_GetObjectItemCaseSensitive(w, "start"), *e = cJSON_GetObjectItemCaseSensitive(w, "end");
            if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(w, "text")) || !cJSON_IsNumber(s) || !cJSON_IsNumber(e) ||
                s->valuedouble < last - 1e-6 || e->valuedouble <= s->valuedouble ||
                e->valuedouble > d->valuedouble + 1e-3) {
                snprintf(why, whylen, "its words[%d] is not {text,start,end} increasing within the duration", i);
                ok = 0;
                break;
            }
            last = e->valuedouble;
            i++;
        }
    }
    cJSON_Delete(o);
    return ok ? 0 : -1;
}

int cl_tts_synthesize(const char *provider_id, const char *text, const char *language, const char *out_path,
                      cl_call *call, cl_buf *meta, cl_error *err)
{
    const char *id = provider_id && provider_id[0] ? provider_id : cl_cfg.tts_provider;
    if (!id[0] || strcmp(id, "none") == 0)
        return cl_error_set(err, CL_EUNSUPPORTED, "voiceovers are off (TTS_PROVIDER=none)");
    const cl_tts *t = (const cl_tts *)cl_plugins_find(CL_CAP_TTS, id);
    if (!t)
        return cl_error_set(err, CL_EUNSUPPORTED, "TTS_PROVIDER=%s: no loaded plugin provides a tts engine named '%s'",
                            id, id);
    cl_tts_request req = {.size = sizeof req,
                          .text = text,
                          .language = language && language[0] ? language : NULL,
                          .out_path = out_path,
                          .timeout_ms = cl_cfg.tts_timeout_ms > 0 ? cl_cfg.tts_timeout_ms : 60000};
    cl_output out = {CL_BUF_INIT, 1u << 20};
    cl_call own;
    if (!call) {
        cl_call_init(&own, NULL, NULL);
        call = &own;
    }
    int rc = CL_CAP_CALL(t, err, synthesize, call, &req, &out, err);
    char why[200];
    if (rc == CL_OK && (!out.buf.data || check_meta(out.buf.data, why, sizeof why) != 0)) {
        rc = cl_error_set(err, CL_EMALFORMED, "the %s voice engine broke its contract: %s", id,
                          out.buf.data ? why : "it answered nothing");
    } else if (rc == CL_OK && access(out_path, R_OK) != 0) {
        rc = cl_error_set(err, CL_EMALFORMED, "the %s voice engine wrote no audio file", id);
    }
    if (rc != CL_OK) {
        unlink(out_path);
        cl_buf_free(&out.buf);
        return rc;
    }
    *meta = out.buf;
    return CL_OK;
}
