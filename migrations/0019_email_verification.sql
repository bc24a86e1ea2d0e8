-- 0019_email_verification: proof that a person owns their account's address.
--
-- Until now sign-up approved any account whose email matched an approved
-- access request, so anyone could claim someone else's invite. An approval
-- from an access request and any paid plan now apply only once
-- users.email_verified_at is set, by following a link e-mailed to the
-- address (docs/accounts.md). The same links reset forgotten passwords.

ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

-- Accounts created before this migration keep what they had: they are
-- counted as verified (their approvals were granted under the old rules;
-- nothing here can tell a claimed invite from a genuine one).
UPDATE users SET email_verified_at = created_at;

-- One row per link sent. Only the SHA-256 of the link's token is stored, so
-- a copy of the table cannot be turned back into working links.
CREATE TABLE email_tokens (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
    token_hash  text NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    email       text NOT NULL,             -- the address the link went to
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,               -- followed (single use)
    revoked_at  timestamptz                -- replaced by a newer link, or the password changed
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

-- Account mail sent, for the rate limits (per address, per account, per
-- client address). Requests for addresses without an account count too, so
-- a limit never tells whether an account exists.
CREATE TABLE mail_sends (
    id      bigserial PRIMARY KEY,
    email   text NOT NULL,
    user_id bigint REFERENCES users(id) ON DELETE SET NULL,
    kind    text NOT NULL,
    addr    text NOT NULL DEFAULT '',
    at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_sends_email ON mail_sends (email, at);
CREATE INDEX mail_sends_user ON mail_sends (user_id, at);
CREATE INDEX mail_sends_addr ON mail_sends (addr, at);
