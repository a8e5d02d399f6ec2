-- Tags agents put on conversations, and a full-text index of message bodies for the history
-- search. The index is FTS5 with the trigram tokenizer, so that any three characters match,
-- in Chinese (which has no spaces between words) as in English; the rows are the messages' own.
CREATE TABLE conversation_tags (
    tenant_id        TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    tag              TEXT NOT NULL,
    PRIMARY KEY (conversation_id, tag)
);
CREATE INDEX conversation_tags_by_tag ON conversation_tags (tenant_id, tag);

CREATE VIRTUAL TABLE message_search USING fts5(
    body, content = 'messages', content_rowid = 'rowid', tokenize = 'trigram case_sensitive 0'
);
CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_search (rowid, body) VALUES (new.rowid, new.body);
END;
CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
    INSERT INTO message_search (message_search, rowid, body) VALUES ('delete', old.rowid, old.body);
END;
CREATE TRIGGER message_search_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO message_search (message_search, rowid, body) VALUES ('delete', old.rowid, old.body);
    INSERT INTO message_search (rowid, body) VALUES (new.rowid, new.body);
END;
INSERT INTO message_search (message_search) VALUES ('rebuild');
