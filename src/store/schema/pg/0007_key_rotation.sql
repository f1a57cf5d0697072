-- 0007_key_rotation.sql — staged signing-key rotation (schema/sqlite/0007_key_rotation.sql).
ALTER TABLE signing_keys ADD COLUMN activate_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE signing_keys ADD COLUMN retire_at BIGINT;
