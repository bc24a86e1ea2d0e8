-- 0022_asset_storage: stored files go through the storage capability
-- (docs/storage.md).
--
--  * content_assets.path is the storage key: the same relative key
--    ("generated/content-items/<id>/<stamp>-r<seq>/rendered.mp4") in every
--    backend (under CLIPLOOP_STORAGE_DIR for local, in the bucket for s3).
--  * content_assets.storage: the backend that holds the file (a storage
--    capability id); rows written before it existed are local.
--  * content_assets.sha256: the file's SHA-256 (lower-case hex), measured
--    before it was stored; NULL for rows written before it was recorded.
--    bytes already held the size.

ALTER TABLE content_assets
    ADD COLUMN storage text NOT NULL DEFAULT 'local' CHECK (storage ~ '^[a-z0-9_]{1,63}$'),
    ADD COLUMN sha256 text CHECK (sha256 ~ '^[0-9a-f]{64}$');

COMMENT ON COLUMN content_assets.path IS
    'storage key, relative: the same in every backend (docs/storage.md)';
COMMENT ON COLUMN content_assets.storage IS 'the storage capability id that holds the file';
COMMENT ON COLUMN content_assets.sha256 IS 'SHA-256 of the stored file, lower-case hex';
