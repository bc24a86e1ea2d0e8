/*
 * soundtrack.h — what a rendered video says and plays (docs/audio.md): the
 * voiceover synthesized through the tts capability, the music (a bundled
 * bed or an uploaded track), and the burned-in captions, written into the
 * composition's "audio" and "captions" (docs/composition.md) by the render
 * job before it calls the renderer. Also the per-item audio choice
 * (content_items.audio) and the list of bundled beds.
 */
#ifndef CL_CONTENT_SOUNDTRACK_H
#define CL_CONTENT_SOUNDTRACK_H

#include "core/buf.h"
#include "cliploop_plugin.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/** The bed a video gets when the owner chose nothing. */
#define CL_SOUNDTRACK_DEFAULT_BED "upbeat"

/**
 * Add "audio" and "captions" to the composition in *comp (replaced in place)
 * for one content item:
 *   draft_json    the item's draft (voiceover lines, hook, cta, language_style)
 *   project_json  the project row (language_style)
 *   choice_json   content_items.audio: {"voiceover": bool, "music": "<bed id>" | "media:<id>" | "none"};
 *                 NULL or {} means the defaults (voiceover when TTS_PROVIDER is not none, the default bed)
 *   rules_json    the channel's Lua rules (their "captions" style), may be NULL
 *   dir           a private directory the caller removes afterwards (the voice file goes there)
 * Returns 0, or -1 with a message for the user in err and a cl_status in *code
 * (the tts engine's own code when the voiceover failed).
 */
int cl_soundtrack_apply(PGconn *c, int64_t project_id, const char *draft_json, const char *project_json,
                        const char *choice_json, const char *rules_json, const char *dir, cl_call *call,
                        cl_buf *comp, int *code, char *err, size_t errlen);

/**
 * Check an audio choice from a request body ({"voiceover"?: bool, "music"?:
 * string}) for project_id: a known bed, "none", or "media:<id>" of a kept
 * audio asset of the project. On success *out is the normalized choice
 * (caller frees with cJSON... as text: malloc'd JSON) and 0 is returned; -1
 * with a message in err (a 422 for the user) otherwise.
 */
int cl_soundtrack_check_choice(PGconn *c, int64_t project_id, const char *body_json, char **out, char *err,
                               size_t errlen);

/** The bundled beds as a JSON array [{"id","title","mood","loop_seconds"}] (malloc'd), or NULL. */
char *cl_soundtrack_beds_json(void);

/** Register GET /api/music/beds (serve). */
void cl_soundtrack_register_routes(void);

#endif
