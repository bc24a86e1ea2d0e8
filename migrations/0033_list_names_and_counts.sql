-- 0033_list_names_and_counts: what the project and chat lists show of other
-- rows, stored on the listed row (docs/scale.md).
--
--  * projects.documents_count: the project's context documents. GET
--    /api/projects counted them per project (a subquery per row, reading
--    every document's index entry: a read website is tens of pages). Kept by
--    a trigger on context_documents (insert, delete, a move to another
--    project), in the same transaction as the write.
--  * conversations.project_name: the name of the conversation's project.
--    GET /api/chats joined projects for it (one lookup per listed
--    conversation, up to 50). Set when a conversation is made or moved, and
--    when its project is renamed (a trigger on each side).
--
-- Both are filled for the rows that exist.

ALTER TABLE projects
    ADD COLUMN documents_count integer NOT NULL DEFAULT 0 CHECK (documents_count >= 0);

CREATE FUNCTION cl_context_documents_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        -- (nothing to update when the project itself is being deleted)
        UPDATE projects SET documents_count = documents_count - 1 WHERE id = OLD.project_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE projects SET documents_count = documents_count + 1 WHERE id = NEW.project_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER context_documents_count
    AFTER INSERT OR DELETE ON context_documents
    FOR EACH ROW EXECUTE FUNCTION cl_context_documents_count();
CREATE TRIGGER context_documents_count_move
    AFTER UPDATE OF project_id ON context_documents
    FOR EACH ROW WHEN (OLD.project_id IS DISTINCT FROM NEW.project_id)
    EXECUTE FUNCTION cl_context_documents_count();

UPDATE projects p
   SET documents_count = (SELECT count(*) FROM context_documents d WHERE d.project_id = p.id);

ALTER TABLE conversations ADD COLUMN project_name text NOT NULL DEFAULT '';

CREATE FUNCTION cl_conversation_project_name() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.project_name := coalesce((SELECT name FROM projects WHERE id = NEW.project_id), '');
    RETURN NEW;
END
$$;

CREATE TRIGGER conversations_project_name
    BEFORE INSERT OR UPDATE OF project_id ON conversations
    FOR EACH ROW EXECUTE FUNCTION cl_conversation_project_name();

CREATE FUNCTION cl_project_renamed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversations SET project_name = NEW.name WHERE project_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER projects_renamed
    AFTER UPDATE OF name ON projects
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION cl_project_renamed();

-- A project's conversations: the rename above, and the cascade of a
-- project's deletion, find them without reading every conversation.
CREATE INDEX conversations_project ON conversations (project_id);

UPDATE conversations c SET project_name = p.name FROM projects p WHERE p.id = c.project_id;
