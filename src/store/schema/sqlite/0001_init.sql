-- 0001_init.sql — the first gatehouse schema (SQLite 3.37+: STRICT tables).
--
-- Migrations are numbered files applied in name order, each in one BEGIN IMMEDIATE
-- transaction together with PRAGMA user_version = <its number> (store_sqlite.c). A file is
-- never edited once released: schema changes are a new file.
-- Times are Unix seconds (INTEGER). Text is UTF-8 and validated by model/ before it gets here.

-- Marks the file as a gatehouse database ("GHSE"), so `gatehouse` refuses to migrate some
-- other application's SQLite file and `file(1)` can tell what it is.
PRAGMA application_id = 1195922245;

-- Realm settings, e.g. the issuer recorded by `gatehouse init`.
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- End users. sub is the OIDC subject: 256 random bits, never derived from the username, never
-- changed and never reused (see retired_subs). Usernames are stored lower-case by model/user.c;
-- COLLATE NOCASE additionally makes "Alice" and "alice" the same key for lookups and UNIQUE.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    sub           TEXT NOT NULL UNIQUE,
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    email         TEXT,
    name          TEXT,
    password_hash TEXT,                 -- Argon2id PHC string; NULL: no password login
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- Subjects of deleted users. OIDC Core §5.7: sub is "never reassigned", so a relying party
-- that keys accounts on sub can never hand one person's account to another.
CREATE TABLE retired_subs (
    sub TEXT PRIMARY KEY
) STRICT;

CREATE TRIGGER users_retire_sub AFTER DELETE ON users
BEGIN
    INSERT OR IGNORE INTO retired_subs (sub) VALUES (OLD.sub);
END;

-- store_sqlite.c maps this message to GH_EEXIST.
CREATE TRIGGER users_sub_not_retired BEFORE INSERT ON users
WHEN EXISTS (SELECT 1 FROM retired_subs WHERE sub = NEW.sub)
BEGIN
    SELECT RAISE(ABORT, 'sub is retired');
END;

CREATE TRIGGER users_sub_immutable BEFORE UPDATE OF sub ON users
WHEN NEW.sub IS NOT OLD.sub
BEGIN
    SELECT RAISE(ABORT, 'sub is immutable');
END;

-- OAuth clients. Lists of tokens without spaces (grant types, scopes) are stored
-- space-separated; URIs, which are ordered and may be many, live in client_uris.
-- secret_hash is sec_client_secret_hash() (HMAC keyed by keys/secret.key), never the secret;
-- secret_sealed is the AES-GCM-sealed secret, kept only for client_secret_jwt, where the
-- secret is the HMAC key that verifies the client's assertions.
CREATE TABLE clients (
    id            INTEGER PRIMARY KEY,
    client_id     TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    public        INTEGER NOT NULL CHECK (public IN (0, 1)),
    auth_method   TEXT NOT NULL,        -- RFC 8414 name, e.g. client_secret_basic
    grant_types   TEXT NOT NULL,        -- space-separated
    scopes        TEXT NOT NULL,        -- space-separated
    jwks          TEXT,                 -- private_key_jwt: the client's public JWKS
    secret_hash   BLOB CHECK (secret_hash IS NULL OR length(secret_hash) = 32),
    secret_sealed BLOB,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

-- A client's redirect URIs (kind 0) and post-logout redirect URIs (kind 1), in registration
-- order (pos). They go when the client goes.
CREATE TABLE client_uris (
    client INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    kind   INTEGER NOT NULL CHECK (kind IN (0, 1)),
    pos    INTEGER NOT NULL,
    uri    TEXT NOT NULL,
    PRIMARY KEY (client, kind, pos)
) STRICT;

-- Which key files in keys/ belong to the realm; the newest of an alg signs.
CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    alg        TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
