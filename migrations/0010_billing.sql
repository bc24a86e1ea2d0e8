-- 0010_billing: the billing provider's ids and state on subscriptions, the
-- audit trail of every accepted webhook, and the short-lived checkout cache
-- (see docs/billing.md).
--
-- subscriptions keeps the columns the effective plan reads (status,
-- cancel_at_period_end, current_period_end) and gains what the provider
-- reports. provider_updated_at is the subscription's own `updated_at`: an
-- event whose updated_at is older than the stored one never overwrites it.

ALTER TABLE subscriptions
    ADD COLUMN provider_customer_id     text,
    ADD COLUMN provider_order_id        text,
    ADD COLUMN provider_variant_id      text,
    ADD COLUMN provider_status          text,
    ADD COLUMN portal_url               text,
    ADD COLUMN update_payment_url       text,
    ADD COLUMN renews_at                timestamptz,
    ADD COLUMN ends_at                  timestamptz,
    ADD COLUMN trial_ends_at            timestamptz,
    ADD COLUMN provider_updated_at      timestamptz,
    ADD COLUMN card_brand               text,
    ADD COLUMN card_last_four           text,
    ADD COLUMN created_at               timestamptz NOT NULL DEFAULT now();

CREATE UNIQUE INDEX subscriptions_provider_sub_idx
    ON subscriptions (provider, provider_subscription_id) WHERE provider_subscription_id IS NOT NULL;

-- One row per accepted (signature-verified) webhook delivery, deduplicated by
-- (provider, event_key): a replay finds its row and changes nothing. Bodies
-- that fail verification or are too large are refused before anything is
-- stored, so signature_ok is true on every row; it is kept explicit so the
-- audit trail says so. processed_at is set once the event was applied (or
-- deliberately ignored); error holds why it could not be applied, and a later
-- delivery of the same event retries it.
CREATE TABLE webhook_events (
    id              bigserial PRIMARY KEY,
    provider        text NOT NULL,
    event_key       text NOT NULL CHECK (event_key <> ''),
    event_name      text NOT NULL,
    raw_body        bytea NOT NULL,
    body_sha256     text NOT NULL CHECK (length(body_sha256) = 64),
    signature_ok    boolean NOT NULL,
    user_id         bigint REFERENCES users(id) ON DELETE SET NULL,
    provider_subscription_id text,
    outcome         text,     -- 'applied', 'stale', 'ignored', 'recorded' (payments)
    amount_cents    bigint,   -- payment events: the invoice total
    currency        text,
    payment_status  text,     -- payment events: the invoice status (paid, failed, ...)
    provider_status text,     -- subscription events: the status the event reported
    deliveries      int NOT NULL DEFAULT 1,
    received_at     timestamptz NOT NULL DEFAULT now(),
    processed_at    timestamptz,
    error           text,
    UNIQUE (provider, event_key)
);
CREATE INDEX webhook_events_user_idx ON webhook_events (user_id, received_at DESC);

-- The checkout URL handed out to a user, reused for a short window so a
-- double click (or two tabs) gives one checkout.
CREATE TABLE billing_checkouts (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider    text NOT NULL,
    plan        text NOT NULL,
    url         text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX billing_checkouts_user_idx ON billing_checkouts (user_id, created_at DESC);
