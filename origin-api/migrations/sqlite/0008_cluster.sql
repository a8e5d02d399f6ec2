-- A cluster of kefu serve nodes on this database: the nodes that are alive, and which node
-- hosts each site's room. A lease's fence grows by one each time it changes hands; writes carry
-- the fence they were made under, and a room that lost its lease cannot write over the next.
CREATE TABLE cluster_nodes (
    name          VARCHAR(100) NOT NULL PRIMARY KEY,
    url           VARCHAR(500) NOT NULL,
    heartbeat_at  BIGINT NOT NULL,
    draining      SMALLINT NOT NULL DEFAULT 0
);

CREATE TABLE site_leases (
    site_id     VARCHAR(64) NOT NULL PRIMARY KEY,
    node        VARCHAR(100) NOT NULL,
    fence       BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    move_to     VARCHAR(100) NULL
);
CREATE INDEX site_leases_by_node ON site_leases (node);
