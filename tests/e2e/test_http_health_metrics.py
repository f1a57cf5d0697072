"""Issue 7 (operating many instances): the probes and the metrics.

/healthz says the process serves HTTP and nothing more; /readyz says this instance can do
its work: 200 {"status":"ready"} while the database answers and the keys can sign, else 503
{"status":"not_ready","reason": plain words} with Retry-After. The database is taken away for
real: its file is removed from under the running server (a hard link keeps it aside), which a
process with the file open would otherwise never notice, then put back; with PostgreSQL it
refuses connections and the server's sessions are terminated, then it lets them in again.

/metrics (Prometheus text format 0.0.4) is served only on metrics_listen, never on the main
port. The exposition is parsed strictly here (Debian's python3-prometheus-client is not a test
dependency): HELP and TYPE before samples, counters ending in _total, no duplicate series,
label values escaped, histogram buckets cumulative with +Inf == _count. The counters move with
what happens: tokens by grant_type, logins by result, a 429 by limit, requests and latency by
route, and 1,000 unknown paths add no series beyond route="other".
"""
import math
import os
import re
import time
import uuid

import pytest
import requests

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import http_session, start_op  # noqa: E402
from ghtest import PG_MODE, pg_cluster  # noqa: E402

pytest_plugins = ["oidc"]   # fixtures: users_template

API = "https://api.example/"
ROUTES = {"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server",
          "/jwks.json", "/healthz", "/readyz", "/authorize", "/login", "/consent", "/token",
          "/introspect", "/revoke", "/userinfo", "/logout", "/static/", "/demo",
          "/demo/callback", "other"}


# --- a strict parser of the text exposition format 0.0.4 ------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"')
SAMPLE = re.compile(rf"^({NAME})(\{{[^\n]*\}})? (\S+)$")


def unescape(v):
    return re.sub(r'\\(\\|"|n)', lambda m: {"\\": "\\", '"': '"', "n": "\n"}[m.group(1)], v)


def parse_labels(text):
    """'{a="x",b="y"}' -> (("a","x"),("b","y")), strictly: nothing between pairs but commas."""
    assert text[0] == "{" and text[-1] == "}", text
    body, out, pos = text[1:-1], [], 0
    while pos < len(body):
        m = LABEL.match(body, pos)
        assert m, f"bad label set {text!r} at {body[pos:]!r}"
        out.append((m.group(1), unescape(m.group(2))))
        pos = m.end()
        if pos < len(body):
            assert body[pos] == ",", f"bad label set {text!r}"
            pos += 1
            assert pos < len(body), f"trailing comma in {text!r}"
    names = [k for k, _ in out]
    assert len(names) == len(set(names)), f"repeated label in {text!r}"
    return tuple(out)


def parse(text):
    """{(name, labels): float} plus {family: type}; asserts the format rules on the way."""
    assert text.endswith("\n"), "the exposition ends with a newline"
    samples, types, helps, family = {}, {}, {}, None
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP "):
            name, _, doc = line[7:].partition(" ")
            assert re.fullmatch(NAME, name) and doc, line
            assert name not in helps, f"second HELP for {name}"
            helps[name] = doc
            family = name
            continue
        if line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert name == family, f"TYPE {name} does not follow its HELP"
            assert typ in ("counter", "gauge", "histogram"), line
            assert name not in types, f"second TYPE for {name}"
            if typ == "counter":
                assert name.endswith("_total"), f"counter {name} does not end in _total"
            types[name] = typ
            continue
        assert not line.startswith("#") and line, f"unexpected line {line!r}"
        m = SAMPLE.match(line)
        assert m, f"bad sample line {line!r}"
        name, labels, value = m.group(1), m.group(2), m.group(3)
        assert family in types, f"sample {name} before its HELP/TYPE"
        if types[family] == "histogram":
            assert name in (family + "_bucket", family + "_sum", family + "_count"), line
        else:
            assert name == family, f"sample {name} in family {family}"
        key = (name, parse_labels(labels) if labels else ())
        assert key not in samples, f"duplicate series {line!r}"
        v = float(value)
        assert not math.isnan(v), line
        samples[key] = v
    check_histograms(samples, types)
    return samples, types


