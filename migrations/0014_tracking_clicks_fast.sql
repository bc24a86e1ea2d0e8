-- Click rows are written at the rate links are followed (tests/bench/redirect):
-- take the per-row costs that bought nothing off that path.
--   * No foreign keys on tracking_clicks: the writer's INSERT already joins
--     content_items (a click of a deleted item is never stored), and deleting
--     an item deletes its clicks through the trigger below (what ON DELETE
--     CASCADE did, paid on the rare delete instead of on every click).
--     project_id is copied from the item in the same INSERT.
--   * click_id is the primary key (it was UNIQUE already); the bigserial id
--     and its index are gone.
ALTER TABLE tracking_clicks
    DROP CONSTRAINT tracking_clicks_content_item_id_fkey,
    DROP CONSTRAINT tracking_clicks_project_id_fkey;
ALTER TABLE tracking_clicks DROP COLUMN id;
ALTER TABLE tracking_clicks DROP CONSTRAINT tracking_clicks_click_id_key, ADD PRIMARY KEY (click_id);

CREATE FUNCTION cl_tracking_delete_clicks() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM tracking_clicks WHERE content_item_id = OLD.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER content_items_delete_clicks
    AFTER DELETE ON content_items
    FOR EACH ROW EXECUTE FUNCTION cl_tracking_delete_clicks();
