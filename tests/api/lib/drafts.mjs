// Promo drafts for the tests, in the shape POST /api/content-items takes
// (docs/composition.md; host/create/draft.c validates it).

/**
 * A draft: the hook, the script's beats, the caption and the CTA, one
 * channel's variant ({channel: {caption, cta}}), and anything else in more
 * (voiceover lines, caption_hint, hashtags, ...; caption_hint '' and no
 * hashtags unless given).
 */
export function promoDraft({ hook, beats, caption, cta, variant = {}, ...more }) {
  return { hook, script: beats, caption, cta, caption_hint: '', hashtags: [], variants: variant, ...more };
}
