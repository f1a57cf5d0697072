"""Issue 5: no secret, password, code or token ever reaches a log line. One server at log level
debug with the access log on goes through everything that handles one: sign-in (right and
wrong passwords, for real and unknown users), throttling, consent-free code flow, code
redemption and a replayed code, refresh rotation and reuse, userinfo, introspection and
revocation, client_credentials with client_secret_basic and client_secret_post, a wrong client
secret, logout, and the CLI (user add, passwd, client add, rotate-secret). Then its stderr (the
log and the access log), the audit log (server and CLI) and the CLI's stderr are searched for
every one of those values, whole and by a distinctive piece (a log field is cut at 128 bytes,
so a prefix could leak alone)."""
import pytest

pytest.register_assert_rewrite("oidc")
from oidc import PASSWORD, basic_auth, start_op  # noqa: E402

pytest_plugins = ["oidc"]

API = "https://api.example/"


def pieces(value: str):
    """The value and distinctive parts of it: for a JWT its payload and signature, else its
    first and last 16 characters."""
    out = {value}
    parts = value.split(".")
    if len(parts) == 3 and all(parts):
        out |= {parts[1][:24], parts[2][:24], parts[2][-16:]}
    elif len(value) >= 16:
        out |= {value[:16], value[-16:]}
    return out


def test_a_full_run_logs_no_secret(gh, start_server, users_template):
    # the audit log of the server and of every CLI command below (the setting by environment)
    audit = gh.root / "audit.log"
    gh.env["GATEHOUSE_AUDIT_LOG"] = str(audit)
    op = start_op(gh, start_server, users_template,
                  env={"GATEHOUSE_LOG_LEVEL": "debug", "GATEHOUSE_ACCESS_LOG": "on"})
    secrets = {}
    shop, alice = op.client("shop"), op.user("alice")
    post = op.client("poster", auth_method="client_secret_post")
    secrets["shop secret"], secrets["poster secret"] = shop.secret, post.secret
    secrets["password"] = alice.password

    # sign-in with a wrong password first, then the right one; an unknown user
    b = op.browser()
    a = b.authorize(shop, login_hint="alice")
    wrong = "Tr0ub4dor&3-wrong-password-here"
    secrets["wrong password"] = wrong
    r = b.login(a.r, username="alice", password=wrong)
    r = b.login(r, alice)
    code = a.code(r, status=303)
    secrets["code"] = code
    secrets["code_verifier"] = a.verifier
    for name, value in b.cookies.items():
        secrets[f"cookie {name}"] = value
    b2 = op.browser()
    r = b2.login(b2.authorize(shop).r, username="nobody", password=wrong)
    assert r.status_code == 200 and "Wrong username or password." in r.text

    t = shop.redeem_ok(code, a.verifier)
    for k in ("access_token", "refresh_token", "id_token"):
        secrets[k] = t[k]
    assert shop.redeem(code, a.verifier).status_code == 400        # replay: revokes the grant

    # a second sign-in for refresh, userinfo, introspection, revocation and logout
    t2 = b.tokens(shop, alice)
    secrets["access_token 2"], secrets["refresh_token 2"] = t2["access_token"], \
        t2["refresh_token"]
    r = shop.refresh(t2["refresh_token"])
    assert r.status_code == 200
    t3 = r.json()
    secrets["refresh_token 3"] = t3["refresh_token"]
    secrets["access_token 3"] = t3["access_token"]
    assert shop.refresh(t2["refresh_token"]).status_code == 400    # reuse
    assert op.userinfo(t3["access_token"]).status_code in (200, 401)
    auth = {"Authorization": basic_auth("shop", shop.secret)}
    op.post("/introspect", data={"token": t3["access_token"]}, headers=auth)
    op.post("/introspect", data={"token": "not-a-token-but-secret-looking-0123456789"},
            headers=auth)
    secrets["garbage token"] = "not-a-token-but-secret-looking-0123456789"
    op.post("/revoke", data={"token": t3["refresh_token"]}, headers=auth)
    op.post("/token", data={"grant_type": "client_credentials"},
            headers={"Authorization": basic_auth("shop", "a-wrong-secret-0123456789abcdef")})
    secrets["wrong client secret"] = "a-wrong-secret-0123456789abcdef"
    op.post("/token", data={"grant_type": "authorization_code", "code": code,
                            "redirect_uri": shop.redirect_uri, "code_verifier": a.verifier,
                            "client_id": "poster", "client_secret": post.secret})
    r = b.get("/logout", params={"id_token_hint": t["id_token"]})
    assert r.status_code in (200, 302, 303)

    # client_credentials, both ways of sending the secret
    op.gh.ok("resource", "add", API, "--scopes", "read")
    svc = op.client("svc", "--grant-types", "client_credentials", redirect_uri=None)
    svcp = op.client("svcp", "--grant-types", "client_credentials", redirect_uri=None,
                     auth_method="client_secret_post")
    for c in (svc, svcp):
        op.gh.ok("resource", "allow", API, c.client_id, "--scopes", "read")
        r = c.token({"grant_type": "client_credentials", "resource": API})
        assert r.status_code == 200, r.text
        secrets[f"{c.client_id} secret"] = c.secret
        secrets[f"{c.client_id} token"] = r.json()["access_token"]

    # the CLI: passwords and secrets in, secrets out
    newpw = "another correct horse battery staple"
    secrets["new password"] = newpw
    op.gh.ok("user", "add", "carol", "--password-stdin", input=PASSWORD + "\n")
    op.gh.ok("user", "passwd", "carol", "--password-stdin", input=newpw + "\n")
    out = op.gh.json("client", "rotate-secret", "svc", "--json")
    secrets["rotated secret"] = out["client_secret"]

    op.server.stop()
    logs = op.server.stderr()
    audit_text = audit.read_text("utf-8")
    assert '"type":"token_issued"' in audit_text and '"type":"login_failure"' in audit_text \
        and '"type":"user_password_changed"' in audit_text, "the audit log has the events"
    logs += audit_text
    assert "token_issued" in logs and "login_fail" in logs and 'path="/token"' in logs, \
        "the server logged at debug level with the access log"
    cli_err = "".join(err for _, _, err in op.gh.history)
    leaks = [f"{what} ({piece[:8]}…)" for what, value in secrets.items() if value
             for piece in pieces(value) if piece in logs or piece in cli_err]
    assert not leaks, f"in the logs: {leaks}"
