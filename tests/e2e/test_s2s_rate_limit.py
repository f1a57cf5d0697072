"""Back-channel limits and clock skew (issue 5; SECURITY.md L6, L9, J5).

client_rate / client_burst: requests per authenticated client at /token, /introspect and
/revoke together; over the limit 429 with Retry-After (whole seconds) and the RFC 6749 §5.2
JSON error temporarily_unavailable, no-store. Another client is unaffected; after Retry-After
the client gets through again. Off by default: a busy client is never throttled by surprise.

client_auth_ip_failures: failed client authentications per client address per minute (on by
default, 100); over it every back-channel request from the address is refused with 429 before
any credential is looked at (no client_auth_fail is logged for it), whatever the credentials;
a success does not clear the count; another address (trusted_proxies + X-Forwarded-For) is
unaffected, and an untrusted X-Forwarded-For does not let a flood change address.

clock_skew: the seconds allowed on exp, nbf and iat of client assertions, JWT-bearer grant
assertions, access tokens at introspection and `gatehouse token verify` (--clock-skew): within
it accepted, beyond it refused, for the default (30), a larger and a zero setting."""
import time
import uuid

import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from ghtest import FakeClock  # noqa: E402
from oidc import (  # noqa: E402
    assert_oauth_error, basic_auth, http_session, jwt_build, jwt_parts, resign_rs256,
    start_op)

pytest_plugins = ["oidc"]   # fixtures: op, users_template

API = "https://api.example/"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SECRET = "rate-limit-e2e-secret-" + "0123456789abcdef" * 3


def make_op(gh, start_server, users_template, **env):
    """A server with env settings, API defined, and two client_credentials clients allowed at
    it (svc, svc2) plus the API's own introspecting client (rs)."""
    op = start_op(gh, start_server, users_template,
                  env={k: str(v) for k, v in env.items()})
    op.gh.ok("resource", "add", API, "--scopes", "read")
    for cid in ("svc", "svc2", "rs"):
        setattr(op, cid.replace("-", "_"), op.client(cid, "--grant-types",
                                                      "client_credentials", redirect_uri=None))
        op.gh.ok("resource", "allow", API, cid, "--scopes", "read")
    return op


def cc(client, headers=None, session=None):
    return client.token({"grant_type": "client_credentials", "resource": API},
                        headers=headers, session=session)


def assert_429(r) -> int:
    """A 429 in the token endpoint's error shape; returns Retry-After."""
    assert_oauth_error(r, 429, "temporarily_unavailable")
    assert "no-store" in r.headers["Cache-Control"], r.headers
    ra = r.headers.get("Retry-After", "")
    assert ra.isdigit() and int(ra) >= 1, f"Retry-After: {ra!r}"
    assert r.json().get("error_description"), r.text
    return int(ra)


def introspect(client, token):
    data, headers = {"token": token}, {}
    client.auth(data, headers)
    return client.op.post("/introspect", data=data, headers=headers)


def revoke(client, token):
    data, headers = {"token": token}, {}
    client.auth(data, headers)
    return client.op.post("/revoke", data=data, headers=headers)


# --- client_rate -------------------------------------------------------------------------------

def test_over_client_rate_the_next_request_is_429_until_retry_after(gh, start_server,
                                                                    users_template):
    op = make_op(gh, start_server, users_template, GATEHOUSE_CLIENT_RATE=1,
                 GATEHOUSE_CLIENT_BURST=3)
    s = http_session(op.server)
    for i in range(3):
        r = cc(op.svc, session=s)
        assert r.status_code == 200, f"request {i + 1}: {r.status_code} {r.text}"
    wait = assert_429(cc(op.svc, session=s))
    assert wait == 1                      # 1 per second: the next one is due within a second
    # another client has its own budget
    for _ in range(3):
        assert cc(op.svc2, session=s).status_code == 200
    # refused requests cost nothing: after Retry-After one more gets through, then 429 again
    time.sleep(wait + 0.05)
    assert cc(op.svc, session=s).status_code == 200
    assert_429(cc(op.svc, session=s))


def test_introspection_and_revocation_count_against_the_same_budget(gh, start_server,
                                                                    users_template):
    op = make_op(gh, start_server, users_template, GATEHOUSE_CLIENT_RATE=1,
                 GATEHOUSE_CLIENT_BURST=3)
    tok = cc(op.svc).json()["access_token"]
    r = introspect(op.rs, tok)
    assert r.status_code == 200 and r.json()["active"] is True, r.text
    assert revoke(op.rs, "not-a-token").status_code == 200
    assert cc(op.rs).status_code == 200
    # three used, by three endpoints: each of them now answers 429
    assert_429(introspect(op.rs, tok))
    assert_429(revoke(op.rs, tok))
    assert_429(cc(op.rs))
    # the token was not revoked by the refused request
    assert cc(op.svc2).status_code == 200
    time.sleep(1.05)
    assert introspect(op.rs, tok).json()["active"] is True


