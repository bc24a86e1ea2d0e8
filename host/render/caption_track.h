/*
 * caption_track.h — the one rule for the captions a video burns in
 * (docs/audio.md, "Captions"), shared by the render job's soundtrack
 * (host/content/soundtrack.c: which lines, word- or line-timed), the
 * templates (host/render/templates.c: whether to keep a caption band clear)
 * and the captions track served as WebVTT (host/content/captions.c).
 *
 * The spoken lines are the draft's voiceover lines, else its hook and CTA.
 * A video has captions when the channel's rules do not turn them off
 * ("captions": false) and either a voice speaks the spoken lines (word-timed
 * cues) or the draft has voiceover lines to show without a voice
 * (line-timed cues). The hook and CTA alone are on screen already: without a
 * voice they get no captions.
 */
#ifndef CL_RENDER_CAPTION_TRACK_H
#define CL_RENDER_CAPTION_TRACK_H

#include "core/buf.h"

#include <cjson/cJSON.h>

typedef enum {
    CL_CAPTIONS_NONE = 0,
    CL_CAPTIONS_WORDS, /**< word-timed from the voice engine's word timings */
    CL_CAPTIONS_LINES, /**< line-timed across the video, no voice */
} cl_captions_mode;

/** Seconds of quiet before the voice (and the first line-timed cue) starts. */
#define CL_CAPTIONS_LEAD 0.3

/** The spoken lines of a draft (voiceover lines, else hook and CTA): a new array of strings (caller deletes). */
cJSON *cl_captions_spoken_lines(const cJSON *draft);

/**
 * 1 when the render speaks a voiceover: tts_on (cl_tts_enabled()), the
 * item's audio choice (content_items.audio, may be NULL) does not say
 * "voiceover": false, and the draft has spoken lines.
 */
int cl_captions_want_voice(const cJSON *draft, const cJSON *choice, int tts_on);

/** The captions the video of this draft, choice and channel rules (may be NULL) will burn in. */
cl_captions_mode cl_captions_mode_for(const cJSON *draft, const cJSON *choice, const cJSON *rules, int tts_on);

/** "words", "lines" or "none". */
const char *cl_captions_mode_name(cl_captions_mode m);

/**
 * Line-timed cues without a voice: the lines share [LEAD, duration - LEAD]
 * in proportion to their length. A new array [{"text","start","end"}].
 */
cJSON *cl_captions_line_cues(const cJSON *lines, double duration);

/**
 * Append a WebVTT file of cues ([{"text","start","end"}, ...], may be NULL or
 * empty: a file with no cues) to *out: cues numbered from 1, times
 * hh:mm:ss.mmm, text escaped (no "-->", no blank line, "<" and "&" as
 * entities). Consecutive cues with the same text and times are written once.
 * Returns 0 or -1 (out of memory).
 */
int cl_captions_vtt(const cJSON *cues, cl_buf *out);

#endif
