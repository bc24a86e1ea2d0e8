-- 0021_iso_time: cl_iso(timestamptz), a timestamp as the API shows it
-- ("2026-12-06T04:36:49Z", UTC, whole seconds).
--
-- The read routes' statements call it instead of spelling the to_char
-- format in their text, so the text holds no ':' outside casts and pgbench
-- can run the very same statements next to the host (tests/bench/routes).
-- A single-expression SQL function: the planner inlines it, so it costs
-- what the to_char it wraps costs.

CREATE FUNCTION cl_iso(ts timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;
