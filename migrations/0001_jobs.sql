-- 0001_jobs: the durable job queue (see docs/jobs.md).
--
-- A job moves pending -> running -> completed | failed | dead, and back from
-- running to pending when a retryable failure or an expired lease schedules
-- another attempt. `attempts` is the fencing token: every write by a worker
-- names (id, attempts) and requires status = 'running', so a worker that lost
-- its lease can never complete or fail an attempt another worker now owns.

CREATE TABLE jobs (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL CHECK (kind <> ''),
    payload         jsonb NOT NULL DEFAULT '{}'::jsonb,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'dead')),
    attempts        int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts    int NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    run_after       timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    locked_by       text,          -- worker id "host:pid:runner" of the current/last attempt
    idempotency_key text UNIQUE,   -- NULL: no deduplication
    last_error      text,
    result          jsonb,
    progress_done   bigint NOT NULL DEFAULT 0,
    progress_total  bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,   -- start of the current/last attempt
    finished_at     timestamptz,   -- set when completed, failed or dead
    CHECK (status <> 'running' OR (lease_until IS NOT NULL AND locked_by IS NOT NULL))
);

-- Claiming: pending jobs whose run_after has come.
CREATE INDEX jobs_claim_idx ON jobs (status, run_after);
-- Reaping: running jobs whose lease expired (a worker died).
CREATE INDEX jobs_lease_idx ON jobs (lease_until) WHERE status = 'running';

-- The audit trail: one row per transition, written in the same statement as
-- the transition itself, so "completed exactly once" is checkable.
CREATE TABLE job_events (
    id        bigserial PRIMARY KEY,
    job_id    bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt   int NOT NULL,
    event     text NOT NULL CHECK (event IN ('enqueued', 'claimed', 'completed', 'retry_scheduled',
                                             'failed', 'dead', 'lease_expired')),
    worker    text,
    detail    text,
    run_after timestamptz,        -- retry_scheduled: when the next attempt may start
    at        timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX job_events_job_idx ON job_events (job_id, id);
