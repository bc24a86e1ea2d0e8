/*
 * fuzz_model_output.c — libFuzzer target: the decoders of what a model (or
 * a Lua script standing in for one) returns: the draft validator/normalizer
 * and the brief checker, on arbitrary text.
 */
#include "create/create.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    char why[256];
    cJSON *d = cl_draft_validate(text, why, sizeof why);
    if (d) {
        /* A normalized draft validates again. */
        char *again = cJSON_PrintUnformatted(d);
        cJSON *d2 = again ? cl_draft_validate(again, why, sizeof why) : NULL;
        if (again && !d2)
            abort();
        cJSON_Delete(d2);
        free(again);
        cl_draft_select_channel(d, "whatsapp");
        cJSON_Delete(d);
    }
    cJSON *b = cJSON_Parse(text);
    if (b) {
        cJSON *fields = cJSON_CreateObject();
        (void)cl_brief_check(b, NULL, fields);
        (void)cl_brief_check(b, "instagram", fields);
        cJSON_Delete(fields);
        cJSON_Delete(b);
    }
    free(text);
    return 0;
}
