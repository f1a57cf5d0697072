"""Two gatehouse instances on one PostgreSQL database behind Debian's nginx as a round-robin load
balancer on loopback (issue 7; GATEHOUSE_TEST_PG=1 only).

The set-up (tests/tools/nginx.py): one nginx worker listening on a free loopback port, an
`upstream` with instances A and B, plain round-robin, no keepalive to the instances (each
proxied request opens its own connection, so a dead instance shows as a refused connection
on the very next request sent to it), Host / X-Forwarded-For / X-Forwarded-Proto set. Both
instances run with issuer = the balancer's URL and trusted_proxies = 127.0.0.1. Nothing is
sticky: sessions, pending sign-ins, codes, grants and sign-in limits are in the database.

Which requests nginx may send to the other instance (`proxy_next_upstream error timeout`, and
deliberately *not* `non_idempotent`): a request whose connection to an instance could not be
made (refused, timed out) reached nobody and goes to the other instance, whatever its method.
Once a request has been sent to an instance, nginx resends a GET (/authorize, /userinfo,
/jwks.json: safe to repeat) but answers 502 to a POST. That is what must happen to
POST /token: the instance may have redeemed the code (or rotated the refresh token) and
committed before it died; presenting the same code again at the other instance is a replay,
and the server revokes everything that code produced (RFC 6749 §4.1.2; RFC 9700 §4.14.2: a
rotated refresh token presented again revokes its family). POST /login and the other POSTs
are not resent either. So a client whose POST got a 502 starts again — a browser from
/authorize, as a person would — and never re-presents a code or refresh token it sent.

The tests find which instance served a request from the X-Request-Id of the answer, looked up
in the instances' access logs (their stderr, flushed when they stop), so they depend neither
on nginx's order of choice nor on where the signing keys live.
"""
import os
import re
import signal
import threading
import time
from dataclasses import dataclass, field

import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import (OP, assert_login_page, http_session, is_login_page,  # noqa: E402
                  jwt_parts, start_op, verify_signature)
import nginx  # noqa: E402

pytest_plugins = ["oidc"]   # fixtures: users_template

pytestmark = pytest.mark.pg_only

ROUNDS = 6                 # test 1: sign-in flows through the balancer
SSO_ROUNDS = 8             # test 2: authorization requests answered from the session
KILL_AFTER = 4             # test 4: flows completed before B is killed …
AFTER_KILL = 8             # … and at least this many after
LOAD_THREADS = 2
LOAD_DEADLINE = 40         # s, for the whole load of test 4

ACCESS_RE = re.compile(r"\brid=(\S+) ip=(\S+) method=(\S+) path=\"?([^\" ]*)\"? status=(\S+)")


@dataclass
class Realm:
    a: OP                  # instance A, reached directly
    b: OP                  # instance B, reached directly
    lb: OP                 # both, through nginx
    nginx: nginx.Nginx
    shop: object           # a confidential client (bound to A; .at(op) elsewhere)
    alice: object

    def served(self) -> dict:
        """Stop both instances (SIGTERM: exit 0, logs flushed) and map every request id in
        their access logs to ("a" or "b", method, path, status)."""
        out = {}
        for name, op in (("a", self.a), ("b", self.b)):
            if op.server.proc.poll() is None:
                assert op.server.stop() == 0, op.server.stderr()
            for m in ACCESS_RE.finditer(op.server.stderr()):
                rid, ip, method, path, status = m.groups()
                assert rid not in out, f"request id {rid} logged twice"
                out[rid] = (name, method, path, status, ip)
        return out


