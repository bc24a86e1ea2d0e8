-- 0025_media: a media library per project and a brand kit per project
-- (docs/media.md).
--
--  * media_assets: images, audio and fonts of a project, uploaded by the
--    owner (origin 'upload', status 'kept') or collected from the website at
--    ingestion (origin 'website', status 'suggested' until the owner keeps or
--    discards it). storage_key is the original as received; normalized_key
--    the copy renders use (images: EXIF orientation applied, long side
--    <= 2160, JPEG, or PNG when it has alpha; audio: 48 kHz stereo; fonts:
--    the original). Both keys live in the backend named by `storage`.
--  * brand_kits: logo (a kept image of the project), up to 3 colours, a
--    heading and a body font (a bundled font id or 'media:<id>' of an
--    uploaded font), where the logo goes; site_colors are the theme colours
--    ingestion found on the website, offered by "take colours from the
--    website".

CREATE TABLE media_assets (
    id             bigserial PRIMARY KEY,
    project_id     bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id        bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN ('image', 'audio', 'font')),
    origin         text NOT NULL CHECK (origin IN ('upload', 'website')),
    status         text NOT NULL CHECK (status IN ('kept', 'suggested', 'discarded')),
    filename       text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    mime           text NOT NULL,
    bytes          bigint NOT NULL CHECK (bytes >= 0),
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    width          integer CHECK (width > 0),
    height         integer CHECK (height > 0),
    duration_ms    integer CHECK (duration_ms >= 0),
    storage        text NOT NULL DEFAULT 'local' CHECK (storage ~ '^[a-z0-9_]{1,63}$'),
    storage_key    text NOT NULL,
    normalized_key text NOT NULL,
    normalized_mime text NOT NULL,
    normalized_bytes bigint NOT NULL DEFAULT 0 CHECK (normalized_bytes >= 0),
    source_url     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, sha256)
);
CREATE INDEX media_assets_project ON media_assets (project_id, status, kind, created_at DESC);
CREATE INDEX media_assets_user ON media_assets (user_id);

COMMENT ON COLUMN media_assets.storage_key IS 'the original as received (storage key, docs/storage.md)';
COMMENT ON COLUMN media_assets.normalized_key IS
    'the normalized copy renders use (images: oriented, long side <= 2160; audio: 48 kHz stereo; fonts: original)';
COMMENT ON COLUMN media_assets.sha256 IS 'SHA-256 of the original, lower-case hex; one copy per project';

CREATE TABLE brand_kits (
    project_id     bigint PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    logo_media_id  bigint REFERENCES media_assets (id) ON DELETE SET NULL,
    colors         text[] NOT NULL DEFAULT '{}'
                   CHECK (cardinality(colors) <= 3 AND array_to_string(colors, ',') ~ '^(#[0-9A-F]{6}(,#[0-9A-F]{6})*)?$'),
    heading_font   text NOT NULL DEFAULT 'dejavu-sans-bold' CHECK (heading_font ~ '^([a-z0-9-]{1,40}|media:[0-9]{1,19})$'),
    body_font      text NOT NULL DEFAULT 'dejavu-sans' CHECK (body_font ~ '^([a-z0-9-]{1,40}|media:[0-9]{1,19})$'),
    logo_placement text NOT NULL DEFAULT 'top-right'
                   CHECK (logo_placement IN ('top', 'bottom', 'top-left', 'top-right', 'none')),
    site_colors    text[] NOT NULL DEFAULT '{}'
                   CHECK (cardinality(site_colors) <= 8 AND array_to_string(site_colors, ',') ~ '^(#[0-9A-F]{6}(,#[0-9A-F]{6})*)?$'),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN brand_kits.colors IS 'up to 3 colours, #RRGGBB upper-case';
COMMENT ON COLUMN brand_kits.site_colors IS 'theme colours found on the website at ingestion (suggestions)';
