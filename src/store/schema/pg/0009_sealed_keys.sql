-- 0009_sealed_keys.sql — signing keys kept in the database (schema/sqlite/0009_sealed_keys.sql).
ALTER TABLE signing_keys ADD COLUMN sealed BYTEA
    CHECK (sealed IS NULL OR length(sealed) BETWEEN 29 AND 65536);
