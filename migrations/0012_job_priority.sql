-- 0012_job_priority: claiming by priority, so free work never delays paid
-- work (docs/jobs.md). Higher runs first; 0 is the default; free chat
-- replies are enqueued at -1. Within a priority: oldest due first.

ALTER TABLE jobs ADD COLUMN priority smallint NOT NULL DEFAULT 0;

CREATE INDEX jobs_claim_priority_idx ON jobs (priority DESC, run_after, id) WHERE status = 'pending';
