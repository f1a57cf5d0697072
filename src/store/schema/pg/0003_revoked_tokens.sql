-- 0003_revoked_tokens.sql — access tokens are no longer recorded one row per token; a deny
-- list of tokens revoked one by one instead (schema/sqlite/0003_revoked_tokens.sql).
DROP TABLE access_tokens;

CREATE TABLE revoked_tokens (
    jti        TEXT NOT NULL PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_at);
