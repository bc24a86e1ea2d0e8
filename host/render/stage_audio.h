/*
 * stage_audio.h — the soundtrack's files into the render's work directory
 * (see stage_audio.c).
 */
#ifndef CL_RENDER_STAGE_AUDIO_H
#define CL_RENDER_STAGE_AUDIO_H

#include <stddef.h>

/**
 * Link or copy audio.voiceover.path and audio.music.path of the composition
 * json into work_dir (an absolute, existing directory) and write the
 * composition pointing at the copies into *out_json (malloc'd; the caller
 * frees it). *out_json stays NULL when there was nothing to stage. 0, or -1
 * with err naming the file.
 */
int cl_render_stage_audio(const char *json, const char *work_dir, char **out_json, char *err, size_t errlen);

#endif
