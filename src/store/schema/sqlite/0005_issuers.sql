-- 0005_issuers.sql — trusted issuers for the JWT-bearer authorization grant (RFC 7523 §2.1):
-- parties other than the clients themselves whose signed assertions about a subject gatehouse
-- accepts, and which clients may present them.

-- An issuer: its iss value (an https URL or another identifier, checked by model/issuer.c) and
-- its public keys, given either inline (jwks, a JWKS document) or as a URL fetched and cached
-- by the server (jwks_uri) — exactly one of the two. A disabled issuer's assertions are refused.
CREATE TABLE trusted_issuers (
    issuer     TEXT NOT NULL PRIMARY KEY CHECK (length(issuer) BETWEEN 1 AND 2048),
    jwks       TEXT CHECK (jwks IS NULL OR length(jwks) BETWEEN 1 AND 65536),
    jwks_uri   TEXT CHECK (jwks_uri IS NULL OR length(jwks_uri) BETWEEN 1 AND 2048),
    disabled   INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK ((jwks IS NULL) <> (jwks_uri IS NULL))
) STRICT, WITHOUT ROWID;

-- Which clients may present assertions of an issuer. Deleting the issuer or the client removes
-- the row.
CREATE TABLE issuer_clients (
    issuer     TEXT NOT NULL REFERENCES trusted_issuers (issuer) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    PRIMARY KEY (issuer, client_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX issuer_clients_client ON issuer_clients (client_id);
