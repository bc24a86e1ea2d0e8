/*
 * tts.h — the host's side of the tts capability (sdk/cliploop_plugin.h,
 * "Text to speech"): the voiceover of a video (docs/audio.md).
 *
 * TTS_PROVIDER (default "espeak") selects one loaded tts engine; "none"
 * turns voiceovers off. serve and worker refuse to start when it names no
 * loaded engine or one that is not configured (cl_plugins_check_selection).
 * Blocking: call from worker threads, never from an event loop.
 */
#ifndef CL_TTS_TTS_H
#define CL_TTS_TTS_H

#include "cliploop_plugin.h"
#include "core/buf.h"

/** 1 when voiceovers are on (TTS_PROVIDER is not "none" or empty). */
int cl_tts_enabled(void);

/**
 * Synthesize text into the audio file out_path with the engine provider_id
 * (NULL: TTS_PROVIDER), language a BCP 47 tag or NULL. On CL_OK *meta (the
 * caller frees it with cl_buf_free) holds the engine's JSON, checked here:
 * {"duration" > 0, "timings", "words": [{"text","start","end"}] increasing
 * and within the duration}; out_path exists. Otherwise a negative cl_status
 * with err filled (the engine's code and message, or CL_EMALFORMED when its
 * answer broke the contract), out_path removed and *meta empty.
 */
int cl_tts_synthesize(const char *provider_id, const char *text, const char *language, const char *out_path,
                      cl_call *call, cl_buf *meta, cl_error *err);

#endif