def test_the_default_does_not_throttle_a_busy_client(op):
    op.gh.ok("resource", "add", API, "--scopes", "read")
    svc = op.client("svc", "--grant-types", "client_credentials", redirect_uri=None)
    op.gh.ok("resource", "allow", API, "svc", "--scopes", "read")
    s = http_session(op.server)
    codes = [cc(svc, session=s).status_code for _ in range(300)]
    assert codes == [200] * 300, sorted(set(codes))


def test_a_client_cannot_spend_another_clients_budget_by_naming_it(gh, start_server,
                                                                     users_template):
    """The rate is counted after authentication: requests naming svc with a wrong secret are
    refused as invalid_client and leave svc's budget alone."""
    op = make_op(gh, start_server, users_template, GATEHOUSE_CLIENT_RATE=1,
                 GATEHOUSE_CLIENT_BURST=2)
    bad = {"Authorization": basic_auth("svc", "not-the-secret")}
    for _ in range(10):
        assert_oauth_error(op.svc.op.post("/token", data={"grant_type": "client_credentials"},
                                          headers=bad), 401, "invalid_client")
    assert cc(op.svc).status_code == 200
    assert cc(op.svc).status_code == 200
    assert_429(cc(op.svc))


# --- client_auth_ip_failures -------------------------------------------------------------------

def bad_secret(op, headers=None, path="/token"):
    h = {"Authorization": basic_auth("svc", "wrong-" + uuid.uuid4().hex)}
    h.update(headers or {})
    return op.post(path, data={"grant_type": "client_credentials"}, headers=h)


def test_a_bad_secret_flood_is_refused_after_the_default_bound_without_checking(
        gh, start_server, users_template):
    op = make_op(gh, start_server, users_template)
    s = http_session(op.server)
    h = {"Authorization": basic_auth("svc", "wrong")}
    for i in range(100):
        r = op.post("/token", session=s, data={"grant_type": "client_credentials"}, headers=h)
        assert r.status_code == 401, f"failure {i + 1}: {r.status_code} {r.text}"
    t0 = time.monotonic()
    for _ in range(50):
        wait = assert_429(op.post("/token", session=s, data={"grant_type":
                                                            "client_credentials"}, headers=h))
        assert 1 <= wait <= 60
    elapsed = time.monotonic() - t0
    # refused before any credential is looked at: no further client_auth_fail lines
    op.server.stop()
    log = op.server.stderr()
    assert log.count("client_auth_fail ") == 100, log.count("client_auth_fail ")
    assert log.count("client_auth_limited ") == 1, log    # one warning, not one per request
    assert elapsed < 5, elapsed


def test_over_the_bound_an_address_is_refused_everywhere_and_a_success_does_not_reset(
        gh, start_server, users_template):
    op = make_op(gh, start_server, users_template, GATEHOUSE_CLIENT_AUTH_IP_FAILURES=5)
    for _ in range(4):
        assert bad_secret(op).status_code == 401
    # a success in between neither counts nor clears the four failures
    assert cc(op.svc).status_code == 200
    assert bad_secret(op, path="/introspect").status_code == 401     # the fifth
    assert_429(bad_secret(op))
    # now the address is refused at every back-channel endpoint, good credentials or not
    assert_429(cc(op.svc))
    assert_429(introspect(op.rs, "x"))
    assert_429(revoke(op.rs, "x"))
    # the front channel is not this limit's business
    assert op.get("/.well-known/openid-configuration").status_code == 200


def test_another_address_behind_a_trusted_proxy_is_unaffected(gh, start_server,
                                                             users_template):
    op = make_op(gh, start_server, users_template, GATEHOUSE_CLIENT_AUTH_IP_FAILURES=3,
                 GATEHOUSE_TRUSTED_PROXIES="127.0.0.1")
    a = {"X-Forwarded-For": "198.51.100.7"}
    b = {"X-Forwarded-For": "198.51.100.8"}
    for _ in range(3):
        assert bad_secret(op, a).status_code == 401
    assert_429(bad_secret(op, a))
    assert_429(cc(op.svc, headers=a))
    # a different client address, and the proxy's own address, are unaffected
    assert bad_secret(op, b).status_code == 401
    assert cc(op.svc, headers=b).status_code == 200
    assert cc(op.svc).status_code == 200
    # IPv6 clients are counted by /64
    for i in range(3):
        assert bad_secret(op, {"X-Forwarded-For": f"2001:db8:7:7::{i + 1}"}).status_code == 401
    assert_429(cc(op.svc, headers={"X-Forwarded-For": "2001:db8:7:7:ffff::1"}))
    assert cc(op.svc, headers={"X-Forwarded-For": "2001:db8:7:8::1"}).status_code == 200


