-- 0030_chat_list_summary: what the chat list shows of a conversation's
-- messages, stored on the conversation (docs/scale.md, docs/chat.md).
--
-- GET /api/chats listed each conversation with its message count and the
-- text of its newest message that has any (two subqueries per row). Both
-- now live on the conversation row and are kept right by a trigger on
-- messages, in the same transaction as the message's insert, update or
-- delete, whichever code (or test) writes it:
--
--  * message_count: the conversation's messages (pending ones included).
--  * preview_message_id: the newest message whose content is not empty
--    (NULL: none yet).
--  * preview: that message's first 121 characters. The list cuts the
--    preview at 120 characters on a word boundary (cl_truncate_words,
--    which reads at most the first 121 characters to decide), so the
--    stored prefix gives the same preview as the whole text.
--
-- The preview moves only forward (a newer message id), so two transactions
-- adding messages to one conversation leave the newest one whichever
-- commits last; a message emptied again (a retried reply) or deleted while
-- it is the preview gives the preview back to the newest message that still
-- has text.

ALTER TABLE conversations
    ADD COLUMN message_count integer NOT NULL DEFAULT 0 CHECK (message_count >= 0),
    ADD COLUMN preview_message_id bigint,
    ADD COLUMN preview text;

-- The preview from the messages themselves (no text anywhere: NULL, NULL).
CREATE FUNCTION cl_conversation_preview_reset(conv bigint) RETURNS void
LANGUAGE sql AS $$
    UPDATE conversations
       SET (preview_message_id, preview) = (
           SELECT m.id, left(m.content, 121) FROM messages m
            WHERE m.conversation_id = conv AND m.content <> '' ORDER BY m.id DESC LIMIT 1)
     WHERE id = conv
$$;

CREATE FUNCTION cl_messages_summary() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    shown bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE conversations
           SET message_count = message_count + 1,
               preview_message_id = CASE WHEN NEW.content <> '' AND coalesce(preview_message_id < NEW.id, true)
                                         THEN NEW.id ELSE preview_message_id END,
               preview = CASE WHEN NEW.content <> '' AND coalesce(preview_message_id < NEW.id, true)
                              THEN left(NEW.content, 121) ELSE preview END
         WHERE id = NEW.conversation_id;
    ELSIF TG_OP = 'DELETE' THEN
        -- (nothing to update when the conversation itself is being deleted)
        UPDATE conversations SET message_count = message_count - 1
         WHERE id = OLD.conversation_id RETURNING preview_message_id INTO shown;
        IF shown = OLD.id THEN
            PERFORM cl_conversation_preview_reset(OLD.conversation_id);
        END IF;
    ELSIF NEW.content <> '' THEN -- UPDATE OF content: the message has text now
        UPDATE conversations SET preview_message_id = NEW.id, preview = left(NEW.content, 121)
         WHERE id = NEW.conversation_id AND coalesce(preview_message_id <= NEW.id, true);
    ELSIF EXISTS (SELECT 1 FROM conversations WHERE id = NEW.conversation_id AND preview_message_id = NEW.id) THEN
        PERFORM cl_conversation_preview_reset(NEW.conversation_id); -- the preview's text was emptied
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER messages_summary
    AFTER INSERT OR DELETE OR UPDATE OF content ON messages
    FOR EACH ROW EXECUTE FUNCTION cl_messages_summary();

-- The conversations that exist: counted and previewed once.
UPDATE conversations c
   SET message_count = (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id),
       (preview_message_id, preview) = (
           SELECT m.id, left(m.content, 121) FROM messages m
            WHERE m.conversation_id = c.id AND m.content <> '' ORDER BY m.id DESC LIMIT 1);
