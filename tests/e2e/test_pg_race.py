"""Two gatehouse instances on one PostgreSQL database (GATEHOUSE_TEST_PG=1 only).

The threat (RFC 6749 §4.1.2, RFC 9700 §4.14.2, RFC 7523 §3): an authorization code, a refresh
token or a client assertion presented to two instances behind a load balancer at the same
moment must be accepted at most once. Each instance checks and spends it in its own process
and connection; only the database's row locks stand between them. These tests race two
`gatehouse serve` processes on the same DSN many times and require exactly one success each
time, and the loser to be treated as a replay.
"""
import threading

import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import OP, assert_oauth_error, http_session, start_op  # noqa: E402

pytest_plugins = ["oidc"]   # fixtures: users_template

pytestmark = pytest.mark.pg_only

ROUNDS = 25
ISSUER = "http://127.0.0.1:9"   # one realm behind a balancer: one issuer for both instances


def two_ops(gh, start_server, users_template):
    """Two servers on the same database (and the same key files: keys are still per data
    location; they go to the database in the next step)."""
    a = start_op(gh, start_server, users_template, issuer=ISSUER)
    b = OP(gh, start_server(issuer=ISSUER))
    b.premade = {}
    assert a.server.port != b.server.port
    return a, b


def race(calls):
    """Run the callables at the same moment (a barrier), return their results in order."""
    results = [None] * len(calls)
    go = threading.Barrier(len(calls))

    def run(i):
        go.wait()
        try:
            results[i] = calls[i]()
        except Exception as e:  # noqa: BLE001 - reported by the caller's asserts
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_one_code_raced_at_two_instances_is_redeemed_exactly_once(gh, start_server,
                                                                  users_template):
    a, b = two_ops(gh, start_server, users_template)
    shop, alice = a.client("shop"), a.user("alice")
    sa, sb = http_session(), http_session()
    wins = {"a": 0, "b": 0}
    for _ in range(ROUNDS):
        br = a.browser()
        az = br.authorize(shop)
        code = az.code(br.login(az.r, alice))
        ra, rb = race([lambda: shop.redeem(code, az.verifier, session=sa),
                       lambda: shop.at(b).redeem(code, az.verifier, session=sb)])
        assert not isinstance(ra, Exception) and not isinstance(rb, Exception), (ra, rb)
        codes = sorted([ra.status_code, rb.status_code])
        assert codes == [200, 400], (ra.status_code, ra.text, rb.status_code, rb.text)
        winner, loser = (ra, rb) if ra.status_code == 200 else (rb, ra)
        wins["a" if winner is ra else "b"] += 1
        assert_oauth_error(loser, 400, "invalid_grant")
        # RFC 6749 §4.1.2: the replay revokes what the first redemption produced, whichever
        # instance stored it and in whichever order the two committed
        tok = winner.json()
        assert_oauth_error(shop.refresh(tok["refresh_token"]), 400, "invalid_grant")
        assert a.userinfo(tok["access_token"]).status_code == 401
    # both instances took part (not one always first): the race was a race
    assert wins["a"] + wins["b"] == ROUNDS


def test_one_refresh_token_raced_at_two_instances_rotates_exactly_once(gh, start_server,
                                                                       users_template):
    a, b = two_ops(gh, start_server, users_template)
    shop = a.client("shop")
    alice = a.user("alice")
    sa, sb = http_session(), http_session()
    for _ in range(ROUNDS):
        t = a.browser().tokens(shop, alice)
        ra, rb = race([lambda: shop.refresh(t["refresh_token"], session=sa),
                       lambda: shop.at(b).refresh(t["refresh_token"], session=sb)])
        assert not isinstance(ra, Exception) and not isinstance(rb, Exception), (ra, rb)
        assert sorted([ra.status_code, rb.status_code]) == [200, 400], \
            (ra.status_code, ra.text, rb.status_code, rb.text)
        winner, loser = (ra, rb) if ra.status_code == 200 else (rb, ra)
        assert_oauth_error(loser, 400, "invalid_grant")
        # RFC 9700 §4.14.2: the loser presented an old generation: the family is revoked, so
        # the winner's new refresh token is dead too
        assert_oauth_error(shop.refresh(winner.json()["refresh_token"]), 400, "invalid_grant")


def test_instances_see_each_others_writes(gh, start_server, users_template):
    """A user signed in at A has a session B honours; a client added by the CLI is known to
    both; a token issued by A is accepted by B's userinfo (same keys, same grant rows)."""
    a, b = two_ops(gh, start_server, users_template)
    shop, alice = a.client("shop"), a.user("alice")
    br = a.browser()
    br.sign_in(shop, alice)
    # the same browser (its cookies) at instance B: already signed in, straight to a code
    bb = b.browser()
    bb.cookies = dict(br.cookies)
    az = bb.authorize(shop)
    assert az.r.status_code == 302, (az.r.status_code, az.r.text[:300])
    code = az.code(az.r)
    tok = shop.at(b).redeem_ok(code, az.verifier)
    assert a.userinfo(tok["access_token"]).status_code == 200
    assert b.userinfo(tok["access_token"]).status_code == 200
