-- Chat: conversations per user and project, their messages, and the chat
-- jobs that produce assistant replies (free chat, or a paid generation run
-- through the create pipeline). The work itself runs as the durable job
-- "chat.reply" (host/chat/); these tables are what the thread shows.

CREATE TABLE conversations (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    title text NOT NULL DEFAULT '',
    title_edited boolean NOT NULL DEFAULT false, -- the user renamed it: never derive again
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now() -- last activity
);
CREATE INDEX conversations_user_recent ON conversations (user_id, updated_at DESC, id DESC);

-- One assistant turn's work. request_id is the client's idempotency key of
-- the message POST: the same key again returns this job instead of a new one.
-- ref_seq moves only when a retry follows a failure whose charge was
-- refunded, so the ledger reference "chat_job:<id>[:r<seq>]" never pays twice.
CREATE TABLE chat_jobs (
    id bigserial PRIMARY KEY,
    conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    mode text NOT NULL CHECK (mode IN ('chat', 'generate_copy', 'generate_video')),
    request_id text NOT NULL,
    prompt text NOT NULL,
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'rendering', 'completed', 'failed')),
    channel text,
    brief jsonb,                 -- kept after the brief step so a retry does not ask again
    error_code text,
    error_message text,
    retries integer NOT NULL DEFAULT 0,
    ref_seq integer NOT NULL DEFAULT 0,
    job_id bigint REFERENCES jobs (id) ON DELETE SET NULL, -- the current durable job
    content_item_id bigint REFERENCES content_items (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    UNIQUE (user_id, request_id)
);
CREATE INDEX chat_jobs_conversation ON chat_jobs (conversation_id, id);

-- The steps of a chat job in order (reply; or credits, brief, draft, render).
CREATE TABLE chat_job_steps (
    chat_job_id bigint NOT NULL REFERENCES chat_jobs (id) ON DELETE CASCADE,
    position integer NOT NULL,
    name text NOT NULL,
    label text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed', 'skipped')),
    detail text,
    started_at timestamptz,
    finished_at timestamptz,
    PRIMARY KEY (chat_job_id, name)
);

CREATE TABLE messages (
    id bigserial PRIMARY KEY,
    conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('user', 'assistant')),
    mode text NOT NULL CHECK (mode IN ('chat', 'generate_copy', 'generate_video')),
    content text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'done' CHECK (status IN ('pending', 'done', 'failed')),
    card jsonb,                  -- the assistant's result card (promo), when there is one
    chat_job_id bigint REFERENCES chat_jobs (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE UNIQUE INDEX messages_chat_job_role ON messages (chat_job_id, role) WHERE chat_job_id IS NOT NULL;
