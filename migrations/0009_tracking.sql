-- Tracking and attribution: every content item's link (/r/<slug>), the
-- clicks it gets, and the conversions and revenue a project reports, each
-- attributed to the item that caused it. See docs/tracking.md.

-- n random base62 characters from gen_random_uuid() (core since PostgreSQL
-- 13; pgcrypto is not assumed). The UUID's version nibble and variant bits
-- (bytes 6 and 8) are skipped, and bytes >= 248 are rejected so that
-- byte % 62 stays uniform.
CREATE FUNCTION cl_random_base62(n integer) RETURNS text
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    alphabet constant text := '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    result text := '';
    b bytea;
    v integer;
BEGIN
    WHILE length(result) < n LOOP
        b := uuid_send(gen_random_uuid());
        FOR i IN 0..15 LOOP
            CONTINUE WHEN i = 6 OR i = 8;
            v := get_byte(b, i);
            CONTINUE WHEN v >= 248;
            result := result || substr(alphabet, v % 62 + 1, 1);
            EXIT WHEN length(result) = n;
        END LOOP;
    END LOOP;
    RETURN result;
END
$$;

-- Links: every item gets a slug from the column default, whatever code path
-- creates it (create flow, chat, the weekly loop). 10 characters = 59.5 bits.
UPDATE content_items SET tracking_slug = cl_random_base62(10) WHERE tracking_slug IS NULL;
ALTER TABLE content_items
    ALTER COLUMN tracking_slug SET DEFAULT cl_random_base62(10),
    ALTER COLUMN tracking_slug SET NOT NULL,
    -- The item's own destination (its CTA link); the project's website otherwise.
    ADD COLUMN cta_url text CHECK (cta_url ~ '^https?://[^[:space:]]+$' AND length(cta_url) <= 2048);

-- Keys: the publishable key (browser snippet, conversions only) exists from
-- the start; the secret key (server to server, revenue too) is made on
-- request and only its SHA-256 is kept. allowed origins NULL = the origin of
-- the project's website.
ALTER TABLE projects
    ADD COLUMN tracking_publishable_key text NOT NULL UNIQUE DEFAULT ('clp_pk_' || cl_random_base62(24)),
    ADD COLUMN tracking_allowed_origins text[]
        CHECK (cardinality(tracking_allowed_origins) <= 20),
    ADD COLUMN tracking_secret_hash text UNIQUE,
    ADD COLUMN tracking_secret_hint text,
    ADD COLUMN tracking_secret_created_at timestamptz;

-- Clicks, written in batches by the redirect's writer thread. click_id is
-- what the landing page receives as clp_click. Bots (link-preview crawlers)
-- are kept with is_bot = true and never counted as clicks.
CREATE TABLE tracking_clicks (
    id              bigserial PRIMARY KEY,
    click_id        text NOT NULL UNIQUE,
    content_item_id bigint NOT NULL REFERENCES content_items (id) ON DELETE CASCADE,
    project_id      bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    clicked_at      timestamptz NOT NULL,
    is_bot          boolean NOT NULL DEFAULT false,
    bot_pattern     text,
    user_agent      text,
    referer         text,
    visitor_hash    text,       -- SHA-256(address | user agent), first 32 hex digits
    written_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tracking_clicks_item ON tracking_clicks (content_item_id, clicked_at);
CREATE INDEX tracking_clicks_project ON tracking_clicks (project_id, clicked_at);

-- Conversions (publishable or secret key) and revenue (secret key or the
-- signed-in owner). Attribution is resolved on arrival and stored:
-- click -> content item -> project.
CREATE TABLE tracking_events (
    id                 bigserial PRIMARY KEY,
    project_id         bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind               text NOT NULL CHECK (kind IN ('conversion', 'revenue')),
    event_type         text NOT NULL CHECK (length(event_type) BETWEEN 1 AND 64),
    event_id           text CHECK (length(event_id) BETWEEN 1 AND 128),
    dedupe_key         text,
    click_id           text,
    content_item_id    bigint,  -- as sent
    attributed_item_id bigint REFERENCES content_items (id) ON DELETE SET NULL,
    attributed_via     text NOT NULL CHECK (attributed_via IN ('click', 'content_item', 'project')),
    external_user_id   text,
    amount_minor       bigint CHECK (amount_minor > 0),
    currency           text CHECK (currency ~ '^[A-Z]{3}$'),
    source             text,
    auth               text NOT NULL CHECK (auth IN ('publishable_key', 'secret_key', 'session')),
    origin             text,
    occurred_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'revenue') = (amount_minor IS NOT NULL AND currency IS NOT NULL))
);
CREATE UNIQUE INDEX tracking_events_dedupe ON tracking_events (project_id, kind, dedupe_key)
    WHERE dedupe_key IS NOT NULL;
CREATE INDEX tracking_events_item ON tracking_events (attributed_item_id, occurred_at);
CREATE INDEX tracking_events_project ON tracking_events (project_id, occurred_at DESC);

-- Slug caches on every host drop an entry when its destination may have
-- changed: NOTIFY cliploop_tracking 'slug:<slug>' or 'project:<id>'.
CREATE FUNCTION cl_tracking_notify_item() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cliploop_tracking', 'slug:' || OLD.tracking_slug);
    RETURN NULL;
END
$$;
CREATE TRIGGER content_items_tracking_notify
    AFTER UPDATE OF cta_url, tracking_slug, project_id OR DELETE ON content_items
    FOR EACH ROW EXECUTE FUNCTION cl_tracking_notify_item();

CREATE FUNCTION cl_tracking_notify_project() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.website_url IS DISTINCT FROM OLD.website_url THEN
        PERFORM pg_notify('cliploop_tracking', 'project:' || OLD.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER projects_tracking_notify
    AFTER UPDATE OF website_url OR DELETE ON projects
    FOR EACH ROW EXECUTE FUNCTION cl_tracking_notify_project();
