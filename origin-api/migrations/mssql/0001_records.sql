-- Kefu's records on SQL Server 2017 or later. Times are milliseconds since the Unix epoch; ids
-- compare by code point (a binary collation), as on SQLite. Flags are 0 or 1.
-- Every row carries its tenant; every query filters by it.

CREATE TABLE tenants (
    id          NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL PRIMARY KEY,
    name        NVARCHAR(MAX) NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE sites (
    id               NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL PRIMARY KEY,
    tenant_id        NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL
                     REFERENCES tenants (id) ON DELETE CASCADE,
    site_key         NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL UNIQUE,
    name             NVARCHAR(MAX) NOT NULL,
    allowed_origins  NVARCHAR(MAX) NOT NULL,
    greeting         NVARCHAR(MAX) NOT NULL,
    auto_assign      SMALLINT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX sites_by_tenant ON sites (tenant_id, created_at);

CREATE TABLE agents (
    id             NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL PRIMARY KEY,
    tenant_id      NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL
                   REFERENCES tenants (id) ON DELETE CASCADE,
    email          NVARCHAR(255) COLLATE Latin1_General_100_BIN2 NOT NULL UNIQUE,
    name           NVARCHAR(MAX) NOT NULL,
    role           NVARCHAR(16) NOT NULL,
    capacity       BIGINT NOT NULL,
    all_sites      SMALLINT NOT NULL,
    password_hash  NVARCHAR(MAX) NOT NULL,
    disabled       SMALLINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL
);
CREATE INDEX agents_by_tenant ON agents (tenant_id, created_at);

-- SQL Server allows one cascading path to a table: deleting a site removes its rows here; the
-- agent side is cleared by the store before an agent is deleted.
CREATE TABLE agent_sites (
    agent_id  NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL REFERENCES agents (id),
    site_id   NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    PRIMARY KEY (agent_id, site_id)
);

CREATE TABLE refresh_tokens (
    token_hash  NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL PRIMARY KEY,
    tenant_id   NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    agent_id    NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL
                REFERENCES agents (id) ON DELETE CASCADE,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_by_agent ON refresh_tokens (agent_id);

CREATE TABLE visitors (
    id             NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL PRIMARY KEY,
    tenant_id      NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    site_id        NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    first_seen_at  BIGINT NOT NULL,
    last_seen_at   BIGINT NOT NULL,
    last_url       NVARCHAR(MAX) NOT NULL
);
CREATE INDEX visitors_by_site ON visitors (tenant_id, site_id, last_seen_at);
CREATE INDEX visitors_by_tenant ON visitors (tenant_id, id);

CREATE TABLE page_views (
    id          BIGINT IDENTITY(1, 1) NOT NULL PRIMARY KEY,
    tenant_id   NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    site_id     NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    visitor_id  NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    url         NVARCHAR(MAX) NOT NULL,
    title       NVARCHAR(MAX) NOT NULL,
    referrer    NVARCHAR(MAX) NOT NULL,
    keywords    NVARCHAR(MAX),
    viewed_at   BIGINT NOT NULL
);
CREATE INDEX page_views_by_visitor ON page_views (tenant_id, visitor_id, viewed_at);

CREATE TABLE conversations (
    id                NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL PRIMARY KEY,
    tenant_id         NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    site_id           NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    visitor_id        NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    status            NVARCHAR(16) NOT NULL,
    agent_id          NVARCHAR(64) COLLATE Latin1_General_100_BIN2,
    started_at        BIGINT NOT NULL,
    closed_at         BIGINT,
    rating            BIGINT,
    rating_comment    NVARCHAR(MAX),
    visitor_read_seq  BIGINT NOT NULL DEFAULT 0,
    agent_read_seq    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX conversations_by_tenant ON conversations (tenant_id, id);
-- Not a filtered index: those make every write depend on the connection's SET options.
CREATE INDEX conversations_open ON conversations (tenant_id, site_id, status);
CREATE INDEX conversations_closed ON conversations (tenant_id, site_id, closed_at);
CREATE INDEX conversations_by_visitor ON conversations (tenant_id, visitor_id, started_at);

CREATE TABLE messages (
    conversation_id  NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    seq              BIGINT NOT NULL,
    tenant_id        NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    site_id          NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    sender_party     NVARCHAR(16) NOT NULL,
    sender_id        NVARCHAR(64) COLLATE Latin1_General_100_BIN2,
    sender_name      NVARCHAR(MAX),
    kind             NVARCHAR(16) NOT NULL,
    body             NVARCHAR(MAX) NOT NULL,
    cid              NVARCHAR(128) COLLATE Latin1_General_100_BIN2,  -- 64 characters, counted in UTF-16
    event            NVARCHAR(MAX),
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
CREATE INDEX messages_by_cid ON messages (conversation_id, cid);

CREATE TABLE leave_messages (
    id          NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL PRIMARY KEY,
    tenant_id   NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    site_id     NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL,
    visitor_id  NVARCHAR(64) COLLATE Latin1_General_100_BIN2,
    name        NVARCHAR(MAX) NOT NULL,
    email       NVARCHAR(MAX) NOT NULL,
    body        NVARCHAR(MAX) NOT NULL,
    page_url    NVARCHAR(MAX) NOT NULL,
    created_at  BIGINT NOT NULL,
    handled_at  BIGINT,
    handled_by  NVARCHAR(64) COLLATE Latin1_General_100_BIN2
);
CREATE INDEX leave_messages_by_tenant ON leave_messages (tenant_id, id);

-- Quick replies go with their tenant and agent; the store deletes an agent's own before the agent.
CREATE TABLE quick_replies (
    id          NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL PRIMARY KEY,
    tenant_id   NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL
                REFERENCES tenants (id) ON DELETE CASCADE,
    agent_id    NVARCHAR(64) COLLATE Latin1_General_100_BIN2,
    title       NVARCHAR(300) COLLATE Latin1_General_100_BIN2 NOT NULL,
    body        NVARCHAR(MAX) NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX quick_replies_by_tenant ON quick_replies (tenant_id, created_at);

CREATE TABLE server_keys (
    name        NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL PRIMARY KEY,
    value       VARBINARY(MAX) NOT NULL,
    created_at  BIGINT NOT NULL
);
