-- 0004_s2s.sql — service-to-service: the APIs that accept gatehouse tokens (RFC 8707 resource
-- indicators), which clients may get tokens for them and with which scopes, and the jti of
-- every client assertion seen (RFC 7523 §3: single use until it expires).

-- An API. id is its resource indicator (an absolute URI), which becomes the aud of its tokens.
-- scopes: the scopes it defines, space-separated.
CREATE TABLE resources (
    id         TEXT NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Which clients may obtain tokens for a resource, and which of its scopes (a space-separated
-- subset; '' = the audience only). Deleting the client or the resource removes the row.
CREATE TABLE resource_clients (
    resource   TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (resource, client_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX resource_clients_client ON resource_clients (client_id);

-- Client assertions (and later JWT-bearer grant assertions) already used: (iss, jti) is
-- accepted once; kept until the assertion's own exp, then purged.
CREATE TABLE used_jtis (
    iss        TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (iss, jti)
) STRICT, WITHOUT ROWID;
CREATE INDEX used_jtis_expires ON used_jtis (expires_at);
