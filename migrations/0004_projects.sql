-- 0004_projects: projects with the structured business profile, website
-- ingestion runs with per-page outcomes, and the context documents that
-- ground generation and chat (see docs/projects.md and docs/ingestion.md).
--
-- Validation happens in host/projects/profile.c with field-level messages;
-- the CHECKs here are the last line of defence for the same rules.

CREATE TABLE projects (
    id                bigserial PRIMARY KEY,
    owner_id          bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    project_type      text NOT NULL CHECK (project_type IN ('business', 'creator', 'app')),
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    business_name     text,
    category          text,
    city              text,
    state             text,
    target_audience   text,
    primary_offer     text,
    price_range       text,
    tone              text,
    cta               text,
    instagram_handle  text CHECK (instagram_handle ~ '^[a-z0-9._]{1,30}$'),
    whatsapp_number   text CHECK (whatsapp_number ~ '^\+[1-9][0-9]{7,14}$'),
    website_url       text CHECK (website_url ~ '^https?://'),
    preferred_channels text[] NOT NULL DEFAULT '{}'
                      CHECK (preferred_channels <@ ARRAY['instagram', 'tiktok', 'whatsapp']::text[]),
    language_style    text CHECK (language_style IN ('english', 'pidgin', 'mixed')),
    -- Onboarding: the step the guided flow resumes at; 'done' once finished.
    onboarding_step   text NOT NULL DEFAULT 'basics'
                      CHECK (onboarding_step IN ('basics', 'business', 'audience', 'channels', 'website', 'done')),
    onboarded_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_owner_idx ON projects (owner_id, status);

-- One website ingestion of a project: the durable job that runs it and what
-- happened. At most one queued or running ingestion per project.
CREATE TABLE ingestion_runs (
    id             bigserial PRIMARY KEY,
    project_id     bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    job_id         bigint REFERENCES jobs(id) ON DELETE SET NULL,
    start_url      text NOT NULL,
    status         text NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    pages_fetched  int NOT NULL DEFAULT 0,
    pages_ok       int NOT NULL DEFAULT 0,
    documents      int NOT NULL DEFAULT 0,
    error          text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz
);
CREATE INDEX ingestion_runs_project_idx ON ingestion_runs (project_id, id DESC);
CREATE UNIQUE INDEX ingestion_runs_one_active ON ingestion_runs (project_id)
    WHERE status IN ('queued', 'running');

-- Per-page outcomes of a run, in crawl order.
CREATE TABLE ingestion_pages (
    id           bigserial PRIMARY KEY,
    run_id       bigint NOT NULL REFERENCES ingestion_runs(id) ON DELETE CASCADE,
    position     int NOT NULL,
    url          text NOT NULL,
    final_url    text,
    outcome      text NOT NULL,   -- ok, noindex, duplicate, robots_disallowed, not_html, too_large,
                                  -- http_error, off_site, blocked, timeout, error, ...
    http_status  int,
    content_type text,
    bytes        bigint NOT NULL DEFAULT 0,
    title        text,
    message      text,
    UNIQUE (run_id, position)
);

-- The text that grounds generation: one row per ingested page. Re-ingesting
-- replaces a project's 'website' documents in one transaction.
CREATE TABLE context_documents (
    id           bigserial PRIMARY KEY,
    project_id   bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    run_id       bigint REFERENCES ingestion_runs(id) ON DELETE SET NULL,
    source       text NOT NULL DEFAULT 'website' CHECK (source IN ('website')),
    position     int NOT NULL DEFAULT 0,      -- crawl order (0 = the start page)
    url          text NOT NULL,
    title        text NOT NULL DEFAULT '',
    description  text NOT NULL DEFAULT '',
    headings     jsonb NOT NULL DEFAULT '[]'::jsonb,
    body_text    text NOT NULL DEFAULT '',
    charset      text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX context_documents_project_idx ON context_documents (project_id, position);
