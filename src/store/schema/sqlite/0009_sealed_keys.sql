-- 0009_sealed_keys.sql — signing keys kept in the database (issue 7). With a database that
-- several instances share (PostgreSQL), a key's private half is stored here, sealed with
-- AES-256-GCM under the key-encryption key (--kek-file): nonce (12 bytes) || ciphertext of
-- the PKCS#8 PEM || tag (16 bytes), the kid and alg authenticated with it, so a sealed key
-- cannot be moved onto another row (crypto/secret.c sec_kek_seal). NULL: the key is the file
-- <keys>/<kid>.pem, as before (SQLite, and keys made before this migration).
ALTER TABLE signing_keys ADD COLUMN sealed BLOB
    CHECK (sealed IS NULL OR length(sealed) BETWEEN 29 AND 65536);