@pytest.fixture
def realm(gh, start_server, users_template, tmp_path):
    if not nginx.available():
        pytest.fail(f"nginx is not installed at {nginx.NGINX}: these tests need Debian's "
                    f"nginx-light (`make test-deps`)", pytrace=False)
    port = nginx.free_port()
    issuer = f"http://127.0.0.1:{port}"      # the realm's one issuer: the balancer's URL
    env = {"GATEHOUSE_TRUSTED_PROXIES": "127.0.0.1"}
    a = start_op(gh, start_server, users_template, issuer=issuer, env=env)
    b = OP(gh, start_server(issuer=issuer, env=env))
    b.premade = {}
    lbx = nginx.Nginx(tmp_path / "nginx", [a.server.port, b.server.port], port=port)
    try:
        lbx.start()
        why = None
    except RuntimeError as e:
        why = str(e)
    if why:
        pytest.fail(f"nginx did not start: {why}", pytrace=False)
    try:
        lb = OP(gh, lbx)
        assert lb.issuer == a.issuer == b.issuer == issuer
        yield Realm(a, b, lb, lbx, a.client("shop"), a.user("alice"))
    finally:
        lbx.stop()


def rid(r) -> str:
    v = r.headers.get("X-Request-Id")
    assert v, f"no X-Request-Id on {r.request.method} {r.request.url} ({r.status_code})"
    return v


def balanced_flow(realm, session=None) -> dict:
    """authorize -> login form -> code -> token -> userinfo -> refresh, every request through
    the balancer; returns step -> request id."""
    lb, shop, alice = realm.lb, realm.shop.at(realm.lb), realm.alice
    br = lb.browser()
    az = br.authorize(shop)
    assert_login_page(az.r)
    r = br.login(az.r, alice)
    code = az.code(r, status=303)
    t = shop.redeem(code, az.verifier, session=session)
    assert t.status_code == 200, t.text
    tok = t.json()
    assert jwt_parts(tok["id_token"])[1]["sub"] == alice.sub
    u = lb.userinfo(tok["access_token"], session=session)
    assert u.status_code == 200 and u.json()["sub"] == alice.sub, u.text
    f = shop.refresh(tok["refresh_token"], session=session)
    assert f.status_code == 200, f.text
    return {"authorize": rid(az.r), "login": rid(r), "token": rid(t), "userinfo": rid(u),
            "refresh": rid(f)}


# --- 1 -------------------------------------------------------------------------------------

def test_sign_in_through_the_balancer_spreads_over_both_and_codes_cross(realm):
    flows = [balanced_flow(realm) for _ in range(ROUNDS)]
    # the client's address reaches the instances through nginx's X-Forwarded-For (appended to
    # what the client sent: trusted_proxies = 127.0.0.1 takes the entry left of nginx's)
    xff = [rid(realm.lb.get("/healthz", headers={"X-Forwarded-For": "198.51.100.7"}))
           for _ in range(2)]
    served = realm.served()
    for r in xff:
        assert served[r][4] == "198.51.100.7", served[r]
    want = {"authorize": ("GET", "/authorize", "200"), "login": ("POST", "/login", "303"),
            "token": ("POST", "/token", "200"), "userinfo": ("GET", "/userinfo", "200"),
            "refresh": ("POST", "/token", "200")}
    by = {"a": 0, "b": 0}
    crossings = set()
    for f in flows:
        for step, r in f.items():
            assert r in served, f"{step} (rid {r}) is in neither instance's access log"
            inst, *what, ip = served[r]
            assert tuple(what) == want[step], (step, served[r])
            assert ip == "127.0.0.1", served[r]
            by[inst] += 1
        issued, redeemed = served[f["login"]][0], served[f["token"]][0]
        if issued != redeemed:
            crossings.add((issued, redeemed))
    assert by["a"] > 0 and by["b"] > 0, f"one instance served everything: {by}"
    # a code issued (POST /login -> 303) by one instance was redeemed (POST /token) at the
    # other, in both directions
    assert crossings == {("a", "b"), ("b", "a")}, \
        f"codes crossed only {crossings or 'never'} in {ROUNDS} flows"


# --- 2 -------------------------------------------------------------------------------------

