"""SECURITY.md F1: `kill -9` of the server in the middle of a write-heavy load (sign-ins with
code redemption, refresh-token rotation, and `gatehouse user add` from the CLI at the same
time), repeated. After every restart the database passes `PRAGMA integrity_check`, every user
the CLI reported added exists, and every refresh token and access token the server handed out
still works; at the end no code or refresh token whose redemption was acknowledged can be
redeemed again. What was in flight when the server died (no answer) is not counted either way.
"""
import random
import signal
import os
import threading
import time

import pytest

pytest.register_assert_rewrite("oidc")
from oidc import OP, PASSWORD, start_op  # noqa: E402
from ghtest import PG_MODE  # noqa: E402

pytest_plugins = ["oidc"]

ROUNDS = 8
LOAD_THREADS = 2


class Ledger:
    """What the server (or the CLI) acknowledged."""

    def __init__(self):
        self.lock = threading.Lock()
        self.codes_spent = []          # (client, code, verifier) redeemed with a 200
        self.rts_live = []             # refresh tokens handed out and not yet rotated
        self.rts_spent = []            # rotated with a 200
        self.access = []               # access tokens handed out
        self.users = []                # usernames `user add` reported added
        self.errors = []               # answers that must not happen
        self.done = {"sign-ins": 0, "rotations": 0, "users": 0}


def sign_in_and_redeem(op, shop, alice, ledger):
    a, code = op.browser().sign_in(shop, alice)
    r = shop.redeem(code, a.verifier)
    if r.status_code != 200:
        ledger.errors.append(f"redeem: {r.status_code} {r.text[:200]}")
        return
    t = r.json()
    with ledger.lock:
        ledger.codes_spent.append((code, a.verifier))
        ledger.rts_live.append(t["refresh_token"])
        ledger.access.append(t["access_token"])
        ledger.done["sign-ins"] += 1


def rotate(shop, ledger):
    with ledger.lock:
        if not ledger.rts_live:
            return
        old = ledger.rts_live.pop(random.randrange(len(ledger.rts_live)))
    r = shop.refresh(old)          # a connection error leaves old neither live nor spent
    if r.status_code != 200:
        ledger.errors.append(f"rotate a live token: {r.status_code} {r.text[:200]}")
        return
    t = r.json()
    with ledger.lock:
        ledger.rts_spent.append(old)
        ledger.rts_live.append(t["refresh_token"])
        ledger.access.append(t["access_token"])
        ledger.done["rotations"] += 1


def load(op, shop, alice, ledger, stop):
    while not stop.is_set():
        try:
            if random.random() < 0.5:
                rotate(shop, ledger)
            else:
                sign_in_and_redeem(op, shop, alice, ledger)
        except Exception:          # the server died mid-request: nothing was acknowledged
            time.sleep(0.01)


def add_users(gh, ledger, stop, seq):
    while not stop.is_set():
        name = f"k9user{next(seq)}"
        rc, _, _ = gh.run("user", "add", name, "--password-stdin", input=PASSWORD + "\n")
        if rc == 0:
            with ledger.lock:
                ledger.users.append(name)
                ledger.done["users"] += 1


def verify(op, shop, ledger):
    if not PG_MODE:   # the SQLite file survived; PostgreSQL's own recovery is not ours
        assert op.gh.sql("PRAGMA integrity_check").strip() == "ok"
    known = {u["username"] for u in op.gh.users()}
    missing = [u for u in ledger.users if u not in known]
    assert not missing, f"users the CLI reported added are gone: {missing}"
    for at in ledger.access[-20:]:
        r = op.userinfo(at)
        assert r.status_code == 200, f"an access token handed out no longer works: {r.text}"
    # every live refresh token still rotates (and the rotation is acknowledged in turn)
    live, ledger.rts_live = ledger.rts_live, []
    for rt in live:
        r = shop.refresh(rt)
        assert r.status_code == 200, f"a refresh token handed out was lost: {r.text}"
        ledger.rts_spent.append(rt)
        ledger.rts_live.append(r.json()["refresh_token"])


# Each restart listens on another free port; a fixed issuer keeps the tokens' iss valid.
ISSUER = "http://127.0.0.1:1"


def test_kill_9_under_write_load_loses_nothing_acknowledged(gh, start_server, users_template):
    op = start_op(gh, start_server, users_template, issuer=ISSUER)
    shop, alice = op.client("shop"), op.user("alice")
    ledger, seq = Ledger(), iter(range(10 ** 6))
    rnd = random.Random(9)
    for rnd_i in range(ROUNDS):
        stop = threading.Event()
        threads = [threading.Thread(target=load, args=(op, shop, alice, ledger, stop))
                   for _ in range(LOAD_THREADS)]
        threads.append(threading.Thread(target=add_users, args=(gh, ledger, stop, seq)))
        for t in threads:
            t.start()
        time.sleep(rnd.uniform(0.3, 1.2))
        os.kill(op.server.pid, signal.SIGKILL)
        op.server.proc.wait()
        stop.set()
        for t in threads:
            t.join(30)
        assert not ledger.errors, ledger.errors
        op = OP(gh, start_server(issuer=ISSUER))
        shop = shop.at(op)
        verify(op, shop, ledger)
    assert all(n > 0 for n in ledger.done.values()), ledger.done
    # spent codes and rotated refresh tokens stay spent (the latter revokes its family: last)
    for code, verifier in ledger.codes_spent:
        r = shop.redeem(code, verifier)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    for rt in ledger.rts_spent:
        r = shop.refresh(rt)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    print(f"after {ROUNDS} kills: {ledger.done}, {len(ledger.codes_spent)} codes and "
          f"{len(ledger.rts_spent)} refresh tokens checked spent")
