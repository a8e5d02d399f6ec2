-- Tags agents put on conversations, and a FULLTEXT index of message bodies for the history
-- search (words of three letters or more; shorter words and Chinese are matched with LIKE). The
-- bodies are compared without regard to case, so the index finds "Ship" for "ship"; what is
-- stored does not change.
CREATE TABLE conversation_tags (
    tenant_id        VARCHAR(64) NOT NULL,
    conversation_id  VARCHAR(64) NOT NULL,
    tag              VARCHAR(128) NOT NULL,
    PRIMARY KEY (conversation_id, tag),
    INDEX conversation_tags_by_tag (tenant_id, tag)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

ALTER TABLE messages MODIFY body TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL;
ALTER TABLE messages ADD FULLTEXT INDEX message_search (body);
