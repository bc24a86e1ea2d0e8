-- 0008_weekly: the weekly loop (see docs/cycles.md).
--
--  * projects.timezone: the IANA zone the project's weeks and schedules are
--    in (validated in host/core/tz.c against the system zone database).
--  * strategy_cycles: one week of one project (Monday in the project's zone).
--  * content_items: the checked publish state machine (host/cycles/states.c
--    owns every transition), the manual queue status, the publish strategy,
--    the schedule, and the item's place in its cycle's pack.
--
-- Existing rows stay valid: 'unpublished' (the old free-text default)
-- becomes 'draft', unknown manual statuses become NULL, 'manual'/'auto'
-- strategies become 'manual_export'/'direct_instagram'.

ALTER TABLE projects ADD COLUMN timezone text NOT NULL DEFAULT 'UTC'
    CHECK (timezone ~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$' AND length(timezone) <= 64);

CREATE TABLE strategy_cycles (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id      bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    week_start      date NOT NULL CHECK (extract(isodow FROM week_start) = 1), -- a Monday, project's zone
    source          text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'iteration')),
    parent_cycle_id bigint REFERENCES strategy_cycles (id) ON DELETE SET NULL,
    status          text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'active', 'completed')),
    brief           text NOT NULL DEFAULT '' CHECK (length(brief) <= 1000), -- the week's focus
    -- The pack: who asked for the current one, and whether it is being made.
    -- At most one generation per cycle runs at a time (pack_status
    -- 'generating' is claimed with a conditional UPDATE).
    pack_status     text NOT NULL DEFAULT 'none' CHECK (pack_status IN ('none', 'generating', 'ready')),
    pack_request_id text,
    packs_generated int NOT NULL DEFAULT 0,
    analysis        jsonb,             -- the learning loop's analysis (later)
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, week_start)
);
CREATE INDEX strategy_cycles_user_recent ON strategy_cycles (user_id, week_start DESC);

ALTER TABLE content_items DROP CONSTRAINT content_items_publish_strategy_check;
UPDATE content_items SET publish_strategy = CASE publish_strategy WHEN 'auto' THEN 'direct_instagram'
                                                                   ELSE 'manual_export' END;
ALTER TABLE content_items ALTER COLUMN publish_strategy SET DEFAULT 'manual_export',
    ADD CONSTRAINT content_items_publish_strategy_check
        CHECK (publish_strategy IN ('direct_instagram', 'manual_export'));

UPDATE content_items SET publish_status = 'draft'
 WHERE publish_status NOT IN ('draft', 'approved', 'scheduled', 'publishing', 'published', 'failed', 'skipped');
ALTER TABLE content_items ALTER COLUMN publish_status SET DEFAULT 'draft',
    ADD CONSTRAINT content_items_publish_status_check
        CHECK (publish_status IN ('draft', 'approved', 'scheduled', 'publishing', 'published', 'failed', 'skipped'));

UPDATE content_items SET manual_status = NULL
 WHERE manual_status NOT IN ('ready_for_export', 'exported', 'posted');
ALTER TABLE content_items ADD CONSTRAINT content_items_manual_status_check
    CHECK (manual_status IN ('ready_for_export', 'exported', 'posted'));

ALTER TABLE content_items
    ADD COLUMN cycle_id bigint REFERENCES strategy_cycles (id) ON DELETE SET NULL,
    ADD COLUMN position int CHECK (position BETWEEN 1 AND 14),   -- place in the cycle's pack
    ADD COLUMN scheduled_at timestamptz,
    ADD COLUMN published_at timestamptz,
    ADD COLUMN publish_error text,
    -- Bumped by every schedule: the publish job's idempotency key is
    -- "publish:<item>:<attempt>", so an item is enqueued once per schedule.
    ADD COLUMN publish_attempt int NOT NULL DEFAULT 0 CHECK (publish_attempt >= 0),
    ADD COLUMN publish_job_id bigint REFERENCES jobs (id) ON DELETE SET NULL,
    ADD CONSTRAINT content_items_scheduled_has_time
        CHECK (publish_status <> 'scheduled' OR scheduled_at IS NOT NULL);

-- The pack of a cycle: one live item per position (replaced ones are skipped).
CREATE UNIQUE INDEX content_items_cycle_position ON content_items (cycle_id, position)
    WHERE cycle_id IS NOT NULL AND publish_status <> 'skipped';
-- The scheduler's scan: scheduled items not yet handed to a job.
CREATE INDEX content_items_due ON content_items (scheduled_at)
    WHERE publish_status = 'scheduled' AND publish_job_id IS NULL;
