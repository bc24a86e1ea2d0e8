-- 0002_accounts: users, sessions, failed log-ins, the waitlist and synced
-- subscriptions (see docs/accounts.md).
--
-- Emails are stored normalized (trimmed, lower-case). Session tokens are
-- stored only as their SHA-256 (hex); the cookie holds the token itself.

CREATE TABLE users (
    id               bigserial PRIMARY KEY,
    email            text NOT NULL UNIQUE CHECK (email <> '' AND email = lower(email)),
    password_hash    text,                       -- NULL: no password log-in (the mock-mode demo user)
    beta_approved    boolean NOT NULL DEFAULT false,
    beta_approved_at timestamptz,
    is_demo          boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   text NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    user_agent   text,
    addr         text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- One row per failed log-in; counted per email and per client address within
-- a sliding window to answer 429. Cleared for an email by a successful log-in.
CREATE TABLE login_failures (
    id     bigserial PRIMARY KEY,
    email  text NOT NULL,
    addr   text NOT NULL,
    at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email_idx ON login_failures (email, at);
CREATE INDEX login_failures_addr_idx ON login_failures (addr, at);
CREATE INDEX login_failures_at_idx ON login_failures (at);

-- The waitlist. At most one pending request per email: a repeat while one is
-- pending bumps request_count instead of adding a row.
CREATE TABLE access_requests (
    id            bigserial PRIMARY KEY,
    email         text NOT NULL CHECK (email <> '' AND email = lower(email)),
    name          text,
    note          text,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'declined')),
    request_count int NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    decided_at    timestamptz
);
CREATE UNIQUE INDEX access_requests_one_pending ON access_requests (email) WHERE status = 'pending';
CREATE INDEX access_requests_email_idx ON access_requests (email);

-- The billing provider's view of a user's subscription, synced by webhooks.
-- plan 'starter' is the product's Pro plan. The effective plan is derived
-- from this row plus users.beta_approved (host/plans/plans.c).
CREATE TABLE subscriptions (
    user_id                  bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    provider                 text NOT NULL DEFAULT 'none',
    provider_subscription_id text,
    plan                     text NOT NULL DEFAULT 'starter' CHECK (plan IN ('starter')),
    status                   text NOT NULL CHECK (status IN ('on_trial', 'active', 'past_due', 'cancelled',
                                                            'expired', 'paused', 'unpaid')),
    cancel_at_period_end     boolean NOT NULL DEFAULT false,
    current_period_end       timestamptz,
    updated_at               timestamptz NOT NULL DEFAULT now()
);
