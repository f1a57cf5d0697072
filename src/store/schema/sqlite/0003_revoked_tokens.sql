-- 0003_revoked_tokens.sql — access tokens are no longer recorded one row per token.
--
-- Writing a row (and an fsync) for every access token made token issuance wait on the disk.
-- An access token's jti now names its grant ("<grant id>.<random>"), so revoking the grant
-- still revokes its access tokens without any per-token row; tokens revoked one by one
-- (RFC 7009 /revoke) go on this deny list until they expire anyway.
DROP TABLE access_tokens;

CREATE TABLE revoked_tokens (
    jti        TEXT NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL       -- past this the token is dead anyway: purged
) STRICT, WITHOUT ROWID;
CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_at);
