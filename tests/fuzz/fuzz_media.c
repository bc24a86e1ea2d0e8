/*
 * fuzz_media.c — libFuzzer target: an uploaded file's bytes through the
 * media library's checks (host/media/media_decode.c): the header size check
 * that refuses decompression bombs, the type decision, FFmpeg image and
 * audio decoding with the demuxer allow-list, orientation, normalization,
 * FreeType font validation, and the dominant colours of a normalized image.
 * The first byte picks which kinds are allowed. Whatever the bytes, the
 * answer is 0 with a normalized file, or a 4xx status with a code and a
 * message and no file left behind.
 */
#include "media/media_internal.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char in[64], norm[64];
    snprintf(in, sizeof in, "/tmp/fuzz-media-in-%d", (int)getpid());
    snprintf(norm, sizeof norm, "/tmp/fuzz-media-norm-%d", (int)getpid());
    FILE *f = fopen(in, "wb");
    if (!f)
        return 0;
    fwrite(data + 1, 1, size - 1, f);
    fclose(f);
    int allow = (data[0] & 7) ? (data[0] & 7) : CL_MEDIA_ALLOW_IMAGE | CL_MEDIA_ALLOW_AUDIO | CL_MEDIA_ALLOW_FONT;
    cl_media_probe pr;
    char code[48] = "", msg[512] = "";
    int st = cl_media_process(in, allow, norm, &pr, code, sizeof code, msg, sizeof msg);
    if (st == 0) {
        assert(access(norm, R_OK) == 0);
        assert(pr.kind[0] && pr.mime[0] && pr.normalized_mime[0]);
        if (strcmp(pr.kind, "image") == 0) {
            assert(pr.width > 0 && pr.height > 0);
            assert(pr.width <= CL_MEDIA_NORMALIZED_SIDE && pr.height <= CL_MEDIA_NORMALIZED_SIDE);
            char colors[3][8];
            int n = cl_media_dominant_colors(norm, colors);
            assert(n >= -1 && n <= 3);
        }
    } else {
        assert(st >= 400 && st <= 599 && code[0] && msg[0]);
        assert(access(norm, F_OK) != 0);
    }
    unlink(norm);
    unlink(in);
    return 0;
}
