-- 0002_sso.sql — browser sign-in and tokens, PostgreSQL dialect of schema/sqlite/0002_sso.sql
-- (read that file for the why). Hashes are 32-byte BYTEA, checked here.

ALTER TABLE clients ADD COLUMN consent SMALLINT NOT NULL DEFAULT 0 CHECK (consent IN (0, 1));
ALTER TABLE clients ADD COLUMN pkce_required SMALLINT NOT NULL DEFAULT 1
    CHECK (pkce_required IN (0, 1) AND (pkce_required = 1 OR public = 0));
ALTER TABLE clients ADD COLUMN signing_alg TEXT NOT NULL DEFAULT 'RS256'
    CHECK (signing_alg IN ('RS256', 'ES256', 'PS256'));

CREATE TABLE interactions (
    id_hash    BYTEA NOT NULL PRIMARY KEY CHECK (octet_length(id_hash) = 32),
    bind_hash  BYTEA NOT NULL CHECK (octet_length(bind_hash) = 32),
    request    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX interactions_expires ON interactions (expires_at);

CREATE TABLE sessions (
    id_hash    BYTEA NOT NULL PRIMARY KEY CHECK (octet_length(id_hash) = 32),
    sid        TEXT NOT NULL UNIQUE,
    sub        TEXT NOT NULL REFERENCES users (sub) ON DELETE CASCADE,
    amr        TEXT,
    auth_time  BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_sub ON sessions (sub);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE auth_codes (
    hash           BYTEA NOT NULL PRIMARY KEY CHECK (octet_length(hash) = 32),
    client_id      TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    sub            TEXT NOT NULL REFERENCES users (sub) ON DELETE CASCADE,
    sid            TEXT,
    amr            TEXT,
    auth_time      BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    spent          SMALLINT NOT NULL DEFAULT 0 CHECK (spent IN (0, 1)),
    replayed       SMALLINT NOT NULL DEFAULT 0 CHECK (replayed IN (0, 1)),
    grant_id       TEXT,
    CHECK (spent = 1 OR (grant_id IS NULL AND replayed = 0))
);
CREATE INDEX auth_codes_client ON auth_codes (client_id);
CREATE INDEX auth_codes_sub ON auth_codes (sub);
CREATE INDEX auth_codes_grant ON auth_codes (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);

CREATE TABLE grants (
    id          TEXT NOT NULL PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    sub         TEXT NOT NULL,
    scope       TEXT NOT NULL,
    sid         TEXT,
    amr         TEXT,
    auth_time   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    refresh_gen BIGINT NOT NULL DEFAULT 0 CHECK (refresh_gen >= 0),
    revoked     SMALLINT NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);
CREATE INDEX grants_client ON grants (client_id);
CREATE INDEX grants_sub ON grants (sub);
CREATE INDEX grants_expires ON grants (expires_at);

CREATE FUNCTION users_delete_grants() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM grants WHERE sub = OLD.sub;
    RETURN OLD;
END $$;
CREATE TRIGGER users_delete_grants AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION users_delete_grants();

CREATE TABLE refresh_tokens (
    hash       BYTEA NOT NULL PRIMARY KEY CHECK (octet_length(hash) = 32),
    grant_id   TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    gen        BIGINT NOT NULL CHECK (gen >= 0),
    idle_until BIGINT NOT NULL,
    UNIQUE (grant_id, gen)
);

CREATE TABLE access_tokens (
    jti        TEXT NOT NULL PRIMARY KEY,
    grant_id   TEXT REFERENCES grants (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
CREATE INDEX access_tokens_grant ON access_tokens (grant_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);

CREATE TABLE consents (
    sub        TEXT NOT NULL REFERENCES users (sub) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (sub, client_id)
);
CREATE INDEX consents_client ON consents (client_id);
