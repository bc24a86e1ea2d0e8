-- 0017_performance: weekly performance, scores and the learning loop
-- (docs/performance.md).
--
--  * projects.currency: the currency whose revenue is scored (NULL: the
--    currency of the project's first revenue event). Other currencies are
--    listed, never converted.
--  * content_item_views: views (and reach) of an item where known — entered
--    by the owner for manual items, or read from the publisher's insights.
--  * item_daily_rollups: per item and day (in the project's zone).
--  * item_cycle_rollups: per item and cycle, with the score and the class.
--    A rollup replaces a cycle's rows in one transaction while holding the
--    cycle's row lock, so running it twice gives the same rows and two
--    workers never roll up the same cycle at the same time.
--  * cycle_analyses: every analysis of a cycle (the latest is also
--    strategy_cycles.analysis); counted for the per-project rate limit.
--  * strategy_cycles: rollup bookkeeping, and the request that generated the
--    next cycle (generate-next is idempotent by cycle).

ALTER TABLE projects ADD COLUMN currency text CHECK (currency ~ '^[A-Z]{3}$');

CREATE TABLE content_item_views (
    content_item_id bigint PRIMARY KEY REFERENCES content_items (id) ON DELETE CASCADE,
    views           bigint NOT NULL CHECK (views >= 0 AND views <= 1000000000000),
    reach           bigint CHECK (reach >= 0),
    source          text NOT NULL CHECK (source IN ('manual', 'insights')),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE item_daily_rollups (
    content_item_id     bigint NOT NULL REFERENCES content_items (id) ON DELETE CASCADE,
    cycle_id            bigint NOT NULL REFERENCES strategy_cycles (id) ON DELETE CASCADE,
    project_id          bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    day                 date NOT NULL,
    clicks              int NOT NULL DEFAULT 0,   -- people (bots excluded)
    unique_clicks       int NOT NULL DEFAULT 0,   -- distinct visitor hashes
    bot_clicks          int NOT NULL DEFAULT 0,
    signups             int NOT NULL DEFAULT 0,
    conversions         int NOT NULL DEFAULT 0,   -- every conversion type, signups included
    conversions_by_type jsonb NOT NULL DEFAULT '{}',
    revenue             jsonb NOT NULL DEFAULT '{}', -- {"NGN": minor units, …}
    PRIMARY KEY (content_item_id, day)
);
CREATE INDEX item_daily_rollups_cycle ON item_daily_rollups (cycle_id, day);
CREATE INDEX item_daily_rollups_project ON item_daily_rollups (project_id, day);

CREATE TABLE item_cycle_rollups (
    cycle_id             bigint NOT NULL REFERENCES strategy_cycles (id) ON DELETE CASCADE,
    content_item_id      bigint NOT NULL REFERENCES content_items (id) ON DELETE CASCADE,
    project_id           bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    clicks               int NOT NULL,
    unique_clicks        int NOT NULL,
    bot_clicks           int NOT NULL,
    signups              int NOT NULL,
    conversions          int NOT NULL,
    conversions_by_type  jsonb NOT NULL,
    revenue              jsonb NOT NULL,          -- every currency, minor units
    currency             text,                    -- the scored currency (NULL: no revenue yet)
    revenue_scored_minor bigint NOT NULL,         -- revenue in that currency
    views                bigint,                  -- NULL: unknown
    views_source         text,
    ctr                  double precision,        -- clicks / views; NULL when views are unknown
    score                double precision NOT NULL,
    class                text NOT NULL CHECK (class IN ('winner', 'neutral', 'loser')),
    rank                 int NOT NULL,
    PRIMARY KEY (cycle_id, content_item_id)
);
CREATE INDEX item_cycle_rollups_item ON item_cycle_rollups (content_item_id);

ALTER TABLE strategy_cycles
    ADD COLUMN rolled_up_at timestamptz,
    ADD COLUMN rollup_runs int NOT NULL DEFAULT 0,
    ADD COLUMN rolled_up_day date,                 -- the project-zone day of the last nightly rollup
    ADD COLUMN next_cycle_id bigint REFERENCES strategy_cycles (id) ON DELETE SET NULL,
    ADD COLUMN next_request_id text;

CREATE TABLE cycle_analyses (
    id         bigserial PRIMARY KEY,
    cycle_id   bigint NOT NULL REFERENCES strategy_cycles (id) ON DELETE CASCADE,
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    analysis   jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cycle_analyses_project ON cycle_analyses (project_id, created_at DESC);
CREATE INDEX cycle_analyses_cycle ON cycle_analyses (cycle_id, created_at DESC);

-- What a derived post tried ("hook improved from …", "new angle: …").
ALTER TABLE content_items ADD COLUMN derived_label text CHECK (length(derived_label) <= 300);
