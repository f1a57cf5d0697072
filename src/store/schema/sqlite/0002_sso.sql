-- 0002_sso.sql — browser sign-in and tokens: per-client login settings, pending /authorize
-- requests, browser sessions, authorization codes, grants with their refresh tokens, the
-- access-token registry and remembered consent.
--
-- Every secret a browser or client holds (interaction id, session cookie, code, refresh token)
-- is stored only as its SHA-256: a copy of this file gives an attacker nothing to present.
-- Those hashes are 32-byte BLOBs, checked here, and are the primary key where they name the
-- row. Tables of small rows are WITHOUT ROWID, so a look-up by key is one b-tree search; the
-- two that carry request text (interactions, auth_codes) keep their rowid, as SQLite advises
-- for rows larger than about a twentieth of a page.
--
-- What goes when a user or a client is deleted (foreign_keys is on for every connection):
--   user   -> sessions, codes, consents (ON DELETE CASCADE on users.sub), grants (trigger
--             users_delete_grants, below), and with each grant its refresh tokens and
--             access-token rows (ON DELETE CASCADE on grants.id);
--   client -> codes, grants, consents (ON DELETE CASCADE on clients.client_id), and again the
--             grants' refresh tokens and access-token rows.
-- So a deleted user's or client's tokens are unknown to the store from that commit on.

-- Per-client settings of the login flow. The defaults are what every client registered before
-- this migration gets: no consent page (first-party apps), PKCE required, RS256 tokens.
--   consent       1: ask the user before the first authorization (OIDC Core §3.1.2.4)
--   pkce_required 0 only for confidential clients: a public client has no other proof that it
--                 is the one that started the flow (RFC 9700 §2.1.1), so the CHECK refuses it
--                 even for a row written past model/client.c
--   signing_alg   the JWS alg of this client's id_tokens and access tokens
ALTER TABLE clients ADD COLUMN consent INTEGER NOT NULL DEFAULT 0 CHECK (consent IN (0, 1));
ALTER TABLE clients ADD COLUMN pkce_required INTEGER NOT NULL DEFAULT 1
    CHECK (pkce_required IN (0, 1) AND (pkce_required = 1 OR public = 0));
ALTER TABLE clients ADD COLUMN signing_alg TEXT NOT NULL DEFAULT 'RS256'
    CHECK (signing_alg IN ('RS256', 'ES256', 'PS256'));

-- A validated /authorize request waiting while the user signs in or consents. bind_hash ties it
-- to the pre-login cookie of the browser that started it, so an interaction id leaked to
-- another browser is useless there. Short-lived; taken (deleted) when the flow completes.
CREATE TABLE interactions (
    id_hash    BLOB NOT NULL PRIMARY KEY CHECK (length(id_hash) = 32),
    bind_hash  BLOB NOT NULL CHECK (length(bind_hash) = 32),
    request    TEXT NOT NULL,         -- the validated request as JSON (oidc/authz_req.c)
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX interactions_expires ON interactions (expires_at);     -- store_purge

-- A signed-in browser; the cookie holds the random id, the table its hash. sid is the public
-- session id that goes into id_tokens ("sid", OIDC Front-/Back-Channel Logout). A session dies
-- at expires_at (absolute) or after a configured idle time past last_seen.
CREATE TABLE sessions (
    id_hash    BLOB NOT NULL PRIMARY KEY CHECK (length(id_hash) = 32),
    sid        TEXT NOT NULL UNIQUE,
    sub        TEXT NOT NULL REFERENCES users (sub) ON DELETE CASCADE,
    amr        TEXT,                  -- space-separated methods, e.g. "pwd"
    auth_time  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_sub ON sessions (sub);                        -- the cascade on user delete
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Authorization codes (RFC 6749 §4.1.2), with everything the token request must repeat or the
-- tokens must carry. A code is never deleted when redeemed: it is marked spent and records the
-- grant its redemption created, so a second redemption (a replay) can revoke that grant. A
-- replay sets replayed = 1, which also stops a grant that the first redemption has not stored
-- yet (store_grant_add looks for it). Spent codes stay until store_purge's grace period ends.
CREATE TABLE auth_codes (
    hash           BLOB NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    client_id      TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,              -- S256 challenge; NULL only if the client may skip PKCE
    sub            TEXT NOT NULL REFERENCES users (sub) ON DELETE CASCADE,
    sid            TEXT,
    amr            TEXT,
    auth_time      INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    spent          INTEGER NOT NULL DEFAULT 0 CHECK (spent IN (0, 1)),
    replayed       INTEGER NOT NULL DEFAULT 0 CHECK (replayed IN (0, 1)),
    grant_id       TEXT,              -- set when spent; deliberately no foreign key: the
                                      -- grant is stored after the code is spent, or never
    CHECK (spent = 1 OR (grant_id IS NULL AND replayed = 0))
) STRICT;
CREATE INDEX auth_codes_client ON auth_codes (client_id);
CREATE INDEX auth_codes_sub ON auth_codes (sub);
CREATE INDEX auth_codes_grant ON auth_codes (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);

-- A grant: what one authorization produced. It is a refresh-token family (RFC 9700 §4.14.2):
-- refresh_gen is the generation of the one refresh token that may be used next; presenting an
-- older one revokes the grant and with it every token of the family, and only this family.
-- sub is a user's sub, or (for client_credentials) the client's own client_id, so it cannot be
-- a foreign key to users: store_sqlite.c checks it on insert, and users_delete_grants removes a
-- user's grants.
CREATE TABLE grants (
    id          TEXT NOT NULL PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    sub         TEXT NOT NULL,
    scope       TEXT NOT NULL,
    sid         TEXT,
    amr         TEXT,
    auth_time   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,     -- absolute end of the family
    refresh_gen INTEGER NOT NULL DEFAULT 0 CHECK (refresh_gen >= 0),
    revoked     INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
) STRICT, WITHOUT ROWID;
CREATE INDEX grants_client ON grants (client_id);
CREATE INDEX grants_sub ON grants (sub);
CREATE INDEX grants_expires ON grants (expires_at);

CREATE TRIGGER users_delete_grants AFTER DELETE ON users
BEGIN
    DELETE FROM grants WHERE sub = OLD.sub;
END;

-- Every refresh token ever issued for a grant, by hash. Rotated-out tokens stay (until their
-- grant is purged) so that presenting one is recognised as reuse rather than as unknown.
-- UNIQUE (grant_id, gen): one token per generation, whatever the callers do.
CREATE TABLE refresh_tokens (
    hash       BLOB NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    grant_id   TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    gen        INTEGER NOT NULL CHECK (gen >= 0),
    idle_until INTEGER NOT NULL,      -- unused past this time, the token is dead
    UNIQUE (grant_id, gen)
) STRICT, WITHOUT ROWID;

-- The jti of every access token (JWT) issued, so that /userinfo can refuse one whose grant was
-- revoked or whose user or client is gone. grant_id NULL: a token outside any grant.
CREATE TABLE access_tokens (
    jti        TEXT NOT NULL PRIMARY KEY,
    grant_id   TEXT REFERENCES grants (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX access_tokens_grant ON access_tokens (grant_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);

-- Remembered consent (OIDC Core §3.1.2.4): the scopes a user last approved for a client.
CREATE TABLE consents (
    sub        TEXT NOT NULL REFERENCES users (sub) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (sub, client_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX consents_client ON consents (client_id);
