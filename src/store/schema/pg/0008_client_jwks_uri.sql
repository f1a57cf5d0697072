-- 0008_client_jwks_uri.sql — a private_key_jwt client's keys may be given as a URL
-- (schema/sqlite/0008_client_jwks_uri.sql).
ALTER TABLE clients ADD COLUMN jwks_uri TEXT
    CHECK (jwks_uri IS NULL OR char_length(jwks_uri) BETWEEN 1 AND 2048);
ALTER TABLE clients ADD CONSTRAINT clients_jwks_uri_method
    CHECK (CASE WHEN auth_method = 'private_key_jwt' THEN (jwks IS NULL) <> (jwks_uri IS NULL)
                ELSE jwks_uri IS NULL END);
