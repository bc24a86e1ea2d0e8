-- 0031_content_list_thumbnails: the thumbnails a content list shows, stored
-- on the content item (docs/scale.md, docs/content.md).
--
-- A list shows of an item's assets only the thumbnails ('thumbnail',
-- 'thumbnail_small') of its newest render that has any. GET
-- /api/content-items joined content_assets for them on every page; now the
-- item row carries them, kept right by a trigger on content_assets in the
-- same transaction as the render's assets are stored (or deleted), whichever
-- code (or test) writes them:
--
--  * list_thumb_seq: the render_seq of the newest render with a thumbnail
--    (NULL: none).
--  * list_thumb_id, list_thumb_small_id: that render's 'thumbnail' and
--    'thumbnail_small' asset ids (NULL: that kind is missing).
--
-- Each change of a thumbnail row recomputes the three from content_assets
-- (an item has a handful of thumbnail rows; unique per render and kind).
-- Also: the list's order (newest first, id breaking ties) as an index, so a
-- page is the first rows of one index range, without a sort of every item.

ALTER TABLE content_items
    ADD COLUMN list_thumb_seq integer,
    ADD COLUMN list_thumb_id bigint,
    ADD COLUMN list_thumb_small_id bigint;

CREATE FUNCTION cl_content_list_thumbs_reset(item bigint) RETURNS void
LANGUAGE sql AS $$
    UPDATE content_items
       SET (list_thumb_seq, list_thumb_id, list_thumb_small_id) = (
           SELECT a.render_seq, max(a.id) FILTER (WHERE a.kind = 'thumbnail'),
                  max(a.id) FILTER (WHERE a.kind = 'thumbnail_small')
             FROM content_assets a
            WHERE a.content_item_id = item AND a.kind IN ('thumbnail', 'thumbnail_small')
            GROUP BY a.render_seq ORDER BY a.render_seq DESC LIMIT 1)
     WHERE id = item
$$;

CREATE FUNCTION cl_content_assets_list_thumbs() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.kind IN ('thumbnail', 'thumbnail_small') THEN
        PERFORM cl_content_list_thumbs_reset(OLD.content_item_id);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.kind IN ('thumbnail', 'thumbnail_small')
       AND (TG_OP = 'INSERT' OR NEW.content_item_id <> OLD.content_item_id OR OLD.kind NOT IN ('thumbnail', 'thumbnail_small')) THEN
        PERFORM cl_content_list_thumbs_reset(NEW.content_item_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER content_assets_list_thumbs
    AFTER INSERT OR DELETE OR UPDATE OF content_item_id, kind, render_seq ON content_assets
    FOR EACH ROW EXECUTE FUNCTION cl_content_assets_list_thumbs();

-- The items that exist: their thumbnails once.
UPDATE content_items i
   SET (list_thumb_seq, list_thumb_id, list_thumb_small_id) = (
       SELECT a.render_seq, max(a.id) FILTER (WHERE a.kind = 'thumbnail'),
              max(a.id) FILTER (WHERE a.kind = 'thumbnail_small')
         FROM content_assets a
        WHERE a.content_item_id = i.id AND a.kind IN ('thumbnail', 'thumbnail_small')
        GROUP BY a.render_seq ORDER BY a.render_seq DESC LIMIT 1)
 WHERE EXISTS (SELECT 1 FROM content_assets a
                WHERE a.content_item_id = i.id AND a.kind IN ('thumbnail', 'thumbnail_small'));

CREATE INDEX content_items_user_list ON content_items (user_id, created_at DESC, id DESC);
DROP INDEX content_items_user_recent;
