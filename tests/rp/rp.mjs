// rp.mjs — a relying party built on panva's openid-client (a certified OpenID RP library),
// driven by tests/e2e/test_real_rp.py against a running gatehouse. Nothing here re-implements
// a protocol check: discovery, the authorization request, the callback checks (state, iss),
// the code exchange with PKCE, the ID token validation (signature via the JWKS, iss, aud, exp,
// iat, nonce, azp), userinfo, refresh, introspection and revocation are the library's.
//
//   node rp.mjs begin    --issuer URL --client-id ID --redirect-uri URL --state-file F
//                        [--auth basic|post|none] [--alg RS256|PS256|ES256] [--scope S]
//       prints {"authorization_url": ...}; the PKCE verifier, state and nonce go to F (the
//       "session" of a web app between the two requests).
//   node rp.mjs complete --callback URL (same options)
//       redeems the code from the callback URL and prints one JSON object with every step.
//   node rp.mjs cc       --issuer URL --client-id ID [--auth basic|post] [--resource R]
//                        [--scope S]
//       client_credentials grant; prints the token response.
//
// The client secret comes from the environment (GH_CLIENT_SECRET), never from argv. TLS
// trust: NODE_EXTRA_CA_CERTS. An http:// issuer is allowed only with --insecure-http (the
// library refuses plain http otherwise). Exit status: 0 with {"ok": true, ...} when every
// step succeeded; 3 with {"ok": false, "step": ..., "error": {...}} when the library or the
// server refused a step (the tests assert on that); anything else is a crash.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as client from 'openid-client';

const { values: opt, positionals } = parseArgs({
    allowPositionals: true,
    options: {
        issuer: { type: 'string' },
        'client-id': { type: 'string' },
        'redirect-uri': { type: 'string' },
        'state-file': { type: 'string' },
        callback: { type: 'string' },
        auth: { type: 'string', default: 'basic' },
        alg: { type: 'string', default: 'RS256' },
        scope: { type: 'string' },
        resource: { type: 'string' },
        'insecure-http': { type: 'boolean', default: false },
    },
});

function need(name) {
    if (!opt[name]) {
        throw new Error(`--${name} is required`);
    }
    return opt[name];
}

function clientAuth() {
    const secret = process.env.GH_CLIENT_SECRET;
    switch (opt.auth) {
    case 'basic': return client.ClientSecretBasic(secret);
    case 'post': return client.ClientSecretPost(secret);
    case 'none': return client.None();
    default: throw new Error(`--auth ${opt.auth}: want basic, post or none`);
    }
}

// Discovery (OIDC Discovery 1.0 §4; the library checks that the document's issuer is the
// one asked for) and a Configuration that verifies ID token signatures against jwks_uri.
async function configure() {
    const execute = [client.enableNonRepudiationChecks];
    if (opt['insecure-http']) {
        execute.push(client.allowInsecureRequests);
    }
    const metadata = { id_token_signed_response_alg: opt.alg };
    if (opt['redirect-uri']) {
        metadata.redirect_uris = [opt['redirect-uri']];
    }
    return client.discovery(new URL(need('issuer')), need('client-id'), metadata, clientAuth(),
        { execute, timeout: 20 });
}

// An error as plain JSON: the library's name, code and message, the OAuth error of a
// server's answer when there is one, and the same for its cause (openid-client wraps the
// errors of oauth4webapi, which say what exactly failed), the WWW-Authenticate challenges
// and the JSON body of an HTTP answer the library refused.
async function errorJSON(e, depth = 0) {
    const out = { name: e?.name, code: e?.code, message: e?.message };
    for (const k of ['error', 'error_description', 'status']) {
        if (e?.[k] !== undefined) {
            out[k] = e[k];
        }
    }
    if (e?.response instanceof Response) {
        try {
            out.body = await e.response.clone().json();
        } catch {
            out.body = null;
        }
    }
    const cause = e?.cause;
    if (cause instanceof Error && depth < 3) {
        out.cause = await errorJSON(cause, depth + 1);
    } else if (Array.isArray(cause)) {
        out.challenges = cause.map((c) => ({ scheme: c?.scheme, parameters: c?.parameters }));
    } else if (cause instanceof URLSearchParams) {
        out.cause = Object.fromEntries(cause);
    } else if (cause && typeof cause === 'object') {
        out.cause = {};
        for (const [k, v] of Object.entries(cause)) {
            if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) {
                out.cause[k] = v;
            }
        }
    }
    return out;
}

