"""`gatehouse serve` as a process: first start on an empty data location, port file, signals,
the access log (one line per request, no secrets), and refusing to start (port in use, key
files readable by others, missing or corrupt keys)."""
import os
import re
import signal
import socket
import subprocess
import time
import uuid

import pytest
import requests

from ghtest import PG_MODE, lines
from jwk import pem_to_jwk, thumbprint


def log_lines_with(server, marker, want=None, timeout=3):
    """Lines of the server's stderr containing marker (waits up to timeout for want lines)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [ln for ln in server.stderr().splitlines() if marker in ln]
        if want is None or len(found) >= want or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_port_file_holds_the_bound_port(server):
    assert server.port_file.read_text() == f"{server.port}\n"
    assert server.get("/jwks.json").status_code == 200


@pytest.mark.sqlite_only("checks that the database file appears")
def test_serve_initialises_an_empty_data_location(gh, start_server):
    s = start_server(init=False)
    assert gh.db.is_file()
    assert (gh.keys / "secret.key").is_file()
    pems = {p.stem for p in gh.keys.glob("*.pem")}
    assert len(pems) == 3
    published = s.get("/jwks.json").json()["keys"]
    assert sorted(k["alg"] for k in published) == ["ES256", "PS256", "RS256"]
    assert {k["kid"] for k in published} == pems


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_the_server_cleanly(server, sig):
    assert server.get("/healthz").status_code == 200
    assert server.stop(sig) == 0
    with pytest.raises(requests.RequestException):
        requests.get(server.base + "/healthz", timeout=2)


def test_sigterm_with_an_idle_keepalive_connection_exits_0_in_time(server):
    c = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert c.recv(65536).startswith(b"HTTP/1.1 200")
        start = time.monotonic()
        assert server.stop(signal.SIGTERM, timeout=15) == 0
        assert time.monotonic() - start < 15
    finally:
        c.close()


def test_ipv6_loopback_listen(start_server):
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    s = start_server(listen="[::1]:0")
    assert s.get("/jwks.json").status_code == 200


# --- the access log -----------------------------------------------------------------------

def test_one_access_log_line_per_request_without_query_values(server):
    marker = "/probe-" + uuid.uuid4().hex
    for i in range(3):
        server.get(f"{marker}?secret=SHOULDNOTAPPEAR&code=ALSONOT{i}")
    server.get("/jwks.json?access_token=TOKENNOTLOGGED")
    server.get("/healthz", headers={"Authorization": "Bearer AUTHNOTLOGGED",
                                    "Cookie": "sid=COOKIENOTLOGGED"})
    found = log_lines_with(server, marker, want=3)
    assert len(found) == 3, "want one line per request, got:\n" + "\n".join(found)
    log = server.stderr()
    for secret in ("SHOULDNOTAPPEAR", "ALSONOT", "TOKENNOTLOGGED", "AUTHNOTLOGGED",
                   "COOKIENOTLOGGED"):
        assert secret not in log, f"{secret} is in the log"


def test_access_log_line_carries_request_id_and_status(server):
    marker = "/probe-" + uuid.uuid4().hex
    r = server.get(marker)
    rid = r.headers["X-Request-Id"]
    found = log_lines_with(server, marker, want=1)
    assert len(found) == 1
    assert rid in found[0], f"request id {rid} not in {found[0]!r}"
    assert "404" in found[0]


def test_access_log_escapes_hostile_paths(server):
    marker = "probe-" + uuid.uuid4().hex
    # a raw request with an escape sequence and a fake log line in the path
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as c:
        c.sendall(b"GET /" + marker.encode() + b"%0d%0aFAKE-LINE\x1b[31m HTTP/1.1\r\n"
                  b"Host: x\r\n\r\n")
        c.recv(65536)
    time.sleep(0.3)
    log = server.stderr()
    assert "\x1b" not in log, "a raw escape character reached the log"
    assert not any(ln.startswith("FAKE-LINE") for ln in log.splitlines())


def test_access_log_off(start_server):
    s = start_server("--access-log", "off")
    marker = "/probe-" + uuid.uuid4().hex
    s.get(marker)
    time.sleep(0.3)
    assert not log_lines_with(s, marker, timeout=0)


def test_log_lines_have_a_timestamp_and_level(server):
    server.get("/healthz")
    time.sleep(0.2)
    for ln in lines(server.stderr()):
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (err|warn|info|debug) ", ln), ln


# --- refusing to start --------------------------------------------------------------------

def assert_refuses(s, *mentions):
    rc = s.wait_exit(15)
    assert rc == 1, f"serve should refuse with exit 1, got {rc}\nstderr:\n{s.stderr()}"
    err = s.stderr()
    for m in mentions:
        assert m in err, f"the message should mention {m!r}:\n{err}"
    return err


def test_port_in_use(gh, start_server):
    gh.init()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        before = gh.dump()
        s = start_server(listen=f"127.0.0.1:{port}", wait=False)
        err = assert_refuses(s, str(port))
        assert "in use" in err.lower()
    assert gh.dump() == before
    assert not s.port_file.exists()


@pytest.mark.sqlite_only("key files: with PostgreSQL the keys are sealed in the database; "
                         "refusals of those are in test_pg_keys.py")
@pytest.mark.parametrize("perm", [0o644, 0o640, 0o604])
def test_private_key_readable_by_others_is_refused(gh, start_server, perm):
    gh.init()
    pem = sorted(gh.keys.glob("*.pem"))[0]
    os.chmod(pem, perm)
    s = start_server(wait=False)
    assert_refuses(s, pem.name)


def test_secret_key_readable_by_others_is_refused(gh, start_server):
    # the file that holds the realm's secret: secret.key, or with PostgreSQL (where the realm
    # secret is a row sealed under it, src/app.c shared_secret) the key-encryption key
    gh.init()
    secret = gh.kek_file if PG_MODE else gh.keys / "secret.key"
    assert secret.is_file()
    os.chmod(secret, 0o644)
    s = start_server(wait=False)
    assert_refuses(s, secret.name)


@pytest.mark.sqlite_only("key files: with PostgreSQL the keys are sealed in the database; "
                         "refusals of those are in test_pg_keys.py")
def test_missing_key_file_is_refused(gh, start_server):
    gh.init()
    pem = sorted(gh.keys.glob("*.pem"))[0]
    pem.unlink()
    s = start_server(wait=False)
    assert_refuses(s, pem.name)


@pytest.mark.sqlite_only("key files: with PostgreSQL the keys are sealed in the database; "
                         "refusals of those are in test_pg_keys.py")
def test_corrupt_key_file_is_refused(gh, start_server):
    gh.init()
    pem = sorted(gh.keys.glob("*.pem"))[0]
    pem.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    os.chmod(pem, 0o600)
    s = start_server(wait=False)
    assert_refuses(s, pem.name)


@pytest.mark.sqlite_only("key files: with PostgreSQL the keys are sealed in the database; "
                         "refusals of those are in test_pg_keys.py")
@pytest.mark.parametrize("alg", ["RS256", "PS256"])
def test_swapped_key_file_is_refused(gh, start_server, alg):
    # a file whose key does not hash to its kid (e.g. restored from another installation)
    gh.init()
    rsa_kid = next(k["kid"] for k in gh.key_list() if k["alg"] == alg)
    other = gh.root / "other.pem"
    os.system(f"openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out {other} "
              f"2>/dev/null")
    pem = gh.keys / f"{rsa_kid}.pem"
    pem.write_bytes(other.read_bytes())
    os.chmod(pem, 0o600)
    s = start_server(wait=False)
    assert_refuses(s, rsa_kid)


@pytest.mark.parametrize("kind", ["rsa-pss", "ec"])
def test_ps256_key_that_is_not_a_plain_rsa_key_is_refused(gh, start_server, kind):
    # PS256 is published as a plain RSA JWK (kty RSA); a PSS-restricted RSA key or an EC key
    # recorded as PS256 (with a correct thumbprint kid) must refuse the whole ring
    gh.init()
    other = gh.root / "other.pem"
    gen = (["-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"] if kind == "rsa-pss"
           else ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
    subprocess.run(["openssl", "genpkey", *gen, "-out", str(other)], check=True,
                   capture_output=True)
    kid = thumbprint(pem_to_jwk(str(other)))
    pem = gh.keys / f"{kid}.pem"
    pem.write_bytes(other.read_bytes())
    os.chmod(pem, 0o600)
    gh.sql(f"INSERT INTO signing_keys (kid, alg, created_at) "
           f"SELECT '{kid}', 'PS256', MAX(created_at) + 1 FROM signing_keys")
    assert {k["kid"]: k["alg"] for k in gh.key_list()}[kid] == "PS256"
    s = start_server(wait=False)
    assert_refuses(s, kid, "PS256")


def test_stray_pem_file_is_not_published(gh, start_server):
    gh.init()
    stray = gh.keys / "stray.pem"
    os.system(f"openssl ecparam -name prime256v1 -genkey -noout -out {stray} 2>/dev/null")
    os.chmod(stray, 0o600)
    s = start_server()
    kids = {k["kid"] for k in s.get("/jwks.json").json()["keys"]}
    assert kids == {k["kid"] for k in gh.key_list()}


@pytest.mark.parametrize("args", [["--listen", "nonsense"], ["--listen", "127.0.0.1:70000"],
                                  ["--threads", "65"], ["--connection-timeout", "0"],
                                  ["--access-log", "maybe"], ["--cache-max-age", "-1"]])
def test_bad_serve_flags(gh, args):
    gh.init()
    if args[0] != "--listen":
        args = ["--listen", "127.0.0.1:0"] + args    # never the real port 8080
    rc, out, err = gh.run("serve", *args, timeout=15)
    assert rc in (1, 2), f"{args}: exit {rc}"
    assert len(lines(err)) == 1, err