def test_sso_through_the_balancer_whichever_instance_answers(realm):
    lb, shop = realm.lb, realm.shop.at(realm.lb)
    br = lb.browser()
    first, _ = br.sign_in(shop, realm.alice)
    issued = []
    for _ in range(SSO_ROUNDS):
        az = br.authorize(shop)
        assert not is_login_page(az.r), "signed in, but the login form came back"
        issued.append((az.code(status=302), az.verifier, rid(az.r)))
    sids = set()
    with http_session() as s:
        for code, verifier, _ in issued:
            c = jwt_parts(shop.redeem_ok(code, verifier, session=s)["id_token"])[1]
            assert c["sub"] == realm.alice.sub
            sids.add((c["sid"], c["auth_time"]))
    assert len(sids) == 1, f"one browser session, one sid and auth_time: {sids}"
    served = realm.served()
    answered = [served[r][0] for _, _, r in issued]
    assert all(served[r][1:4] == ("GET", "/authorize", "302") for _, _, r in issued)
    assert set(answered) == {"a", "b"}, f"the session was honoured only by {answered}"


# --- 3 -------------------------------------------------------------------------------------

def test_refresh_on_b_after_login_on_a_and_one_jwks(realm):
    a, b, shop, alice = realm.a, realm.b, realm.shop, realm.alice
    t = a.browser().tokens(shop, alice)                   # sign-in and code at A
    r = shop.at(b).refresh(t["refresh_token"])            # rotation at B
    assert r.status_code == 200, r.text
    t2 = r.json()
    assert t2["refresh_token"] != t["refresh_token"]
    assert b.userinfo(t["access_token"]).status_code == 200    # A's token, B's check
    assert a.userinfo(t2["access_token"]).status_code == 200   # and the other way
    r = shop.refresh(t2["refresh_token"])                 # B's rotation, back at A
    assert r.status_code == 200, r.text
    # one key set, whichever instance (or the balancer) publishes it
    docs = {}
    for name, op in (("a", a), ("b", b), ("lb", realm.lb)):
        g = op.get("/jwks.json")
        assert g.status_code == 200, g.text
        docs[name] = g
    keysets = {n: sorted(g.json()["keys"], key=lambda k: k["kid"]) for n, g in docs.items()}
    assert keysets["a"] == keysets["b"] == keysets["lb"], keysets
    assert keysets["a"], "an empty JWKS"
    if docs["a"].content != docs["b"].content:
        print("jwks.json: the same keys, not the same bytes")
    # a token signed by A verifies with B's JWKS, one signed by B with A's
    verify_signature(t["id_token"], b.jwks())
    verify_signature(t2["id_token"], a.jwks())


# --- 4 -------------------------------------------------------------------------------------

class Gone(Exception):
    """nginx answered 502: the request reached an instance that died before answering."""


@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    killed: threading.Event = field(default_factory=threading.Event)
    access: list = field(default_factory=list)     # (access token, acknowledged after the kill)
    refresh: dict = field(default_factory=dict)    # live refresh token -> acked after the kill
    done_before: int = 0
    done_after: int = 0
    restarts: list = field(default_factory=list)
    errors: list = field(default_factory=list)


def step(r, want, what):
    if r.status_code == 502:
        raise Gone(what)
    assert r.status_code in want, f"{what}: {r.status_code} {r.text[:300]}"
    return r


def attempt(realm, br, session, ledger):
    """One try at a whole flow through the balancer; Gone when a request died with B."""
    lb, shop, alice = realm.lb, realm.shop.at(realm.lb), realm.alice
    az = br.authorize(shop)
    r = step(az.r, (200, 302), "GET /authorize")
    if is_login_page(r):
        r = step(br.login(r, alice), (303,), "POST /login")
    code = az.code(r)
    t = step(shop.redeem(code, az.verifier, session=session), (200,), "POST /token (code)")
    tok = t.json()
    with ledger.lock:
        after = ledger.killed.is_set()
        ledger.access.append((tok["access_token"], after))
        ledger.refresh[tok["refresh_token"]] = after
    u = step(lb.userinfo(tok["access_token"], session=session), (200,), "GET /userinfo")
    assert u.json()["sub"] == alice.sub
    with ledger.lock:      # in flight: if its answer is lost, nobody knows if it was rotated
        del ledger.refresh[tok["refresh_token"]]
    f = step(shop.refresh(tok["refresh_token"], session=session), (200,),
             "POST /token (refresh)")
    tok2 = f.json()
    with ledger.lock:
        after = ledger.killed.is_set()
        ledger.access.append((tok2["access_token"], after))
        ledger.refresh[tok2["refresh_token"]] = after


