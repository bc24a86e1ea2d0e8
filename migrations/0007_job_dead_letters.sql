-- 0007_job_dead_letters: the dead-letter path of the job queue (docs/jobs.md).
--
-- A job that ends failed or dead may leave paid work without an outcome
-- (a render whose last attempt died by lease expiry never ran its handler's
-- failure path). Workers run the kind's dead-letter handler once for every
-- such job (refund, move the item or chat job to a state the user can retry
-- from) and then set dead_lettered_at. Kinds without a handler keep NULL.

ALTER TABLE jobs ADD COLUMN dead_lettered_at timestamptz;

-- The sweep: final jobs whose dead-letter handler has not run yet.
CREATE INDEX jobs_dead_letter_idx ON jobs (kind, id)
    WHERE status IN ('failed', 'dead') AND dead_lettered_at IS NULL;
