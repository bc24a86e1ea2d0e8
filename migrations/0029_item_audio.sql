-- 0029_item_audio: the owner's audio choice per content item (docs/audio.md):
-- {"voiceover": true|false, "music": "<bundled bed id>" | "media:<id>" | "none"};
-- a key left out means the default (a voiceover when TTS_PROVIDER is not none,
-- the "upbeat" bed). Set by POST /api/content-items/:id/render, read by the
-- render job.
ALTER TABLE content_items ADD COLUMN audio jsonb NOT NULL DEFAULT '{}'::jsonb
    CHECK (jsonb_typeof(audio) = 'object');
COMMENT ON COLUMN content_items.audio IS
    'audio choice: {"voiceover": bool, "music": "<bed id>" | "media:<id>" | "none"}; absent keys are defaults';