def test_an_untrusted_forwarded_for_does_not_change_the_address(gh, start_server,
                                                                users_template):
    op = make_op(gh, start_server, users_template, GATEHOUSE_CLIENT_AUTH_IP_FAILURES=3)
    for i in range(3):
        assert bad_secret(op, {"X-Forwarded-For": f"203.0.113.{i}"}).status_code == 401
    assert_429(bad_secret(op, {"X-Forwarded-For": "203.0.113.99"}))
    assert_429(cc(op.svc, headers={"X-Forwarded-For": "203.0.113.100"}))


def test_the_failure_window_ends_after_a_minute(gh, start_server, users_template):
    now = int(time.time()) + 1000
    clock = FakeClock(gh, now)
    op = make_op(gh, start_server, users_template, GATEHOUSE_CLIENT_AUTH_IP_FAILURES=2)
    assert bad_secret(op).status_code == 401
    clock.set(now + 10)
    assert bad_secret(op).status_code == 401
    assert assert_429(cc(op.svc)) == 50       # the window began at the first failure
    clock.set(now + 59)
    assert assert_429(cc(op.svc)) == 1
    clock.set(now + 60)
    assert bad_secret(op).status_code == 401  # a new window
    assert cc(op.svc).status_code == 200


@pytest.mark.parametrize("var,value", [("GATEHOUSE_CLIENT_RATE", "1000001"),
                                       ("GATEHOUSE_CLIENT_BURST", "-1"),
                                       ("GATEHOUSE_CLIENT_AUTH_IP_FAILURES", "x"),
                                       ("GATEHOUSE_CLOCK_SKEW", "601")])
def test_bad_limit_settings_stop_serve_naming_the_setting(gh, var, value):
    gh.init_copy()
    line = gh.fails("serve", "--listen", "127.0.0.1:0", env={var: value})
    assert var in line, line


# --- clock_skew ----------------------------------------------------------------------------

def jwt_client(op):
    """A client_secret_jwt client allowed at API, also for the JWT-bearer grant."""
    op.gh.ok("resource", "add", API, "--scopes", "read")
    c = op.client("hs", "--grant-types", f"client_credentials,{JWT_BEARER}",
                  redirect_uri=None, auth_method="client_secret_jwt", secret=SECRET)
    op.gh.ok("resource", "allow", API, "hs", "--scopes", "read")
    return c


def assertion(op, aud_token=True, **claims):
    now = int(time.time())
    c = {"iss": "hs", "sub": "hs", "aud": op.issuer + ("/token" if aud_token else ""),
         "iat": now, "exp": now + 120, "jti": uuid.uuid4().hex}
    c.update(claims)
    return jwt_build({"alg": "HS256", "typ": "JWT"}, c, SECRET.encode())


def assertion_token(op, a):
    return op.post("/token", data={"grant_type": "client_credentials", "resource": API,
                                   "client_id": "hs", "client_assertion_type": ASSERTION_TYPE,
                                   "client_assertion": a})


def jwt_bearer(op, grant_assertion):
    return op.post("/token", data={"grant_type": JWT_BEARER, "resource": API,
                                   "assertion": grant_assertion,
                                   "client_assertion_type": ASSERTION_TYPE,
                                   "client_assertion": assertion(op)})


def test_client_and_grant_assertions_honour_the_default_skew(op):
    jwt_client(op)
    now = int(time.time())
    for claim in ("iat", "nbf"):
        assert assertion_token(op, assertion(op, **{claim: now + 15})).status_code == 200
        assert_oauth_error(assertion_token(op, assertion(op, **{claim: now + 50})), 401,
                           "invalid_client")
    assert assertion_token(op, assertion(op, exp=now - 15)).status_code == 200
    assert_oauth_error(assertion_token(op, assertion(op, exp=now - 50)), 401, "invalid_client")
    # the JWT-bearer grant's own assertion (self-issued)
    assert jwt_bearer(op, assertion(op, iat=now + 15)).status_code == 200
    assert_oauth_error(jwt_bearer(op, assertion(op, iat=now + 50)), 400, "invalid_grant")
    assert_oauth_error(jwt_bearer(op, assertion(op, nbf=now + 50)), 400, "invalid_grant")


