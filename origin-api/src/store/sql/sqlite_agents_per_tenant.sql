-- An email is unique within a tenant, not across tenants: one tenant's new agent no longer
-- tells it that another tenant has someone with that email. SQLite cannot drop a column's
-- UNIQUE, so the table is made anew, with foreign keys off meanwhile (dropping the old table
-- would otherwise delete what refers to it). Run by SqlStore::open_sqlite, outside the
-- migrations: sqlx runs each SQLite migration in a transaction, where they cannot be turned off.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE agents_per_tenant (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email             TEXT NOT NULL,  -- stored lower-case
    name              TEXT NOT NULL,
    role              TEXT NOT NULL,
    capacity          INTEGER NOT NULL,
    all_sites         INTEGER NOT NULL,
    password_hash     TEXT NOT NULL,
    disabled          INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    token_generation  INTEGER NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, email)
);
INSERT INTO agents_per_tenant (id, tenant_id, email, name, role, capacity, all_sites, password_hash, disabled,
                               created_at, token_generation)
    SELECT id, tenant_id, email, name, role, capacity, all_sites, password_hash, disabled, created_at,
           token_generation
    FROM agents;
DROP TABLE agents;
ALTER TABLE agents_per_tenant RENAME TO agents;
CREATE INDEX agents_by_tenant ON agents (tenant_id, created_at);
CREATE INDEX agents_by_email ON agents (email);
COMMIT;
PRAGMA foreign_keys = ON;
