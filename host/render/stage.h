/*
 * stage.h — local files of a composition into the render's work directory
 * (see stage.c).
 */
#ifndef CL_RENDER_STAGE_H
#define CL_RENDER_STAGE_H

#include <stddef.h>

/**
 * Copy (or hard-link) every file the n compositions' layers name ("path",
 * "font") into work_dir, the same file once, and their "audio" files
 * (cl_render_stage_audio; a composition whose "audio" differs from the
 * first one's gets its own copies in a subdirectory), and write each
 * composition with those fields pointing at the copies into out_jsons[i]
 * (malloc'd; the caller frees each; all NULL on failure). Returns 0, or -1
 * with err naming the file that could not be staged.
 */
int cl_render_stage_many(const char *const *jsons, int n, const char *work_dir, char **out_jsons, char *err,
                         size_t errlen);

/**
 * Hard-link from at to, or copy it when a link is impossible (another file
 * system). An existing `to` fails the call, or is replaced when replace is
 * set. 0, or -1 (errno set; a partial copy is removed).
 */
int cl_stage_link_or_copy(const char *from, const char *to, int replace);

#endif
