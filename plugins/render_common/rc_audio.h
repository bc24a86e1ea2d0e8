/*
 * rc_audio.h — the soundtrack of a render (docs/audio.md), shared by both
 * renderer plugins: the composition's "audio" object parsed, then mixed with
 * libavfilter into 48 kHz stereo float samples that the renderer encodes as
 * AAC:
 *
 *   voiceover  aresample 48 kHz stereo, gain, adelay(start), apad, atrim(duration)
 *   music      aresample, gain, [atrim(loop_seconds)] aloop (looped to length),
 *              atrim(duration), afade in / out, sidechaincompress keyed by the
 *              voiceover (ducking) when "duck" and there is a voiceover
 *   mix        amix (no normalization), ebur128 measures the integrated
 *              loudness; then a gain to target_lufs and alimiter (-1 dBFS)
 *
 * Compiled into both plugins (see rc_comp.h).
 */
#ifndef RC_AUDIO_H
#define RC_AUDIO_H

#include "cliploop_plugin.h"
#include <stddef.h>
#include <stdint.h>

/** The composition's "audio" (contract 4 in docs/composition.md). Strings owned. */
typedef struct rc_audio_spec {
    int present;           /**< 0: no "audio" object: the silent track */
    char *vo_path;         /**< NULL when no voiceover */
    double vo_gain_db;     /**< -30 … +12, default 0 */
    double vo_start;       /**< seconds of silence before the voice, 0 … duration, default 0 */
    char *music_path;      /**< NULL when no music */
    double music_gain_db;  /**< -40 … +12, default -10 with a voiceover, else 0 */
    int duck;              /**< duck the music under the voiceover, default 1 */
    double music_loop;     /**< > 0: loop the music at this many seconds (cuts a reverb tail) */
    double fade_in, fade_out; /**< music fades, seconds; default 1.0 and 1.5 */
    double target_lufs;    /**< -30 … -5, default -14 */
} rc_audio_spec;

/** The mixed soundtrack: planar float, 48 kHz, 2 channels, n samples each. */
typedef struct rc_mix {
    float *ch[2];
    int64_t n;
    double measured_lufs; /**< integrated loudness before the normalizing gain */
    double gain_db;       /**< the gain applied to reach target_lufs */
} rc_mix;

/**
 * Parse the "audio" object of composition_json into *a (zeroed first). Paths
 * must be absolute files inside work_dir (after resolving symlinks). Returns
 * 0, or -1 with a message naming the field in err (*a holds nothing then).
 */
int rc_audio_parse(const char *composition_json, const char *work_dir, rc_audio_spec *a, char *err,
                   size_t errlen);

void rc_audio_spec_free(rc_audio_spec *a);

/**
 * Mix a (present) into *out for duration seconds. Polls api->cancelled.
 * Returns CL_OK, or CL_EINVAL (an input is not decodable audio, naming it),
 * CL_EUNSUPPORTED (a filter missing from the FFmpeg build), CL_ECANCELLED,
 * CL_ENOMEM, with err filled. *out is freed with rc_mix_free.
 */
int rc_audio_mix(const cl_host_api *api, cl_call *call, const rc_audio_spec *a, double duration, rc_mix *out,
                 cl_error *err);

void rc_mix_free(rc_mix *m);

/**
 * Copy n samples starting at sample offset of m (silence past its end, or
 * everywhere when m is NULL or empty) into dst, two planar float channels.
 */
void rc_mix_fill(const rc_mix *m, int64_t offset, int n, uint8_t *const *dst);

/** The soundtrack's AAC encoding, the same on both renderers: 48 kHz stereo
    at 128 kb/s (the usual rate for stereo AAC with music), FFmpeg's "fast" coder, which its
    documentation names the better and much faster one at such rates (the
    default two-loop search is for low rates). docs/audio.md. */
#define RC_AAC_BIT_RATE 128000
#define RC_AAC_CODER "fast"

struct AVCodecContext;

/**
 * Open FFmpeg's AAC encoder as above (planar float in, global header for
 * MP4) into *out, which the caller frees with avcodec_free_context. Returns
 * CL_OK, or CL_EUNSUPPORTED / CL_ENOMEM with err filled (*out NULL).
 */
int rc_aac_open(struct AVCodecContext **out, cl_error *err);

#endif
