-- 0006_login_throttle.sql — failed sign-ins per account name (schema/sqlite/
-- 0006_login_throttle.sql).
CREATE TABLE login_failures (
    name         TEXT NOT NULL PRIMARY KEY CHECK (char_length(name) BETWEEN 1 AND 256),
    failures     BIGINT NOT NULL CHECK (failures >= 0),
    locked_until BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX login_failures_expires ON login_failures (expires_at);