def load(realm, ledger, stop):
    session = http_session()
    while not stop.is_set():
        br = realm.lb.browser()
        try:
            try:
                attempt(realm, br, session, ledger)
            except Gone as e:            # once: start again from /authorize
                with ledger.lock:
                    ledger.restarts.append(str(e))
                attempt(realm, br, session, ledger)
        except Exception as e:  # noqa: BLE001 - a second failure, or a wrong answer
            with ledger.lock:
                ledger.errors.append(f"{type(e).__name__}: {e}")
            return
        with ledger.lock:
            if ledger.killed.is_set():
                ledger.done_after += 1
            else:
                ledger.done_before += 1


def test_kill_one_instance_mid_load_flows_go_on_and_nothing_is_lost(realm):
    a, b, shop = realm.a, realm.b, realm.shop
    ledger, stop = Ledger(), threading.Event()
    threads = [threading.Thread(target=load, args=(realm, ledger, stop), daemon=True)
               for _ in range(LOAD_THREADS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + LOAD_DEADLINE
    try:
        while ledger.done_before < KILL_AFTER and not ledger.errors:
            assert time.monotonic() < deadline, f"no load: {ledger}"
            time.sleep(0.01)
        time.sleep(0.05)                 # into the middle of the next requests
        ledger.killed.set()
        # kill -9, not Server.stop(): start_server's teardown checks only servers that are
        # still running or that a test stopped with Server.stop(), so a killed one is fine
        os.kill(b.server.pid, signal.SIGKILL)
        b.server.proc.wait()
        while ledger.done_after < AFTER_KILL and not ledger.errors:
            assert time.monotonic() < deadline, \
                f"only {ledger.done_after} flows after the kill: {ledger.errors}"
            time.sleep(0.02)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not ledger.errors, f"a flow failed twice or got a wrong answer: {ledger.errors}"
    assert b.server.proc.returncode == -signal.SIGKILL
    # every request after the kill went to A: B is gone, and either nginx retried one at A
    # (refused connection) or one died with B (502 for a POST)
    log = realm.nginx.access_log()
    port_b = f"127.0.0.1:{b.server.port}"
    touched_b = [e for e in log if port_b in e["upstream"] and
                 (e["upstream"][-1] != port_b or e["status"] == 502)]
    assert touched_b, "no request met the dead instance (kill too late?)"
    for e in touched_b:
        if e["status"] == 502:
            assert e["method"] == "POST", f"nginx should have retried a {e['method']}: {e}"
    retried_posts = [e for e in log if e["method"] == "POST" and len(e["upstream"]) > 1]
    assert all(e["upstream_status"].startswith("502") for e in retried_posts), retried_posts
    # nothing acknowledged was lost: at A, every access token answers userinfo and every
    # live refresh token (those acknowledged before the kill first of all) rotates
    before = [at for at, after in ledger.access if not after]
    assert before, "no token was acknowledged before the kill"
    with http_session() as s:
        for at, _ in ledger.access:
            r = a.userinfo(at, session=s)
            assert r.status_code == 200, f"an acknowledged access token was lost: {r.text}"
        for rt in ledger.refresh:
            r = shop.refresh(rt, session=s)
            assert r.status_code == 200, f"an acknowledged refresh token was lost: {r.text}"
    print(f"flows: {ledger.done_before} before the kill, {ledger.done_after} after; "
          f"restarted: {ledger.restarts}; requests that met dead B: "
          f"{[(e['method'], e['uri'], e['status'], e['upstream']) for e in touched_b]}")
