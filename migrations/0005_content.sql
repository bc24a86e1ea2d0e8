-- Content items (one promo for one channel) and their rendered assets.
-- Created by the create flow, chat and the weekly loop; rendered by the
-- durable job "render.content_item" (host/content/).

CREATE TABLE content_items (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    parent_id bigint REFERENCES content_items (id) ON DELETE SET NULL, -- lineage (regenerations, next packs)
    source text NOT NULL DEFAULT 'create'
        CHECK (source IN ('create', 'chat', 'cycle', 'regenerate', 'iteration')),
    channel text NOT NULL CHECK (channel IN ('instagram', 'tiktok', 'whatsapp')),
    title text NOT NULL DEFAULT '',
    brief jsonb,
    draft jsonb NOT NULL,
    status text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'rendering', 'rendered', 'render_failed')),
    render_seq integer NOT NULL DEFAULT 0,      -- bumps with every requested render
    render_job_id bigint REFERENCES jobs (id) ON DELETE SET NULL,
    render_error text,
    publish_strategy text NOT NULL DEFAULT 'manual' CHECK (publish_strategy IN ('manual', 'auto')),
    publish_status text NOT NULL DEFAULT 'unpublished',
    manual_status text,
    tracking_slug text UNIQUE,
    -- The client's idempotency key of the request that generated the item
    -- (create flow, chat job): a retried request finds the item instead of
    -- generating and charging again.
    request_key text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX content_items_request_key ON content_items (user_id, request_key)
    WHERE request_key IS NOT NULL;
CREATE INDEX content_items_user_recent ON content_items (user_id, created_at DESC);
CREATE INDEX content_items_project_recent ON content_items (project_id, created_at DESC);

CREATE TABLE content_assets (
    id bigserial PRIMARY KEY,
    content_item_id bigint NOT NULL REFERENCES content_items (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('video', 'thumbnail')),
    path text NOT NULL,          -- relative to CLIPLOOP_STORAGE_DIR
    mime text NOT NULL,
    bytes bigint NOT NULL CHECK (bytes >= 0),
    renderer text NOT NULL,
    render_seq integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (content_item_id, render_seq, kind)
);
CREATE INDEX content_assets_item ON content_assets (content_item_id, created_at DESC);
