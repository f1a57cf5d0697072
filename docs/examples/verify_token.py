#!/usr/bin/python3
"""verify_token.py — verify a gatehouse access token offline, as a resource server does.

An example of the checks in docs/service-to-service.md (RFC 8725, RFC 9068 §4) with Debian's
python3-jwt (PyJWT 2.x, which uses python3-cryptography for RSA and EC):

    verify_token.py --jwks https://id.example/jwks.json --issuer https://id.example \\
        --audience https://api.example/ TOKEN
    verify_token.py --jwks jwks.json --issuer https://id.example TOKEN

--jwks is a file ("-": standard input) or an https URL (plain http only to a loopback host).
TOKEN "-" reads the token from standard input. Prints the claims as JSON and exits 0, or
prints one line "verify_token.py: <reason>" on standard error and exits 1 (2: bad usage).

In a service, build one AccessTokenVerifier at start-up and call verify() per request: it keeps
the key set in memory and fetches it again, at most once per REFETCH_INTERVAL seconds, only
when a token names a kid it does not know (a key rotation), never on other failures.
"""
import argparse
import ipaddress
import json
import sys
import threading
import time
import urllib.parse
import urllib.request

import jwt  # python3-jwt

ALGORITHMS = ("RS256", "PS256", "ES256")      # RFC 8725 §3.1: an explicit allow-list
HEADER_MEMBERS = {"alg", "kid", "typ"}          # all gatehouse writes; jku, jwk, x5u… refused
LEEWAY = 60                                     # seconds of clock skew on exp, nbf, iat
MAX_JWKS = 64 * 1024
FETCH_TIMEOUT = 5
REFETCH_INTERVAL = 60


