"""POST /token, grant_type=refresh_token (RFC 6749 §6, RFC 9700 §4.14.2): rotation at every
use, reuse of a rotated token revokes its whole family (and nothing else), one winner among
parallel refreshes, scope narrowing but never widening, and no tokens for a disabled user."""
import threading

import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import assert_oauth_error, http_session, jwt_parts, start_op  # noqa: E402

pytest_plugins = ["oidc"]   # fixtures: op, users_template


def login(op, client=None, user=None, **authz):
    client = client or op.client("shop")
    user = user or op.user("alice")
    return client, user, op.browser().tokens(client, user, **authz)


def refresh_ok(client, rt, **extra) -> dict:
    r = client.refresh(rt, **extra)
    assert r.status_code == 200, f"refresh: {r.status_code} {r.text}"
    assert "no-store" in r.headers["Cache-Control"]
    return r.json()


def test_refresh_rotates_the_refresh_token_and_issues_a_working_access_token(op):
    shop, alice, t = login(op)
    t2 = refresh_ok(shop, t["refresh_token"])
    assert t2["refresh_token"] and t2["refresh_token"] != t["refresh_token"]
    assert t2["access_token"] != t["access_token"]
    assert t2["token_type"] == "Bearer"
    h, c = jwt_parts(t2["access_token"])
    assert h["typ"] == "at+jwt" and c["sub"] == alice.sub and c["client_id"] == "shop"
    assert set(t2["scope"].split()) == {"openid", "profile", "email"}
    r = op.userinfo(t2["access_token"])
    assert r.status_code == 200 and r.json()["sub"] == alice.sub
    t3 = refresh_ok(shop, t2["refresh_token"])
    assert t3["refresh_token"] not in (t["refresh_token"], t2["refresh_token"])


def test_refreshed_id_token_keeps_sub_and_auth_time(op):
    shop, alice, t = login(op)
    t2 = refresh_ok(shop, t["refresh_token"])
    if "id_token" in t2:   # OIDC Core §12.2: optional, but then with the same sub/auth_time
        c1, c2 = jwt_parts(t["id_token"])[1], jwt_parts(t2["id_token"])[1]
        assert c2["sub"] == c1["sub"] and c2["aud"] == c1["aud"]
        assert c2["auth_time"] == c1["auth_time"]
        assert c2["iss"] == op.issuer


def test_public_client_refreshes_with_client_id_only(op):
    spa = op.client("spa", public=True)
    _, _, t = login(op, client=spa)
    assert refresh_ok(spa, t["refresh_token"])["refresh_token"]


def test_reused_refresh_token_is_invalid_grant_and_revokes_its_family(op):
    shop, _, t = login(op)
    t2 = refresh_ok(shop, t["refresh_token"])
    assert_oauth_error(shop.refresh(t["refresh_token"]), 400, "invalid_grant")
    # the newest token of that family is dead too: the thief and the client are both out
    assert_oauth_error(shop.refresh(t2["refresh_token"]), 400, "invalid_grant")


def test_family_revocation_spares_another_login_of_the_same_user_and_client(op):
    shop, alice = op.client("shop"), op.user("alice")
    _, _, t_a = login(op, shop, alice)
    _, _, t_b = login(op, shop, alice)
    refresh_ok(shop, t_a["refresh_token"])
    assert_oauth_error(shop.refresh(t_a["refresh_token"]), 400, "invalid_grant")
    t_b2 = refresh_ok(shop, t_b["refresh_token"])
    refresh_ok(shop, t_b2["refresh_token"])


def test_fifty_parallel_refreshes_of_one_token_give_exactly_one_new_token(gh, start_server,
                                                                         users_template):
    op = start_op(gh, start_server, users_template,
                  env={"GATEHOUSE_MAX_CONNECTIONS_PER_IP": "256"})
    shop, _, t = login(op)
    n = 50
    sessions = [http_session() for _ in range(n)]
    results = [None] * n
    go = threading.Barrier(n)

    def refresh(i):
        go.wait()
        try:
            r = shop.refresh(t["refresh_token"], session=sessions[i])
            results[i] = (r.status_code, r.json().get("error"), r.json().get("refresh_token"))
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = ("exception", repr(e), None)

    threads = [threading.Thread(target=refresh, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    ok = [r for r in results if r[0] == 200]
    assert len(ok) == 1, [r[:2] for r in results]
    assert all(r[:2] == (400, "invalid_grant") for r in results if r[0] != 200), results
    for s in sessions:
        s.close()


def test_scope_can_be_narrowed(op):
    shop, alice, t = login(op)
    t2 = refresh_ok(shop, t["refresh_token"], scope="openid")
    assert t2["scope"] == "openid"
    assert jwt_parts(t2["access_token"])[1]["scope"] == "openid"
    info = op.userinfo(t2["access_token"]).json()
    assert info["sub"] == alice.sub
    assert "email" not in info and "name" not in info and "preferred_username" not in info


def test_narrowing_once_does_not_shrink_the_grant(op):
    shop, _, t = login(op)
    t2 = refresh_ok(shop, t["refresh_token"], scope="openid")
    t3 = refresh_ok(shop, t2["refresh_token"])
    assert set(t3["scope"].split()) == {"openid", "profile", "email"}


@pytest.mark.parametrize("scope", ["openid profile email offline_access", "openid admin"])
def test_scope_cannot_be_widened_and_the_token_survives(op, scope):
    shop, _, t = login(op, scope="openid profile")
    assert_oauth_error(shop.refresh(t["refresh_token"], scope=scope), 400, "invalid_scope")
    t2 = refresh_ok(shop, t["refresh_token"])
    assert set(t2["scope"].split()) == {"openid", "profile"}


def test_disabled_user_gets_no_new_tokens(op):
    shop, _, t = login(op)
    op.gh.ok("user", "disable", "alice")
    assert_oauth_error(shop.refresh(t["refresh_token"]), 400, "invalid_grant")


def test_deleted_user_gets_no_new_tokens(op):
    shop, _, t = login(op)
    op.gh.ok("user", "delete", "alice")
    assert_oauth_error(shop.refresh(t["refresh_token"]), 400, "invalid_grant")


def test_refresh_token_of_another_client_is_invalid_grant(op):
    shop, alice, t = login(op)
    thief = op.client("thief")
    assert_oauth_error(thief.refresh(t["refresh_token"]), 400, "invalid_grant")


def test_refresh_token_needs_client_authentication(op):
    shop, _, t = login(op)
    r = shop.token({"grant_type": "refresh_token", "refresh_token": t["refresh_token"]},
                   auth=False)
    assert_oauth_error(r, 401, "invalid_client")
    refresh_ok(shop, t["refresh_token"])


@pytest.mark.parametrize("rt", ["A" * 43, "nope", "A" * 5000], ids=["well-formed", "short",
                                                                   "huge"])
def test_made_up_refresh_token_is_refused(op, rt):
    shop = op.client("shop")
    r = shop.refresh(rt)
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("application/json")
    want = ("invalid_grant",) if len(rt) < 1000 else ("invalid_grant", "invalid_request")
    assert r.json()["error"] in want, r.text


def test_access_token_as_refresh_token_is_invalid_grant(op):
    shop, _, t = login(op)
    assert_oauth_error(shop.refresh(t["access_token"]), 400, "invalid_grant")
