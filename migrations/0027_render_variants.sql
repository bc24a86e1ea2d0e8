-- Aspect variants of a render (docs/composition.md): besides the channel's own
-- video and thumbnails, a render may store video_<w>x<h> and thumbnail_<w>x<h>
-- assets (9x16, 1x1, 4x5, 16x9) made from the same composition.
ALTER TABLE content_assets DROP CONSTRAINT content_assets_kind_check;
ALTER TABLE content_assets ADD CONSTRAINT content_assets_kind_check
    CHECK (kind IN ('video', 'thumbnail', 'thumbnail_small',
                    'video_9x16', 'video_1x1', 'video_4x5', 'video_16x9',
                    'thumbnail_9x16', 'thumbnail_1x1', 'thumbnail_4x5', 'thumbnail_16x9'));