def check_histograms(samples, types):
    for fam, typ in types.items():
        if typ != "histogram":
            continue
        series = {}
        for (name, labels), v in samples.items():
            if name == fam + "_bucket":
                rest = tuple(kv for kv in labels if kv[0] != "le")
                le = dict(labels)["le"]
                series.setdefault(rest, []).append((math.inf if le == "+Inf" else float(le), v))
        for rest, buckets in series.items():
            buckets.sort()
            assert buckets[-1][0] == math.inf, f"{fam}{rest}: no +Inf bucket"
            counts = [v for _, v in buckets]
            assert counts == sorted(counts), f"{fam}{rest}: buckets are not cumulative {counts}"
            assert samples[(fam + "_count", rest)] == counts[-1], f"{fam}{rest}: +Inf != count"
            assert (fam + "_sum", rest) in samples


def value(samples, name, **labels):
    want = tuple(sorted(labels.items()))
    for (n, ls), v in samples.items():
        if n == name and tuple(sorted(ls)) == want:
            return v
    return 0.0


# --- helpers -----------------------------------------------------------------------------------

def metrics_port(server, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(r" metrics_started listen=\S+ port=(\d+) ", server.stderr())
        if m:
            return int(m.group(1))
        time.sleep(0.02)
    raise AssertionError(f"no metrics_started line\n{server.stderr()}")


class Scraper:
    def __init__(self, server):
        self.url = f"http://127.0.0.1:{metrics_port(server)}/metrics"
        self.s = requests.Session()
        self.s.trust_env = False

    def raw(self):
        r = self.s.get(self.url, timeout=10)
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert r.headers["Cache-Control"] == "no-store"
        return r.text

    def scrape(self):
        return parse(self.raw())[0]

    def until(self, check, timeout=3):
        """Scrape until check(samples) holds: a request is counted when its response is done,
        which may be a moment after the client has read it."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.scrape()
            if check(s) or time.monotonic() > deadline:
                return s
            time.sleep(0.02)


def make_op(gh, start_server, users_template, **env):
    env = {"GATEHOUSE_METRICS_LISTEN": "127.0.0.1:0", **{k: str(v) for k, v in env.items()}}
    return start_op(gh, start_server, users_template, env=env)


def service(op, cid):
    c = op.client(cid, "--grant-types", "client_credentials", redirect_uri=None)
    op.gh.ok("resource", "allow", API, cid, "--scopes", "read")
    return c


def cc(client, session):
    return client.token({"grant_type": "client_credentials", "resource": API}, session=session)


def requests_total(s, route):
    return sum(v for (n, ls), v in s.items()
               if n == "gatehouse_http_requests_total" and dict(ls)["route"] == route)


# --- /healthz and /readyz ----------------------------------------------------------------------

def test_readyz_is_200_ready_and_healthz_ok(server):
    r = server.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready"}
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Content-Type"] == "application/json"
    r = server.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert server.request("POST", "/readyz").status_code == 405
    assert server.request("HEAD", "/readyz").status_code == 200


class DatabaseAway:
    """Take the test's database away from the running server, for real, and put it back.
    SQLite: the file is removed from under it (a hard link keeps it aside): a process with the
    file open reads on but cannot write, a store fault of kind read_only. PostgreSQL: the
    database refuses new connections (ALTER DATABASE … ALLOW_CONNECTIONS false) and the
    server's sessions are terminated, what a server restart or a failover that has not come
    back looks like: every reconnection fails, kind io_error (src/store/store_pg.c
    fault_kind)."""

    def __init__(self, gh):
        self.gh = gh
        self.kind = "io_error" if PG_MODE else "read_only"

    def __enter__(self):
        gh = self.gh
        if PG_MODE:
            pg = pg_cluster()
            pg.psql(f"ALTER DATABASE {gh.db.name} ALLOW_CONNECTIONS false")
            n = int(pg.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            f"WHERE datname = '{gh.db.name}' AND application_name = 'gatehouse'"))
            assert n >= 1, "the server had no connection to the database"
        else:
            self.aside = gh.db.with_name("aside.db")
            os.link(gh.db, self.aside)
            os.unlink(gh.db)
        return self

    def __exit__(self, *exc):
        if PG_MODE:
            pg_cluster().psql(f"ALTER DATABASE {self.gh.db.name} ALLOW_CONNECTIONS true")
        else:
            os.rename(self.aside, self.gh.db)


def test_readyz_is_503_while_the_database_is_gone_and_200_once_it_is_back(
        gh, start_server, users_template):
    # one HTTP thread: its database handle is open before the database goes, so the check that
    # matters runs (with SQLite an open descriptor keeps reading the removed file)
    op = make_op(gh, start_server, users_template, GATEHOUSE_THREADS=1)
    m = Scraper(op.server)
    assert op.server.get("/readyz").status_code == 200
    away = DatabaseAway(gh)
    before = value(m.scrape(), "gatehouse_store_errors_total", kind=away.kind)
    with away:
        for _ in range(3):
            r = op.server.get("/readyz")
            assert r.status_code == 503, r.text
            assert r.json() == {"status": "not_ready", "reason": "the database does not answer"}
            assert int(r.headers["Retry-After"]) > 0
            assert r.headers["Cache-Control"] == "no-store"
        # alive all the same: a restart would not bring the file back
        assert op.server.get("/healthz").status_code == 200
        assert value(m.scrape(), "gatehouse_store_errors_total", kind=away.kind) >= before + 3
    deadline = time.monotonic() + 5
    while (r := op.server.get("/readyz")).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert r.status_code == 200 and r.json() == {"status": "ready"}, r.text
    assert " store_fault " in op.server.stderr()


# --- /metrics: where it is served ---------------------------------------------------------------

def test_metrics_only_on_the_metrics_listener(gh, start_server, users_template):
    op = make_op(gh, start_server, users_template)
    m = Scraper(op.server)
    r = op.server.get("/metrics")
    assert r.status_code == 404, "metrics must never be on the main port"
    assert "gatehouse_" not in r.text
    samples, types = parse(m.raw())
    assert types["gatehouse_http_requests_total"] == "counter"
    assert types["gatehouse_http_request_duration_seconds"] == "histogram"
    assert types["gatehouse_password_hash_queue_depth"] == "gauge"
    assert value(samples, "gatehouse_build_info", version=op.gh.ok("--version").split()[-1]) == 1
    assert abs(value(samples, "process_start_time_seconds") - time.time()) < 120
    base = m.url.rsplit("/", 1)[0]
    assert m.s.get(base + "/", timeout=5).status_code == 404
    assert m.s.get(base + "/healthz", timeout=5).status_code == 404
    assert m.s.post(m.url, timeout=5).status_code == 405
    assert m.s.head(m.url, timeout=5).status_code == 200


def test_no_metrics_listener_unless_configured(server):
    assert server.get("/metrics").status_code == 404
    assert " metrics_started " not in server.stderr()


# --- /metrics: the counters move ----------------------------------------------------------------

N = 5


def test_counters_follow_tokens_logins_and_rate_limits(gh, start_server, users_template):
    op = make_op(gh, start_server, users_template, GATEHOUSE_CLIENT_RATE=1,
                 GATEHOUSE_CLIENT_BURST=N)
    op.gh.ok("resource", "add", API, "--scopes", "read")
    svc = service(op, "svc")
    shop = op.client("shop")
    alice = op.user("alice")
    m = Scraper(op.server)
    s0 = m.scrape()
    tok0 = value(s0, "gatehouse_tokens_issued_total", grant_type="client_credentials")
    req0 = value(s0, "gatehouse_http_requests_total", route="/token", code="200")
    cnt0 = value(s0, "gatehouse_http_request_duration_seconds_count", route="/token")

    session = http_session(op.server)
    for i in range(N):
        r = cc(svc, session)
        assert r.status_code == 200, f"request {i + 1}: {r.text}"
    r = cc(svc, session)        # over client_burst: 429
    assert r.status_code == 429, r.text

    # a scrape reads the counters one after another while a request thread may be between its
    # two adds (requests_total, then the histogram): wait until both show the last request
    s1 = m.until(lambda s: value(s, "gatehouse_http_request_duration_seconds_count",
                                 route="/token") >= cnt0 + N + 1 and
                 value(s, "gatehouse_http_requests_total", route="/token", code="429") >= 1)
    assert value(s1, "gatehouse_tokens_issued_total", grant_type="client_credentials") == tok0 + N
    assert value(s1, "gatehouse_http_requests_total", route="/token", code="200") == req0 + N
    assert value(s1, "gatehouse_http_requests_total", route="/token", code="429") == 1
    assert value(s1, "gatehouse_rate_limited_total", limit="client_rate") == 1
    # every /token request once in the histogram, as many as requests_total counts
    count = value(s1, "gatehouse_http_request_duration_seconds_count", route="/token")
    assert count == cnt0 + N + 1 == requests_total(s1, "/token")
    assert value(s1, "gatehouse_http_request_duration_seconds_sum", route="/token") > 0

    # a failed and a successful sign-in
    b = op.browser()
    a = b.authorize(shop)
    r = b.login(a.r, username="alice", password="not the password")
    assert r.status_code == 200, r.text[:300]
    s2 = m.scrape()
    assert value(s2, "gatehouse_logins_total", result="failure") == 1
    assert value(s2, "gatehouse_logins_total", result="success") == 0
    r = b.login(r, alice)
    assert r.status_code in (200, 302, 303), r.text[:300]
    s3 = m.scrape()
    assert value(s3, "gatehouse_logins_total", result="failure") == 1
    assert value(s3, "gatehouse_logins_total", result="success") == 1
    assert requests_total(s3, "/login") >= 1
    # the hashing worker counts itself done just after it resumed the request, which may be a
    # moment after the answer reached us
    s4 = m.until(lambda s: value(s, "gatehouse_password_hashes_in_flight") == 0)
    assert value(s4, "gatehouse_password_hash_queue_depth") == 0
    assert value(s4, "gatehouse_password_hashes_in_flight") == 0


def test_unknown_paths_add_no_series_beyond_other(gh, start_server, users_template):
    op = make_op(gh, start_server, users_template)
    m = Scraper(op.server)
    s0 = m.scrape()
    session = http_session(op.server)
    for i in range(1000):
        p = f"/{uuid.uuid4().hex}/{i}" + ("?q=" + uuid.uuid4().hex if i % 3 == 0 else "")
        assert session.get(op.server.base + p, timeout=10).status_code == 404
    s1 = m.until(lambda s: value(s, "gatehouse_http_requests_total", route="other",
                                 code="404") >= 1000)
    assert value(s1, "gatehouse_http_requests_total", route="other", code="404") == \
        value(s0, "gatehouse_http_requests_total", route="other", code="404") + 1000
    routes = {dict(ls).get("route") for (n, ls), _ in s1.items()
              if n.startswith("gatehouse_http_request")}
    assert routes - {None} <= ROUTES, routes - ROUTES
    # the series: at most those of before plus other/404 and its histogram
    new = set(s1) - set(s0)
    assert all(dict(ls).get("route") == "other" for _, ls in new), new
    assert len(new) <= 1 + 15 + 2, new
    assert len(m.raw()) < 64 * 1024
