// WebVTT as the captions route writes it (host/render/caption_track.c):
// "WEBVTT", then cues "<n>\n<hh:mm:ss.mmm> --> <hh:mm:ss.mmm>\n<text>".
const seconds = (t) => t.split(':').reduce((a, x) => a * 60 + Number(x), 0);

/** The cues of a WebVTT text: [{id, start, end, text}] (times in seconds; text as written, escaped). */
export function vttCues(text) {
  if (!/^WEBVTT\n/.test(text)) throw new Error(`not a WebVTT file: ${text.slice(0, 40)}`);
  return text.trimEnd().split('\n\n').slice(1).map((block) => {
    const [id, times, ...lines] = block.split('\n');
    const m = /^(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})$/.exec(times);
    if (!m) throw new Error(`cue ${id}: bad times ${times}`);
    return { id, start: seconds(m[1]), end: seconds(m[2]), text: lines.join('\n') };
  });
}

/** A draft's spoken lines as the captions show them: its voiceover lines, else its hook and CTA. */
export function spokenLines(draft) {
  const vo = (draft.voiceover || []).filter((l) => typeof l === 'string' && l);
  return vo.length ? vo : [draft.hook, draft.cta].filter(Boolean);
}

/** Text as a cue carries it ("&" and "<" as entities). */
export const cueText = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
