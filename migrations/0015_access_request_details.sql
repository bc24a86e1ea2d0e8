-- 0015_access_request_details: what the /request-access form asks besides
-- name and email — what the person sells and where they post.

ALTER TABLE access_requests
    ADD COLUMN business text,
    ADD COLUMN channels text[] NOT NULL DEFAULT '{}'
        CHECK (channels <@ ARRAY['instagram', 'tiktok', 'whatsapp', 'other']::text[]);
