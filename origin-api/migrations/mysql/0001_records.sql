-- Kefu's records on MySQL 8 and MariaDB 10.11. Times are milliseconds since the Unix epoch; ids
-- are text compared byte for byte (utf8mb4_bin), as on SQLite. Flags are 0 or 1.
-- Every row carries its tenant; every query filters by it.

CREATE TABLE tenants (
    id          VARCHAR(64) NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE sites (
    id               VARCHAR(64) NOT NULL PRIMARY KEY,
    tenant_id        VARCHAR(64) NOT NULL,
    site_key         VARCHAR(64) NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    allowed_origins  TEXT NOT NULL,
    greeting         TEXT NOT NULL,
    auto_assign      SMALLINT NOT NULL,
    created_at       BIGINT NOT NULL,
    INDEX sites_by_tenant (tenant_id, created_at),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE agents (
    id             VARCHAR(64) NOT NULL PRIMARY KEY,
    tenant_id      VARCHAR(64) NOT NULL,
    email          VARCHAR(255) NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    role           VARCHAR(16) NOT NULL,
    capacity       BIGINT NOT NULL,
    all_sites      SMALLINT NOT NULL,
    password_hash  TEXT NOT NULL,
    disabled       SMALLINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    INDEX agents_by_tenant (tenant_id, created_at),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE agent_sites (
    agent_id  VARCHAR(64) NOT NULL,
    site_id   VARCHAR(64) NOT NULL,
    PRIMARY KEY (agent_id, site_id),
    FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE,
    FOREIGN KEY (site_id) REFERENCES sites (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE refresh_tokens (
    token_hash  VARCHAR(64) NOT NULL PRIMARY KEY,
    tenant_id   VARCHAR(64) NOT NULL,
    agent_id    VARCHAR(64) NOT NULL,
    expires_at  BIGINT NOT NULL,
    INDEX refresh_tokens_by_agent (agent_id),
    FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE visitors (
    id             VARCHAR(64) NOT NULL PRIMARY KEY,
    tenant_id      VARCHAR(64) NOT NULL,
    site_id        VARCHAR(64) NOT NULL,
    first_seen_at  BIGINT NOT NULL,
    last_seen_at   BIGINT NOT NULL,
    last_url       TEXT NOT NULL,
    INDEX visitors_by_site (tenant_id, site_id, last_seen_at),
    INDEX visitors_by_tenant (tenant_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE page_views (
    id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    tenant_id   VARCHAR(64) NOT NULL,
    site_id     VARCHAR(64) NOT NULL,
    visitor_id  VARCHAR(64) NOT NULL,
    url         TEXT NOT NULL,
    title       TEXT NOT NULL,
    referrer    TEXT NOT NULL,
    keywords    TEXT,
    viewed_at   BIGINT NOT NULL,
    INDEX page_views_by_visitor (tenant_id, visitor_id, viewed_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Conversations keep their site id after a site is deleted: they are history.
CREATE TABLE conversations (
    id                VARCHAR(64) NOT NULL PRIMARY KEY,
    tenant_id         VARCHAR(64) NOT NULL,
    site_id           VARCHAR(64) NOT NULL,
    visitor_id        VARCHAR(64) NOT NULL,
    status            VARCHAR(16) NOT NULL,
    agent_id          VARCHAR(64),
    started_at        BIGINT NOT NULL,
    closed_at         BIGINT,
    rating            BIGINT,
    rating_comment    TEXT,
    visitor_read_seq  BIGINT NOT NULL DEFAULT 0,
    agent_read_seq    BIGINT NOT NULL DEFAULT 0,
    INDEX conversations_by_tenant (tenant_id, id),
    INDEX conversations_open (tenant_id, site_id, status),
    INDEX conversations_closed (tenant_id, site_id, closed_at),
    INDEX conversations_by_visitor (tenant_id, visitor_id, started_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- (conversation, seq) orders a conversation; the cid index serves a room's start-up and is not
-- unique (see the SQLite schema).
CREATE TABLE messages (
    conversation_id  VARCHAR(64) NOT NULL,
    seq              BIGINT NOT NULL,
    tenant_id        VARCHAR(64) NOT NULL,
    site_id          VARCHAR(64) NOT NULL,
    sender_party     VARCHAR(16) NOT NULL,
    sender_id        VARCHAR(64),
    sender_name      TEXT,
    kind             VARCHAR(16) NOT NULL,
    body             TEXT NOT NULL,
    cid              VARCHAR(64),
    event            TEXT,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    INDEX messages_by_cid (conversation_id, cid)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE leave_messages (
    id          VARCHAR(64) NOT NULL PRIMARY KEY,
    tenant_id   VARCHAR(64) NOT NULL,
    site_id     VARCHAR(64) NOT NULL,
    visitor_id  VARCHAR(64),
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    body        TEXT NOT NULL,
    page_url    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    handled_at  BIGINT,
    handled_by  VARCHAR(64),
    INDEX leave_messages_by_tenant (tenant_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE quick_replies (
    id          VARCHAR(64) NOT NULL PRIMARY KEY,
    tenant_id   VARCHAR(64) NOT NULL,
    agent_id    VARCHAR(64),
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    INDEX quick_replies_by_tenant (tenant_id, created_at),
    FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE server_keys (
    name        VARCHAR(64) NOT NULL PRIMARY KEY,
    value       BLOB NOT NULL,
    created_at  BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
