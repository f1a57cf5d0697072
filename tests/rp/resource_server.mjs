// resource_server.mjs — a tiny API that accepts gatehouse's access tokens, checked offline by
// panva's jose (not by anything written here): the key from gatehouse's JWKS (fetched and
// cached by createRemoteJWKSet, refetched on an unknown kid), the signature, the alg against
// an allow-list, typ at+jwt (RFC 9068 §4), iss, aud, exp/nbf/iat. Driven by
// tests/e2e/test_real_rp.py.
//
//   node resource_server.mjs --issuer URL --audience ID --port-file F [--port N]
//
// Listens on 127.0.0.1 (port N, default 0 = any free one), writes the port and a newline to F
// once it accepts connections. Every request needs "Authorization: Bearer <token>":
//   GET /            200 {"claims": ..., "header": ...}
//   GET /scope/NAME  the same, or 403 insufficient_scope when the token lacks scope NAME
// and 401 with WWW-Authenticate (RFC 6750 §3) without a token or with a bad one; the body
// names jose's error code (a test harness may say why; a real API would only log it).
// Stops on SIGTERM.
import { createServer } from 'node:http';
import { writeFileSync, renameSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const { values: opt } = parseArgs({
    options: {
        issuer: { type: 'string' },
        audience: { type: 'string' },
        'port-file': { type: 'string' },
        port: { type: 'string', default: '0' },
    },
});
for (const k of ['issuer', 'audience', 'port-file']) {
    if (!opt[k]) {
        process.stderr.write(`resource_server.mjs: --${k} is required\n`);
        process.exit(2);
    }
}

// Our own allow-list: never "none", never an HMAC alg (a public key as an HMAC key).
const ALLOWED = ['RS256', 'PS256', 'ES256'];
const REALM = 'api';

// jwks_uri and the signing algorithms from the issuer's discovery document.
const res = await fetch(new URL('.well-known/openid-configuration',
    opt.issuer.endsWith('/') ? opt.issuer : opt.issuer + '/'),
{ signal: AbortSignal.timeout(10000), redirect: 'error' });
if (!res.ok) {
    throw new Error(`discovery: HTTP ${res.status}`);
}
const meta = await res.json();
if (meta.issuer !== opt.issuer) {
    throw new Error(`discovery: issuer ${meta.issuer}, want ${opt.issuer}`);
}
const algorithms = (meta.id_token_signing_alg_values_supported ?? [])
    .filter((a) => ALLOWED.includes(a));
if (algorithms.length === 0) {
    throw new Error('discovery: no signing algorithm on the allow-list');
}
const JWKS = createRemoteJWKSet(new URL(meta.jwks_uri), { timeoutDuration: 5000 });

async function verify(token) {
    return jwtVerify(token, JWKS, {
        issuer: opt.issuer,
        audience: opt.audience,
        typ: 'at+jwt',
        algorithms,
        clockTolerance: 30,
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'client_id', 'jti'],
    });
}

function quoted(s) {
    return '"' + String(s).replace(/[\\"]/g, '\\$&').replace(/[^\x20-\x7e]/g, '?') + '"';
}

function send(rsp, status, body, challenge) {
    const headers = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };
    if (challenge) {
        headers['WWW-Authenticate'] = challenge;
    }
    rsp.writeHead(status, headers);
    rsp.end(JSON.stringify(body));
}

async function handle(req, rsp) {
    const m = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(req.headers.authorization ?? '');
    if (!req.headers.authorization) {
        // RFC 6750 §3.1: no error code when the request carried no credentials at all
        return send(rsp, 401, { error: 'missing_token' }, `Bearer realm="${REALM}"`);
    }
    if (!m) {
        return send(rsp, 401, { error: 'invalid_request' },
            `Bearer realm="${REALM}", error="invalid_request"`);
    }
    let result;
    try {
        result = await verify(m[1]);
    } catch (e) {
        const why = e?.code ?? 'ERR_UNKNOWN';
        process.stderr.write(`resource_server: refused a token: ${why} ${e?.claim ?? ''}\n`);
        return send(rsp, 401,
            { error: 'invalid_token', code: why, claim: e?.claim ?? null, message: e?.message },
            `Bearer realm="${REALM}", error="invalid_token", error_description=${quoted(
                e?.message ?? 'invalid token')}`);
    }
    const { payload, protectedHeader } = result;
    const sm = /^\/scope\/([\x21\x23-\x5b\x5d-\x7e]+)$/.exec(req.url);
    if (sm) {
        const have = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
        if (!have.includes(sm[1])) {
            return send(rsp, 403, { error: 'insufficient_scope' },
                `Bearer realm="${REALM}", error="insufficient_scope", scope=${quoted(sm[1])}`);
        }
    } else if (req.url !== '/') {
        return send(rsp, 404, { error: 'not_found' });
    }
    return send(rsp, 200, { claims: payload, header: protectedHeader });
}

const server = createServer((req, rsp) => {
    handle(req, rsp).catch((e) => {
        process.stderr.write(`resource_server: ${e?.stack ?? e}\n`);
        send(rsp, 500, { error: 'server_error' });
    });
});
server.listen(Number(opt.port), '127.0.0.1', () => {
    const tmp = opt['port-file'] + '.tmp';
    writeFileSync(tmp, `${server.address().port}\n`);
    renameSync(tmp, opt['port-file']);
});
process.on('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
});
