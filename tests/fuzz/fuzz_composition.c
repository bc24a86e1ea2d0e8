/*
 * fuzz_composition.c — libFuzzer target: the composition builder and
 * validator. Input: "<draft json>\n<profile json>\n<channel rules json>";
 * the first byte picks the channel. A composition the builder accepts must
 * pass the validator (else abort: the fuzzer reports it).
 */
#include "core/buf.h"
#include "render/composition.h"

#include "fuzz_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const channels[] = {"instagram", "tiktok", "whatsapp", "myspace"};
    if (size < 1)
        return 0;
    const char *channel = channels[data[0] % 4];
    const uint8_t *p = data + 1, *end = data + size;
    char *draft = fuzz_line(&p, end), *profile = fuzz_line(&p, end), *rules = fuzz_line(&p, end);
    char err[512];
    cl_buf out = CL_BUF_INIT;
    if (cl_composition_build(draft, profile[0] ? profile : NULL, channel, rules[0] ? rules : NULL, &out, err,
                             sizeof err) == 0 &&
        cl_composition_validate(out.data, err, sizeof err) != 0)
        abort(); /* the builder made something the validator refuses */
    cl_buf_free(&out);
    (void)cl_composition_validate(draft, err, sizeof err);
    free(draft);
    free(profile);
    free(rules);
    return 0;
}
