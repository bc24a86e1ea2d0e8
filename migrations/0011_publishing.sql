-- Publishing (host/publishing/): a project's connected channel accounts, the
-- single-use OAuth states of the connect flow, and the bookkeeping that makes
-- a publish happen exactly once (docs/publishing.md).

-- One connection per project and channel. The access token is stored only
-- sealed (AES-256-GCM, host/core/seal.c): nonce || ciphertext || tag, with the
-- id of the key that sealed it, so ENCRYPTION_SECRET can be rotated.
CREATE TABLE channel_connections (
    id bigserial PRIMARY KEY,
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel text NOT NULL CHECK (channel IN ('instagram')),
    status text NOT NULL CHECK (status IN ('active', 'expired', 'invalid', 'disconnected')),
    status_reason text,                 -- why it is not active, in words a user can act on
    account_id text,                    -- the platform's account (IG user) id
    username text,
    token_ciphertext bytea,
    token_key_id text,
    token_expires_at timestamptz,
    token_refreshed_at timestamptz,     -- when the token was obtained or last refreshed
    connected_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, channel),
    CHECK ((token_ciphertext IS NULL) = (token_key_id IS NULL))
);
-- The daily refresh looks for active tokens by expiry.
CREATE INDEX channel_connections_refresh ON channel_connections (token_expires_at) WHERE status = 'active';

-- OAuth `state` values: the signed state names a nonce stored here; the
-- callback consumes it once (used_at), before it expires.
CREATE TABLE oauth_states (
    nonce text PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    channel text NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Publish bookkeeping on content items. publish_attempt numbers the publish
-- attempts of an item (a new one after a failed publish is retried by the
-- user); the container id is written the moment the platform returns it, so a
-- worker that dies afterwards is resumed from it instead of creating a second
-- container (and a second post).
ALTER TABLE content_items
    ADD COLUMN IF NOT EXISTS publish_attempt integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS publisher text,
    ADD COLUMN IF NOT EXISTS publish_container_id text,
    ADD COLUMN IF NOT EXISTS publish_container_at timestamptz,
    ADD COLUMN IF NOT EXISTS publish_requested_at timestamptz,
    ADD COLUMN IF NOT EXISTS remote_media_id text,
    ADD COLUMN IF NOT EXISTS permalink text,
    ADD COLUMN IF NOT EXISTS publish_error text,
    ADD COLUMN IF NOT EXISTS published_at timestamptz,
    ADD COLUMN IF NOT EXISTS exported_at timestamptz,
    ADD COLUMN IF NOT EXISTS posted_at timestamptz,
    ADD COLUMN IF NOT EXISTS posted_url text;
