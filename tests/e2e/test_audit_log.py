"""Issue 5, audit: `serve --audit-log FILE` and the CLI with --audit-log append one JSON object
per line for every security event. A sign-in with a wrong then the right password, a code
exchange, a refresh and its reuse, revocations, logout, a wrong client secret, and `user add` /
`client add` from the CLI: each event is in the file with its type, sub, client, source address
and the request id the access log gives the same request; every line parses as JSON; the
reason of a failure is in the audit log only, never on the page."""
import base64
import json
import re

import pytest

pytest.register_assert_rewrite("oidc")
from oidc import OP, PASSWORD, basic_auth, start_op  # noqa: E402

pytest_plugins = ["oidc"]

WRONG = "not the password of alice, clearly"


def audit_events(path):
    text = path.read_text("utf-8")
    assert text.endswith("\n"), "the last audit line is not whole"
    events = []
    for ln in text.splitlines():
        ev = json.loads(ln)          # every line is one JSON object
        assert isinstance(ev, dict), ln
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ev["time"]), ev
        assert ev["type"] and ev["ip"], ev
        events.append(ev)
    return events


def access_paths(log):
    """rid -> (method, path) from the access log lines."""
    out = {}
    for m in re.finditer(r" rid=(\S+) ip=\S+ method=(\S+) path=\"([^\"]*)\"", log):
        out[m.group(1)] = (m.group(2), m.group(3))
    return out


def one(events, **want):
    found = [e for e in events if all(e.get(k) == v for k, v in want.items())]
    assert len(found) == 1, f"want one event {want}, got {len(found)}:\n" + \
        "\n".join(json.dumps(e) for e in events)
    return found[0]


def test_audit_log_records_every_event(gh, start_server, users_template):
    audit = gh.root / "audit.log"
    src, users = users_template
    gh.init_from(src)
    op = OP(gh, start_server("--audit-log", str(audit)))
    op.premade = dict(users)
    assert (audit.stat().st_mode & 0o777) == 0o600
    shop = op.client("shop", "--audit-log", str(audit))
    alice = op.user("alice")

    b = op.browser()
    a = b.authorize(shop, login_hint="alice")
    r = b.login(a.r, username="alice", password=WRONG)
    assert r.status_code == 200 and "Wrong username or password." in r.text
    assert "wrong_password" not in r.text, "the reason of a failure reached the user"
    r = b.login(r, alice)
    code = a.code(r, status=303)
    t = shop.redeem_ok(code, a.verifier)
    r = shop.refresh(t["refresh_token"])
    assert r.status_code == 200, r.text
    t2 = r.json()
    assert shop.refresh(t["refresh_token"]).status_code == 400          # reuse
    assert shop.redeem(code, a.verifier).status_code == 400             # code replay
    t3 = b.tokens(shop, alice)                                          # SSO: no login
    auth = {"Authorization": basic_auth("shop", shop.secret)}
    assert op.post("/revoke", data={"token": t3["refresh_token"]}, headers=auth).status_code == 200
    t4 = b.tokens(shop, alice)
    assert op.post("/revoke", data={"token": t4["access_token"]}, headers=auth).status_code == 200
    r = op.post("/token", data={"grant_type": "refresh_token", "refresh_token": "x" * 43},
                headers={"Authorization": basic_auth("shop", "a-wrong-secret-0123456789abcdef")})
    assert r.status_code == 401
    r = b.get("/logout", params={"id_token_hint": t4["id_token"]})
    assert r.status_code in (200, 302, 303)
    op.gh.ok("user", "add", "carol", "--password-stdin", "--audit-log", str(audit),
             input=PASSWORD + "\n")
    op.server.stop()     # the access log is flushed at exit

    ev = audit_events(audit)
    rids = access_paths(op.server.stderr())

    def from_request(e, path):
        assert e["ip"] == "127.0.0.1", e
        assert e.get("rid") in rids, f"rid of {e} is not in the access log"
        assert rids[e["rid"]][1] == path, (e, rids[e["rid"]])

    cli = one(ev, type="client_added", client="shop")
    assert cli["ip"] == "cli" and "rid" not in cli and isinstance(cli["operator_uid"], int)
    fail = one(ev, type="login_failure")
    assert fail["client"] == "shop" and fail["username"] == "alice", fail
    assert fail["reason"] == "wrong_password" and "sub" not in fail, fail
    from_request(fail, "/login")
    ok = one(ev, type="login_success")
    assert ok["sub"] == alice.sub and ok["client"] == "shop", ok
    from_request(ok, "/login")

    issued = [e for e in ev if e["type"] == "token_issued"]
    assert [e["grant_type"] for e in issued] == \
        ["authorization_code", "refresh_token", "authorization_code", "authorization_code"], issued
    for e in issued:
        assert e["sub"] == alice.sub and e["client"] == "shop" and e["jti"], e
        from_request(e, "/token")
    at = json.loads(base64.urlsafe_b64decode(t["access_token"].split(".")[1] + "==="))
    assert issued[0]["jti"] == at["jti"], "the audit jti names the token issued"

    reuse = one(ev, type="refresh_reuse")
    assert reuse["client"] == "shop", reuse
    from_request(reuse, "/token")
    replay = one(ev, type="code_replay")
    assert replay["client"] == "shop", replay
    from_request(replay, "/token")

    revoked = [e for e in ev if e["type"] == "token_revoked"]
    assert sorted(e["kind"] for e in revoked) == ["access_token", "refresh_token"], revoked
    for e in revoked:
        assert e["sub"] == alice.sub and e["client"] == "shop", e
        from_request(e, "/revoke")

    bad = one(ev, type="client_auth_failure")
    assert bad["client"] == "shop" and bad["reason"] == "secret", bad
    from_request(bad, "/token")

    out = one(ev, type="logout")
    assert out["sub"] == alice.sub and out["client"] == "shop", out
    from_request(out, "/logout")

    carol = one(ev, type="user_added")
    assert carol["username"] == "carol" and carol["sub"] and carol["ip"] == "cli", carol

    # nothing secret: the values the run handled never appear
    text = audit.read_text("utf-8")
    for secret in (shop.secret, PASSWORD, WRONG, code, a.verifier, t["refresh_token"],
                   t2["refresh_token"], t["access_token"], t["id_token"],
                   *b.cookies.values()):
        assert secret not in text


def test_without_audit_log_an_admin_command_writes_no_event(ready):
    """serve writes to stderr (its log); a command on a terminal prints no JSON there."""
    rc, out, err = ready.run("client", "add", "app", "--redirect-uri", "https://rp.example/cb")
    assert rc == 0, err
    assert not [ln for ln in err.splitlines() if ln.startswith("{")], err


def test_without_audit_log_the_server_writes_events_to_stderr(gh, start_server, users_template):
    op = start_op(gh, start_server, users_template)
    shop, alice = op.client("shop"), op.user("alice")
    op.browser().tokens(shop, alice)
    op.server.stop()
    lines = [json.loads(ln) for ln in op.server.stderr().splitlines() if ln.startswith("{")]
    assert {"login_success", "token_issued"} <= {e["type"] for e in lines}, lines


def test_unwritable_audit_log_stops_the_command(ready):
    before = ready.dump()
    line = ready.fails("client", "add", "app", "--redirect-uri", "https://rp.example/cb",
                       "--audit-log", str(ready.root / "no-such-dir" / "audit.log"))
    assert "audit log" in line, line
    assert ready.dump() == before
