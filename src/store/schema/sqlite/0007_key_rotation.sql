-- 0007_key_rotation.sql — staged signing-key rotation (issue 5). A key's state is a function of
-- the time (crypto/keys.c keys_state_at): next before activate_at, active from activate_at
-- until a newer key of its alg activates or retire_at (set by `keys retire`), then retired
-- (still published) for the longest token lifetime plus clock skew, then removed.
-- activate_at 0 means "signs at once, whatever the clock": keys made by init, `keys generate`
-- and before this migration. Only `keys rotate` schedules a later activation.
ALTER TABLE signing_keys ADD COLUMN activate_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE signing_keys ADD COLUMN retire_at INTEGER;
