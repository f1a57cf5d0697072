-- 0004_s2s.sql — service-to-service: resources, the clients allowed to use them, and used
-- assertion jtis (schema/sqlite/0004_s2s.sql).
CREATE TABLE resources (
    id         TEXT NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE resource_clients (
    resource   TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (resource, client_id)
);
CREATE INDEX resource_clients_client ON resource_clients (client_id);

CREATE TABLE used_jtis (
    iss        TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (iss, jti)
);
CREATE INDEX used_jtis_expires ON used_jtis (expires_at);
