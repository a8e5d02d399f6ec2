-- Kefu's records. Times are milliseconds since the Unix epoch; ids are text.
-- Every row carries its tenant; every query filters by it.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE sites (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    site_key         TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    allowed_origins  TEXT NOT NULL,  -- JSON list of origins
    greeting         TEXT NOT NULL,
    auto_assign      INTEGER NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX sites_by_tenant ON sites (tenant_id, created_at);

CREATE TABLE agents (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email          TEXT NOT NULL UNIQUE,  -- stored lower-case
    name           TEXT NOT NULL,
    role           TEXT NOT NULL,
    capacity       INTEGER NOT NULL,
    all_sites      INTEGER NOT NULL,  -- 1: serves every site of the tenant; 0: those in agent_sites
    password_hash  TEXT NOT NULL,
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);
CREATE INDEX agents_by_tenant ON agents (tenant_id, created_at);

-- The sites an agent serves when not all_sites. Deleting a site removes it here; the agent then
-- serves fewer sites, never more.
CREATE TABLE agent_sites (
    agent_id  TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    site_id   TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    PRIMARY KEY (agent_id, site_id)
);

CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    agent_id    TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_by_agent ON refresh_tokens (agent_id);

CREATE TABLE visitors (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL,
    site_id        TEXT NOT NULL,
    first_seen_at  INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL,
    last_url       TEXT NOT NULL
);
CREATE INDEX visitors_by_site ON visitors (tenant_id, site_id, last_seen_at);

CREATE TABLE page_views (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT NOT NULL,
    site_id     TEXT NOT NULL,
    visitor_id  TEXT NOT NULL,
    url         TEXT NOT NULL,
    title       TEXT NOT NULL,
    referrer    TEXT NOT NULL,
    keywords    TEXT,
    viewed_at   INTEGER NOT NULL
);
CREATE INDEX page_views_by_visitor ON page_views (tenant_id, visitor_id, viewed_at);

-- Conversations keep their site id after a site is deleted: they are history.
CREATE TABLE conversations (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    site_id           TEXT NOT NULL,
    visitor_id        TEXT NOT NULL,
    status            TEXT NOT NULL,
    agent_id          TEXT,
    started_at        INTEGER NOT NULL,
    closed_at         INTEGER,
    rating            INTEGER,
    rating_comment    TEXT,
    visitor_read_seq  INTEGER NOT NULL DEFAULT 0,
    agent_read_seq    INTEGER NOT NULL DEFAULT 0
);
-- Lists page by id (ids sort by time); a room loads the open ones and those closed lately.
CREATE INDEX conversations_by_tenant ON conversations (tenant_id, id);
CREATE INDEX conversations_open ON conversations (tenant_id, site_id) WHERE status != 'closed';
CREATE INDEX conversations_closed ON conversations (tenant_id, site_id, closed_at);
CREATE INDEX conversations_by_visitor ON conversations (tenant_id, visitor_id, started_at);

-- (conversation, seq) orders a conversation. A retried send is recognised by its cid in the room,
-- within the latest 256 of its conversation (see docs/protocol.md); the cid index serves the
-- room's start-up and is not unique, so a cid reused beyond that window is stored, not dropped.
CREATE TABLE messages (
    conversation_id  TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    tenant_id        TEXT NOT NULL,
    site_id          TEXT NOT NULL,
    sender_party     TEXT NOT NULL,
    sender_id        TEXT,
    sender_name      TEXT,
    kind             TEXT NOT NULL,
    body             TEXT NOT NULL,
    cid              TEXT,
    event            TEXT,  -- JSON of the lifecycle event, for kind 'event'
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
CREATE INDEX messages_by_cid ON messages (conversation_id, cid);

CREATE TABLE leave_messages (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    site_id     TEXT NOT NULL,
    visitor_id  TEXT,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    body        TEXT NOT NULL,
    page_url    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    handled_at  INTEGER,
    handled_by  TEXT
);
CREATE INDEX leave_messages_by_tenant ON leave_messages (tenant_id, id);

CREATE TABLE quick_replies (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    agent_id    TEXT REFERENCES agents(id) ON DELETE CASCADE,  -- NULL: shared by the tenant
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX quick_replies_by_tenant ON quick_replies (tenant_id, created_at);

CREATE TABLE server_keys (
    name        TEXT PRIMARY KEY,
    value       BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);
