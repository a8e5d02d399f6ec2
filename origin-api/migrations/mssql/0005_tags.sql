-- Tags agents put on conversations. (The history search matches message text with LIKE: SQL
-- Server's full-text search is an optional component not every server has.)
CREATE TABLE conversation_tags (
    tenant_id        NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    conversation_id  NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    tag              NVARCHAR(128) NOT NULL,
    PRIMARY KEY (conversation_id, tag)
);
CREATE INDEX conversation_tags_by_tag ON conversation_tags (tenant_id, tag);