def test_a_larger_clock_skew_accepts_what_the_default_refuses(gh, start_server,
                                                             users_template):
    op = start_op(gh, start_server, users_template, env={"GATEHOUSE_CLOCK_SKEW": "120"})
    jwt_client(op)
    now = int(time.time())
    assert assertion_token(op, assertion(op, iat=now + 50)).status_code == 200
    assert assertion_token(op, assertion(op, nbf=now + 100)).status_code == 200
    assert assertion_token(op, assertion(op, exp=now - 100)).status_code == 200
    assert_oauth_error(assertion_token(op, assertion(op, iat=now + 150)), 401, "invalid_client")
    assert jwt_bearer(op, assertion(op, iat=now + 100)).status_code == 200
    assert_oauth_error(jwt_bearer(op, assertion(op, iat=now + 150)), 400, "invalid_grant")


def test_zero_clock_skew_allows_none(gh, start_server, users_template):
    op = start_op(gh, start_server, users_template, env={"GATEHOUSE_CLOCK_SKEW": "0"})
    jwt_client(op)
    now = int(time.time())
    assert assertion_token(op, assertion(op)).status_code == 200
    assert_oauth_error(assertion_token(op, assertion(op, iat=now + 5)), 401, "invalid_client")
    assert_oauth_error(assertion_token(op, assertion(op, exp=now - 2)), 401, "invalid_client")


def future_iat_token(op, svc, ahead):
    tok = cc(svc).json()["access_token"]
    kid = jwt_parts(tok)[0]["kid"]
    return resign_rs256(tok, op.gh.key_pem(kid),
                        claims={"iat": int(time.time()) + ahead})


@pytest.mark.parametrize("skew,ok,refused", [(None, 15, 50), ("120", 100, 150), ("0", None, 5)])
def test_introspection_allows_a_future_iat_within_the_skew(gh, start_server, users_template,
                                                           skew, ok, refused):
    env = {"GATEHOUSE_CLOCK_SKEW": skew} if skew else {}
    op = make_op(gh, start_server, users_template, **env)
    if ok is not None:
        r = introspect(op.rs, future_iat_token(op, op.svc, ok))
        assert r.status_code == 200 and r.json()["active"] is True, r.text
    r = introspect(op.rs, future_iat_token(op, op.svc, refused))
    assert r.status_code == 200 and r.json() == {"active": False}, r.text


def test_token_verify_takes_clock_skew_from_flag_env_and_config(gh, start_server,
                                                                 users_template, tmp_path):
    op = make_op(gh, start_server, users_template)
    tok = cc(op.svc).json()["access_token"]
    exp = jwt_parts(tok)[1]["exp"]
    args = ("token", "verify", "--issuer", op.issuer, tok)
    late = {"GATEHOUSE_FAKE_NOW": str(exp + 45)}
    assert "expired at" in gh.fails(*args, env=late)                      # default 30 s
    gh.ok(*args, env={"GATEHOUSE_FAKE_NOW": str(exp + 25)})
    gh.ok("token", "verify", "--clock-skew", "60", "--issuer", op.issuer, tok, env=late)
    gh.ok(*args, env={**late, "GATEHOUSE_CLOCK_SKEW": "60"})
    conf = tmp_path / "gatehouse.conf"
    conf.write_text("clock_skew = 60\n")
    gh.ok("token", "verify", "--config", conf, "--issuer", op.issuer, tok, env=late)
    assert "expired at" in gh.fails("token", "verify", "--clock-skew", "0", "--issuer",
                                    op.issuer, tok, env={"GATEHOUSE_FAKE_NOW": str(exp + 1)})
    line = gh.fails("token", "verify", "--clock-skew", "601", "--issuer", op.issuer, tok, rc=2)
    assert "clock_skew" in line and "600" in line, line


def test_retired_keys_stay_published_for_the_larger_of_300_s_and_clock_skew(ready):
    """hold = max(access_token_ttl, id_token_ttl) + max(300, clock_skew): default TTLs 600."""
    from datetime import datetime

    def hold(*args, **kw):
        k = [k for k in ready.json("keys", "list", *args, **kw) if k["alg"] == "ES256"
             and k["state"] == "active"][0]
        t = [datetime.strptime(k[f], "%Y-%m-%dT%H:%M:%SZ") for f in ("retire_at", "remove_at")]
        return int((t[1] - t[0]).total_seconds())

    ready.ok("keys", "rotate", "--alg", "ES256")
    assert hold() == 600 + 300
    assert hold("--clock-skew", "0") == 600 + 300     # never below what verifiers may allow
    assert hold("--clock-skew", "600") == 600 + 600
    assert hold(env={"GATEHOUSE_CLOCK_SKEW": "450"}) == 600 + 450