class StepError extends Error {
    constructor(step, cause) {
        super(`${step}: ${cause?.message}`);
        this.step = step;
        this.inner = cause;
    }
}

async function step(name, fn) {
    try {
        return await fn();
    } catch (e) {
        throw new StepError(name, e);
    }
}

function tokenJSON(t) {
    return {
        token_type: t.token_type,
        expires_in: t.expires_in,
        expires_in_helper: t.expiresIn(),
        scope: t.scope,
        access_token: t.access_token,
        refresh_token: t.refresh_token,
        id_token: t.id_token,
        id_token_claims: t.claims() ?? null,
    };
}

async function begin() {
    const config = await step('discovery', configure);
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
        redirect_uri: need('redirect-uri'),
        scope: opt.scope ?? 'openid profile email offline_access',
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
    });
    writeFileSync(need('state-file'), JSON.stringify({ codeVerifier, state, nonce }),
        { mode: 0o600 });
    return { ok: true, authorization_url: url.href };
}

async function complete() {
    const config = await step('discovery', configure);
    const metadata = config.serverMetadata();
    const saved = JSON.parse(readFileSync(need('state-file'), 'utf8'));
    const out = { ok: true, issuer: metadata.issuer };

    // The callback: state and iss (RFC 9207) checked, the code redeemed with the PKCE
    // verifier, the ID token validated (signature, iss, aud, azp, exp, iat, nonce, at_hash).
    const tokens = await step('code', () => client.authorizationCodeGrant(config,
        new URL(need('callback')), {
            pkceCodeVerifier: saved.codeVerifier,
            expectedState: saved.state,
            expectedNonce: saved.nonce,
            idTokenExpected: true,
        }));
    out.tokens = tokenJSON(tokens);
    const sub = tokens.claims().sub;

    // userinfo, with the library's check that its sub is the ID token's (OIDC Core §5.3.2)
    out.userinfo = await step('userinfo', () =>
        client.fetchUserInfo(config, tokens.access_token, sub));

    // refresh (rotation: a new refresh token), then userinfo with the new access token
    const refreshed = await step('refresh', () =>
        client.refreshTokenGrant(config, tokens.refresh_token));
    out.refreshed = tokenJSON(refreshed);
    out.userinfo_after_refresh = await step('userinfo_after_refresh', () =>
        client.fetchUserInfo(config, refreshed.access_token, sub));

    if (opt.auth === 'none') {
        return out;   // introspection and revocation need an authenticated client here
    }
    out.introspection = await step('introspection', () =>
        client.tokenIntrospection(config, refreshed.access_token));
    // revoking the refresh token ends the grant (RFC 7009 §2.1): refreshing fails after it
    await step('revocation', () => client.tokenRevocation(config, refreshed.refresh_token));
    out.introspection_after_revocation = await step('introspection_after_revocation', () =>
        client.tokenIntrospection(config, refreshed.access_token));
    try {
        await client.refreshTokenGrant(config, refreshed.refresh_token);
        out.refresh_after_revocation = { ok: true };
    } catch (e) {
        out.refresh_after_revocation = { ok: false, error: await errorJSON(e) };
    }
    return out;
}

async function clientCredentials() {
    const config = await step('discovery', configure);
    const params = {};
    if (opt.resource) {
        params.resource = opt.resource;
    }
    if (opt.scope) {
        params.scope = opt.scope;
    }
    const t = await step('client_credentials', () => client.clientCredentialsGrant(config,
        params));
    return { ok: true, access_token: t.access_token, token_type: t.token_type,
        expires_in: t.expires_in, scope: t.scope, refresh_token: t.refresh_token ?? null };
}

const commands = { begin, complete, cc: clientCredentials };
const cmd = commands[positionals[0]];
if (!cmd) {
    process.stderr.write(`usage: rp.mjs begin|complete|cc [options] (see the header)\n`);
    process.exit(2);
}
try {
    process.stdout.write(JSON.stringify(await cmd()) + '\n');
} catch (e) {
    if (!(e instanceof StepError)) {
        throw e;
    }
    const error = await errorJSON(e.inner);
    process.stdout.write(JSON.stringify({ ok: false, step: e.step, error }) + '\n');
    process.exitCode = 3;
}
