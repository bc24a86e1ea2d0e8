/*
 * content.h — content items (one promo for one channel), their renders and
 * rendered assets.
 *
 *   POST /api/content-items                {project_id, channel, draft, brief?, title?}
 *   GET  /api/content-items?limit=N        the user's items, newest first
 *   GET  /api/content-items/:id            item + assets + render progress
 *   POST /api/content-items/:id/render     charge 1 render credit, enqueue the render job (202)
 *   GET  /api/assets/:id[?download=1]      the file, owner-only, with Range support
 *
 * Rendering runs in the worker process as the durable job
 * "render.content_item": build the composition from the draft, the project
 * profile and the channel's Lua rules, render it with the configured
 * RENDERER, store generated/content-items/<id>/<timestamp>/rendered.mp4 and
 * thumbnail.jpg under CLIPLOOP_STORAGE_DIR, and record them in
 * content_assets. Credits: charged when the render is requested (in the same
 * transaction that enqueues the job, idempotent per render); a render that
 * finally fails is refunded by a compensating ledger entry.
 */
#ifndef CL_CONTENT_CONTENT_H
#define CL_CONTENT_CONTENT_H

/** Register the content routes (serve). */
void cl_content_register_routes(void);
/** Register the "render.content_item" job kind (worker). */
int cl_content_register_jobs(void);

#endif
