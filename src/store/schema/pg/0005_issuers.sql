-- 0005_issuers.sql — trusted issuers for the JWT-bearer grant (RFC 7523 §2.1) and the clients
-- that may present their assertions (schema/sqlite/0005_issuers.sql). SQLite's length() of
-- text counts characters, as char_length does here.
CREATE TABLE trusted_issuers (
    issuer     TEXT NOT NULL PRIMARY KEY CHECK (char_length(issuer) BETWEEN 1 AND 2048),
    jwks       TEXT CHECK (jwks IS NULL OR char_length(jwks) BETWEEN 1 AND 65536),
    jwks_uri   TEXT CHECK (jwks_uri IS NULL OR char_length(jwks_uri) BETWEEN 1 AND 2048),
    disabled   SMALLINT NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK ((jwks IS NULL) <> (jwks_uri IS NULL))
);

CREATE TABLE issuer_clients (
    issuer     TEXT NOT NULL REFERENCES trusted_issuers (issuer) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    PRIMARY KEY (issuer, client_id)
);
CREATE INDEX issuer_clients_client ON issuer_clients (client_id);
