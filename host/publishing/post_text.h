/*
 * post_text.h — the caption and CTA an item goes out with on its channel.
 */
#ifndef CL_PUBLISHING_POST_TEXT_H
#define CL_PUBLISHING_POST_TEXT_H

/**
 * Build the channel-aware caption and CTA of a draft: the channel's variant
 * when the draft has one, the draft's hashtags (up to the channel's
 * hashtags.max, skipping ones already in the text), and tracking_url (may be
 * NULL) at the end of the caption when the channel's rules allow a link in
 * the caption (`tracking_link` in scripts/channels/<channel>.lua; without
 * that field only WhatsApp does). *caption and *cta are malloc'd (caller
 * frees). 0, or -1 when the draft is not a JSON object or memory ran out.
 */
int cl_post_text(const char *draft_json, const char *channel, const char *tracking_url, char **caption, char **cta);

/** Whether the channel's rules allow a link in the caption (see above). */
int cl_post_links_allowed(const char *channel);

#endif
