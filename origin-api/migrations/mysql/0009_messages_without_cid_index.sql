-- The room's start-up reads a conversation's latest client ids by (conversation, seq), which the
-- primary key orders; an index by (conversation, cid) served nothing else, and keeping it cost
-- every stored message a second index entry.
ALTER TABLE messages DROP INDEX messages_by_cid;
