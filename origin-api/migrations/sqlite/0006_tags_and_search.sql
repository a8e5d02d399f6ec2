-- Tags agents put on conversations, and a full-text index of message bodies for the history
-- search. The index is FTS5 with the trigram tokenizer, so that any three characters match,
-- in Chinese (which has no spaces between words) as in English; its rows are the messages' own.
-- Messages enter it in small batches behind the commits (never in them, so indexing never holds
-- an acknowledgement back): `search_progress` says how far; a search scans what lies beyond.
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
CREATE TABLE search_progress (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_through   INTEGER NOT NULL
);
INSERT INTO search_progress (id, indexed_through) VALUES (1, 0);