class InvalidToken(Exception):
    """The token must not be accepted; str(e) says why."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise InvalidToken(f"{req.full_url} answered {code}: redirects are not followed")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fetch_jwks(url: str) -> dict:
    """GET a JWKS: https (http only to a loopback host), no proxy from the environment, no
    redirects, 5 s, 64 KiB."""
    u = urllib.parse.urlsplit(url)
    if u.scheme != "https" and not (u.scheme == "http" and _loopback(u.hostname or "")):
        raise InvalidToken(f"{url}: use https (plain http only to a loopback host)")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    req = urllib.request.Request(url, headers={"Accept": "application/jwk-set+json, "
                                                         "application/json"})
    try:
        with opener.open(req, timeout=FETCH_TIMEOUT) as r:
            body = r.read(MAX_JWKS + 1)
    except InvalidToken:
        raise
    except OSError as e:
        raise InvalidToken(f"cannot fetch {url}: {e}") from None
    if len(body) > MAX_JWKS:
        raise InvalidToken(f"{url}: the key set is larger than {MAX_JWKS} bytes")
    return parse_jwks(body)


def parse_jwks(text) -> dict:
    try:
        jwks = json.loads(text, object_pairs_hook=_no_duplicates)
    except ValueError as e:
        raise InvalidToken(f"the key set is not valid JSON: {e}") from None
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise InvalidToken("the key set has no \"keys\" array")
    return jwks


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f"duplicate member {k!r}")
        d[k] = v
    return d


def _fits(jwk: dict, alg: str) -> bool:
    """The JWK may verify alg: a signing key of the right type whose own alg, if any, is alg."""
    if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
        return False
    if "alg" in jwk and jwk["alg"] != alg:
        return False                      # RFC 8725 §3.1: one key, one algorithm
    if alg == "ES256":
        return jwk.get("kty") == "EC" and jwk.get("crv") == "P-256"
    return jwk.get("kty") == "RSA"


class AccessTokenVerifier:
    def __init__(self, issuer: str, audience: str = None, jwks_url: str = None,
                 jwks: dict = None):
        if not issuer or (jwks_url is None) == (jwks is None):
            raise ValueError("an issuer and exactly one of jwks_url, jwks are required")
        self.issuer = issuer
        self.audience = audience
        self.jwks_url = jwks_url
        self._jwks = jwks
        self._fetched = 0.0
        self._lock = threading.Lock()

    def _keys(self, refresh=False) -> list:
        with self._lock:
            if self.jwks_url and (self._jwks is None or
                                  (refresh and time.monotonic() - self._fetched >
                                   REFETCH_INTERVAL)):
                self._jwks = fetch_jwks(self.jwks_url)
                self._fetched = time.monotonic()
            return list(self._jwks["keys"])

    def _key_for(self, kid, alg):
        for attempt in (False, True):
            keys = self._keys(refresh=attempt)
            if kid is None:
                # without kid the choice is unambiguous only in a one-key set
                if len(keys) != 1:
                    raise InvalidToken("the token has no kid and the key set holds "
                                       f"{len(keys)} keys")
                named = keys
            else:
                named = [k for k in keys if isinstance(k, dict) and k.get("kid") == kid]
            if named:
                fit = [k for k in named if _fits(k, alg)]
                if len(fit) != 1:
                    raise InvalidToken(f"kid {kid} names {len(fit)} keys usable with {alg}")
                try:
                    return jwt.PyJWK(fit[0], algorithm=alg).key
                except jwt.PyJWTError as e:
                    raise InvalidToken(f"the key for kid {kid} is unusable: {e}") from None
            # unknown kid: the keys may have rotated; fetch once more (rate-limited)
        raise InvalidToken(f"no key in the key set has kid {kid}")

    def verify(self, token: str) -> dict:
        """The verified claims of an access token, or InvalidToken."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as e:
            raise InvalidToken(f"malformed token: {e}") from None
        extra = set(header) - HEADER_MEMBERS
        if extra:
            raise InvalidToken(f"header member(s) not allowed: {', '.join(sorted(extra))}")
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise InvalidToken(f"alg {alg} is not allowed")
        typ = header.get("typ")
        # RFC 9068 §4: an ID token (typ JWT) or any other JWT is not an access token
        if not isinstance(typ, str) or typ.lower() not in ("at+jwt", "application/at+jwt"):
            raise InvalidToken(f"typ {typ} is not at+jwt: not an access token")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("kid is not a string")
        key = self._key_for(kid, alg)
        try:
            return jwt.decode(token, key, algorithms=[alg], issuer=self.issuer,
                              audience=self.audience, leeway=LEEWAY,
                              options={"require": ["exp", "iss"],
                                       "verify_aud": self.audience is not None})
        except jwt.ExpiredSignatureError:
            raise InvalidToken("expired") from None
        except jwt.PyJWTError as e:
            raise InvalidToken(str(e) or type(e).__name__) from None


def main(argv=None) -> int:
    prog = "verify_token.py"
    p = argparse.ArgumentParser(prog=prog, description="Verify a gatehouse access token.")
    p.add_argument("--jwks", required=True, help="JWKS file, '-' for stdin, or https URL")
    p.add_argument("--issuer", required=True)
    p.add_argument("--audience")
    p.add_argument("token", help="the access token, or '-' to read it from stdin")
    a = p.parse_args(argv)
    try:
        token = sys.stdin.readline().strip() if a.token == "-" else a.token
        if a.jwks.startswith(("http://", "https://")):
            v = AccessTokenVerifier(a.issuer, a.audience, jwks_url=a.jwks)
        else:
            if a.jwks == "-":
                text = sys.stdin.read(MAX_JWKS + 1)
            else:
                with open(a.jwks, "rb") as f:
                    text = f.read(MAX_JWKS + 1)
            if len(text) > MAX_JWKS:
                raise InvalidToken(f"the key set is larger than {MAX_JWKS} bytes")
            v = AccessTokenVerifier(a.issuer, a.audience, jwks=parse_jwks(text))
        claims = v.verify(token)
    except (InvalidToken, OSError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(claims, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
