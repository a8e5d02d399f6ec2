-- The room's start-up reads a conversation's latest client ids by (conversation, seq), which the
-- primary key orders; an index by (conversation, cid) served nothing else, and keeping it cost
-- every stored message a second index entry (a quarter of the group commit's time at 10,000
-- messages a second; docs/benchmarks.md).
DROP INDEX IF EXISTS messages_by_cid;
