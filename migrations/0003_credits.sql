-- 0003_credits: credit balances, the immutable ledger and usage counters
-- (see docs/credits.md).
--
-- credit_accounts holds the current balances and is the source of truth;
-- every change to it writes exactly one ledger row per kind in the same
-- statement, so for each account and kind the ledger's amounts sum to the
-- balance. Balances can never go negative (CHECK).

CREATE TABLE credit_accounts (
    user_id            bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    generation_balance bigint NOT NULL DEFAULT 0 CHECK (generation_balance >= 0),
    render_balance     bigint NOT NULL DEFAULT 0 CHECK (render_balance >= 0),
    granted_month      date,              -- first day of the last month window whose grant was applied
    granted_generation bigint NOT NULL DEFAULT 0, -- generation credits granted in that window so far
    granted_render     bigint NOT NULL DEFAULT 0, -- render credits granted in that window so far
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE credit_ledger_entries (
    id                       bigserial PRIMARY KEY,
    user_id                  bigint NOT NULL REFERENCES credit_accounts(user_id),
    kind                     text NOT NULL CHECK (kind IN ('generation', 'render')),
    amount                   bigint NOT NULL CHECK (amount <> 0),      -- negative: debit
    reason                   text NOT NULL CHECK (reason IN ('charge', 'refund', 'monthly_grant', 'adjustment')),
    action                   text NOT NULL,
    reference_key            text NOT NULL CHECK (reference_key <> ''),
    generation_balance_after bigint NOT NULL,
    render_balance_after     bigint NOT NULL,
    refunds_entry_id         bigint REFERENCES credit_ledger_entries(id),
    created_at               timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, reference_key)
);
CREATE INDEX credit_ledger_user_idx ON credit_ledger_entries (user_id, id DESC);
CREATE UNIQUE INDEX credit_ledger_one_refund ON credit_ledger_entries (refunds_entry_id)
    WHERE refunds_entry_id IS NOT NULL;

-- The ledger is append-only: the database itself refuses to change history.
CREATE FUNCTION credit_ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'credit_ledger_entries is append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER credit_ledger_no_update_delete BEFORE UPDATE OR DELETE ON credit_ledger_entries
    FOR EACH ROW EXECUTE FUNCTION credit_ledger_immutable();
CREATE TRIGGER credit_ledger_no_truncate BEFORE TRUNCATE ON credit_ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION credit_ledger_immutable();

-- Reporting only: never consulted to allow or refuse a billable action.
-- Weekly and monthly windows are separate rows, so an action in a week that
-- spans two months counts once in each window kind, never twice in one.
CREATE TABLE usage_counters (
    user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    metric       text NOT NULL,
    window_kind  text NOT NULL CHECK (window_kind IN ('week', 'month')),
    window_start date NOT NULL,
    count        bigint NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, metric, window_kind, window_start)
);
