-- 0006_login_throttle.sql — failed sign-ins per account name (issue 5; SECURITY.md S14–S16).
-- name is the normalised username as typed, whether or not such a user exists, so that
-- throttling says nothing about which accounts exist. model/throttle.c decides the values;
-- the row can be forgotten (purged) once expires_at has passed.
CREATE TABLE login_failures (
    name         TEXT NOT NULL PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 256),
    failures     INTEGER NOT NULL CHECK (failures >= 0),
    locked_until INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX login_failures_expires ON login_failures (expires_at);
