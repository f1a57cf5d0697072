-- 0008_client_jwks_uri.sql — a private_key_jwt client's public keys may be given as a URL the
-- server fetches and caches (oidc/issuer_keys.c; checked like a trusted issuer's jwks_uri by
-- model/issuer.c) instead of an inline JWKS. A private_key_jwt client has exactly one of the
-- two; no other client has a jwks_uri. Rows written before this migration have jwks for
-- private_key_jwt (model/client.c required it), so the CHECK holds for them.
ALTER TABLE clients ADD COLUMN jwks_uri TEXT
    CHECK (jwks_uri IS NULL OR length(jwks_uri) BETWEEN 1 AND 2048)
    CHECK (CASE WHEN auth_method = 'private_key_jwt' THEN (jwks IS NULL) <> (jwks_uri IS NULL)
                ELSE jwks_uri IS NULL END);
