/* demo.js — the demo app of `gatehouse serve --demo` (templates/demo.html): a public OAuth
 * client that runs in the browser. "Sign in" sends the browser to the authorization endpoint
 * with state, nonce and a PKCE S256 challenge (RFC 7636), kept in this tab's sessionStorage;
 * the callback checks state and iss (RFC 9207), exchanges the code at the token endpoint
 * (same origin: no CORS), calls userinfo with the access token, checks the ID token's
 * signature against the JWKS, its iss, aud and nonce, and shows what it received. "Sign out"
 * is RP-initiated logout back to this page. Endpoints come from the discovery document. No
 * inline script, no third-party code; nothing leaves the browser except to gatehouse. */
"use strict";

(function () {
    const root = document.getElementById("demo");
    if (!root) {
        return;
    }
    const cfg = {
        issuer: root.dataset.issuer,
        clientId: root.dataset.clientId,
        redirectUri: root.dataset.redirectUri,
        homeUri: root.dataset.homeUri,
    };
    const KEY = "gatehouse-demo";   // sessionStorage: {state, nonce, verifier} of one sign-in
    const $ = (id) => document.getElementById(id);

    function show(id) {
        for (const s of ["demo-start", "demo-busy", "demo-result"]) {
            $(s).hidden = s !== id;
        }
    }

    function fail(message) {
        const e = $("demo-error");
        e.textContent = message;
        e.hidden = false;
        show("demo-start");
    }

    function busy(text) {
        $("demo-busy-text").textContent = text;
        show("demo-busy");
    }

    // --- encoding --------------------------------------------------------------------------
    function b64url(bytes) {
        let s = "";
        for (const b of new Uint8Array(bytes)) {
            s += String.fromCharCode(b);
        }
        return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    }

    function b64urlBytes(text) {
        const s = atob(text.replace(/-/g, "+").replace(/_/g, "/") +
            "===".slice((text.length + 3) % 4));
        const out = new Uint8Array(s.length);
        for (let i = 0; i < s.length; i++) {
            out[i] = s.charCodeAt(i);
        }
        return out;
    }

    function randomToken(n) {
        return b64url(crypto.getRandomValues(new Uint8Array(n)));
    }

    function decodeJwt(token) {
        const parts = String(token).split(".");
        if (parts.length !== 3) {
            throw new Error("not a JWT");
        }
        const dec = new TextDecoder();
        return {
            header: JSON.parse(dec.decode(b64urlBytes(parts[0]))),
            claims: JSON.parse(dec.decode(b64urlBytes(parts[1]))),
            signed: new TextEncoder().encode(parts[0] + "." + parts[1]),
            signature: b64urlBytes(parts[2]),
        };
    }

    function pretty(value) {
        return JSON.stringify(value, null, 2);
    }

    // Times as numbers and, beside them, as dates a person reads.
    function withDates(claims) {
        const out = {};
        for (const [k, v] of Object.entries(claims)) {
            out[k] = v;
            if (["exp", "iat", "nbf", "auth_time", "updated_at"].includes(k) &&
                typeof v === "number") {
                out[k + " (as a date)"] = new Date(v * 1000).toISOString();
            }
        }
        return out;
    }

    function short(token) {
        return typeof token === "string" && token.length > 24 ?
            token.slice(0, 12) + "…" + token.slice(-8) : token;
    }

    // --- HTTP -----------------------------------------------------------------------------
    async function getJson(url, init) {
        const r = await fetch(url, Object.assign({ cache: "no-store", credentials: "omit" },
            init || {}));
        let body = null;
        try {
            body = await r.json();
        } catch (e) {
            body = null;
        }
        if (!r.ok) {
            const what = body && body.error ?
                body.error + (body.error_description ? ": " + body.error_description : "") :
                "HTTP " + r.status;
            throw new Error(url + " answered " + what);
        }
        return body;
    }

    function discovery() {
        return getJson(cfg.issuer.replace(/\/+$/, "") + "/.well-known/openid-configuration");
    }

    // --- ID token signature: the JWKS key named by kid, the alg it is published for ----------
    const ALGS = {
        RS256: { key: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
                 verify: { name: "RSASSA-PKCS1-v1_5" } },
        PS256: { key: { name: "RSA-PSS", hash: "SHA-256" },
                 verify: { name: "RSA-PSS", saltLength: 32 } },
        ES256: { key: { name: "ECDSA", namedCurve: "P-256" },
                 verify: { name: "ECDSA", hash: "SHA-256" } },
    };

    async function signatureOk(jwt, jwksUri) {
        const alg = ALGS[jwt.header.alg];
        if (!alg) {
            return false;
        }
        const jwks = await getJson(jwksUri);
        const jwk = (jwks.keys || []).find((k) => k.kid === jwt.header.kid);
        if (!jwk || (jwk.alg && jwk.alg !== jwt.header.alg)) {
            return false;
        }
        const pub = { kty: jwk.kty, n: jwk.n, e: jwk.e, crv: jwk.crv, x: jwk.x, y: jwk.y };
        const key = await crypto.subtle.importKey("jwk", pub, alg.key, false, ["verify"]);
        return crypto.subtle.verify(alg.verify, key, jwt.signature, jwt.signed);
    }

    // --- the two halves of the flow -------------------------------------------------------
    async function signIn() {
        $("demo-error").hidden = true;
        $("demo-note").hidden = true;
        busy("Sending you to gatehouse…");
        try {
            const meta = await discovery();
            const verifier = randomToken(32);
            const digest = await crypto.subtle.digest("SHA-256",
                new TextEncoder().encode(verifier));
            const pending = { state: randomToken(16), nonce: randomToken(16), verifier };
            sessionStorage.setItem(KEY, JSON.stringify(pending));
            const q = new URLSearchParams({
                response_type: "code",
                client_id: cfg.clientId,
                redirect_uri: cfg.redirectUri,
                scope: "openid profile email",
                state: pending.state,
                nonce: pending.nonce,
                code_challenge: b64url(digest),
                code_challenge_method: "S256",
            });
            location.assign(meta.authorization_endpoint + "?" + q.toString());
        } catch (e) {
            fail("Could not start the sign-in: " + e.message);
        }
    }

    async function callback(q) {
        const pending = JSON.parse(sessionStorage.getItem(KEY) || "null");
        sessionStorage.removeItem(KEY);              // one use, whatever happens
        history.replaceState(null, "", cfg.homeUri); // a reload must not replay the code
        if (q.get("error")) {
            fail("gatehouse sent back the error " + q.get("error") +
                (q.get("error_description") ? ": " + q.get("error_description") : "") + ".");
            return;
        }
        if (!pending || q.get("state") !== pending.state) {
            fail("This answer does not belong to a sign-in started on this page (the state " +
                "does not match). Start again.");
            return;
        }
        if (q.get("iss") !== cfg.issuer) {
            fail("The answer names another issuer (" + q.get("iss") + "). Start again.");
            return;
        }
        busy("Exchanging the code for tokens…");
        try {
            const meta = await discovery();
            const tokens = await getJson(meta.token_endpoint, {
                method: "POST",
                body: new URLSearchParams({
                    grant_type: "authorization_code",
                    code: q.get("code") || "",
                    redirect_uri: cfg.redirectUri,
                    client_id: cfg.clientId,
                    code_verifier: pending.verifier,
                }),
            });
            busy("Asking userinfo who signed in…");
            const userinfo = await getJson(meta.userinfo_endpoint, {
                headers: { Authorization: "Bearer " + tokens.access_token },
            });
            const idt = decodeJwt(tokens.id_token);
            const at = decodeJwt(tokens.access_token);
            const now = Date.now() / 1000;
            const aud = [].concat(idt.claims.aud);
            let sig = false;
            try {
                sig = await signatureOk(idt, meta.jwks_uri);
            } catch (e) {
                sig = false;
            }
            const checks = [
                [sig, "ID token signature verified with the key " + idt.header.kid +
                    " from " + meta.jwks_uri],
                [idt.claims.iss === cfg.issuer, "iss is this issuer"],
                [aud.includes(cfg.clientId), "aud contains " + cfg.clientId],
                [idt.claims.nonce === pending.nonce, "nonce is the one this page sent"],
                [idt.claims.exp > now, "not expired"],
                [userinfo.sub === idt.claims.sub, "userinfo is about the same sub"],
            ];
            const list = $("demo-checks");
            list.textContent = "";
            for (const [ok, text] of checks) {
                const li = document.createElement("li");
                li.textContent = (ok ? "✔ " : "✘ ") + text;
                if (!ok) {
                    li.className = "bad";
                }
                list.appendChild(li);
            }
            const who = userinfo.name || userinfo.preferred_username || userinfo.sub;
            $("demo-hello").textContent = "Signed in as " + who + " (sub " + idt.claims.sub + ").";
            $("demo-id-header").textContent = pretty(idt.header);
            $("demo-id-claims").textContent = pretty(withDates(idt.claims));
            $("demo-at-claims").textContent = pretty(withDates(at.claims));
            $("demo-at-raw").textContent = tokens.access_token;
            $("demo-userinfo").textContent = pretty(userinfo);
            const shown = Object.assign({}, tokens);
            for (const k of ["access_token", "id_token", "refresh_token"]) {
                if (k in shown) {
                    shown[k] = short(shown[k]);
                }
            }
            $("demo-token-response").textContent = pretty(shown);
            const out = new URLSearchParams({
                id_token_hint: tokens.id_token,
                client_id: cfg.clientId,
                post_logout_redirect_uri: cfg.homeUri,
                state: "signed-out",
            });
            $("demo-sign-out").href = meta.end_session_endpoint + "?" + out.toString();
            show("demo-result");
        } catch (e) {
            fail("The sign-in did not complete: " + e.message);
        }
    }

    function start() {
        // sessionStorage belongs to one origin: run on the issuer's, where the redirect lands
        const home = new URL(cfg.homeUri);
        if (location.origin !== home.origin) {
            location.replace(cfg.homeUri);
            return;
        }
        if (!window.crypto || !crypto.subtle) {
            fail("This browser offers no Web Crypto here (it needs https or a loopback " +
                "address such as 127.0.0.1), so the demo app cannot make its PKCE challenge.");
            $("demo-sign-in").disabled = true;
            return;
        }
        $("demo-sign-in").addEventListener("click", signIn);
        const q = new URLSearchParams(location.search);
        const here = location.origin + location.pathname;
        if (here === cfg.redirectUri && (q.has("code") || q.has("error"))) {
            callback(q);
            return;
        }
        if (q.get("state") === "signed-out") {
            history.replaceState(null, "", cfg.homeUri);
            $("demo-note").textContent = "You are signed out of gatehouse.";
            $("demo-note").hidden = false;
        }
        show("demo-start");
    }

    start();
}());
