-- A small (360 px wide) thumbnail per render beside the full-size one
-- (host/render/thumb.c), for cards and lists.
ALTER TABLE content_assets DROP CONSTRAINT content_assets_kind_check;
ALTER TABLE content_assets ADD CONSTRAINT content_assets_kind_check
    CHECK (kind IN ('video', 'thumbnail', 'thumbnail_small'));
