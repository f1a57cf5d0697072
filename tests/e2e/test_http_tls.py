"""Native HTTPS (--tls-cert, --tls-key): the https issuer by default with HSTS and __Host-
cookies, nothing but TLS 1.2 and 1.3 on the port (no plain http, no TLS 1.1), and one clear
line for each way the two files can be wrong (key readable by others, one without the other, a
key of another certificate, a missing file, an http issuer)."""
import os
import socket
import ssl
import subprocess

import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from ghtest import raw_http  # noqa: E402
from oidc import start_op  # noqa: E402

pytest_plugins = ["oidc"]   # fixtures: users_template

HSTS = "max-age=31536000; includeSubDomains"


def make_cert(d, name="tls"):
    """A self-signed P-256 certificate for 127.0.0.1 and its key (mode 0600) in d."""
    cert, key = d / f"{name}.crt", d / f"{name}.key"
    p = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-days", "1", "-keyout", str(key), "-out", str(cert)],
        capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    os.chmod(key, 0o600)
    return cert, key


@pytest.fixture
def pem(tmp_path):
    return make_cert(tmp_path)


def tls_args(cert, key):
    return ("--tls-cert", cert, "--tls-key", key)


def test_https_serves_discovery_with_an_https_issuer_and_hsts(gh, start_server, pem):
    cert, key = pem
    server = start_server(*tls_args(cert, key), tls_ca=cert)
    r = server.get("/.well-known/openid-configuration")
    assert r.status_code == 200, r.text
    assert r.url.startswith("https://"), r.url
    assert r.json()["issuer"] == f"https://127.0.0.1:{server.port}"
    assert r.headers.get("Strict-Transport-Security") == HSTS, r.headers
    assert "issuer=https://127.0.0.1:" in server.stderr()


@pytest.fixture
def tls_op(gh, start_server, users_template, pem):
    cert, key = pem
    return start_op(gh, start_server, users_template, tls_ca=cert,
                    env={"GATEHOUSE_TLS_CERT": cert, "GATEHOUSE_TLS_KEY": key})


def test_sign_in_over_https_sets_host_cookies(tls_op):
    op = tls_op
    assert op.issuer == f"https://127.0.0.1:{op.server.port}"
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    a, code = b.sign_in(shop, alice)
    assert code
    names = set(b.cookies)
    assert names and all(n.startswith("__Host-") for n in names), names
    raw = [c.raw for c in b.last_set_cookies.values()]
    assert raw, "the sign-in set no cookie"
    for c in b.last_set_cookies.values():
        assert c.name.startswith("__Host-"), c.raw
        assert "secure" in c.attrs, c.raw
        assert c.attrs.get("path") == "/" and "domain" not in c.attrs, c.raw
    tok = shop.redeem_ok(code, a.verifier)
    assert tok["access_token"]


def test_plain_http_on_the_tls_port_gets_no_answer(gh, start_server, pem):
    cert, key = pem
    server = start_server(*tls_args(cert, key), tls_ca=cert)
    status, got = raw_http(server.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                           timeout=5, read_all=True)
    assert status is None, got[:200]
    assert b"HTTP/1." not in got, got[:200]
    assert server.alive()


def handshake(port, cafile, version):
    ctx = ssl.create_default_context(cafile=str(cafile))
    ctx.minimum_version = version
    ctx.maximum_version = version
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            return t.version(), t.cipher()


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated")
def test_only_tls_1_2_and_1_3_are_accepted(gh, start_server, pem):
    cert, key = pem
    server = start_server(*tls_args(cert, key), tls_ca=cert)
    v, cipher = handshake(server.port, cert, ssl.TLSVersion.TLSv1_3)
    assert v == "TLSv1.3", v
    v, cipher = handshake(server.port, cert, ssl.TLSVersion.TLSv1_2)
    assert v == "TLSv1.2", v
    assert "GCM" in cipher[0] or "CHACHA20" in cipher[0], cipher
    # a client that offers TLS 1.1 only (security level 0, so OpenSSL itself lets it): the
    # server ends the handshake
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1"):
                pass
    assert server.alive()


def test_a_tls_1_2_client_offering_only_cbc_ciphers_is_refused(gh, start_server, pem):
    cert, key = pem
    server = start_server(*tls_args(cert, key), tls_ca=cert)
    ctx = ssl.create_default_context(cafile=str(cert))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA")
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1"):
                pass


def refused(start_server, *args, env=None):
    """A serve that must not start: (exit code, its stderr lines)."""
    server = start_server(*args, env=env, wait=False)
    rc = server.wait_exit()
    assert rc is not None, "gatehouse serve started"
    return rc, [ln for ln in server.stderr().splitlines() if ln.strip()]


def test_a_key_readable_by_others_is_refused(gh, start_server, pem):
    cert, key = pem
    os.chmod(key, 0o644)
    rc, err = refused(start_server, *tls_args(cert, key))
    assert rc == 1, err
    assert len(err) == 1, err
    assert str(key) in err[0] and "chmod 600" in err[0], err


def test_a_certificate_without_a_key_is_a_configuration_error(gh, start_server, pem):
    cert, key = pem
    rc, err = refused(start_server, "--tls-cert", cert)
    assert rc != 0 and len(err) == 1, err
    assert "tls_cert and tls_key" in err[0], err
    rc, err = refused(start_server, env={"GATEHOUSE_TLS_KEY": key})
    assert rc != 0 and len(err) == 1, err
    assert "tls_cert and tls_key" in err[0], err


def test_a_key_of_another_certificate_is_refused(gh, start_server, tmp_path, pem):
    cert, _ = pem
    _, other_key = make_cert(tmp_path, "other")
    rc, err = refused(start_server, *tls_args(cert, other_key))
    assert rc == 1 and len(err) == 1, err
    assert str(other_key) in err[0] and str(cert) in err[0], err
    assert "not the private key" in err[0], err


def test_a_missing_file_is_named(gh, start_server, tmp_path, pem):
    cert, key = pem
    rc, err = refused(start_server, *tls_args(tmp_path / "nope.crt", key))
    assert rc == 1 and len(err) == 1, err
    assert "nope.crt" in err[0] and "No such file" in err[0], err
    rc, err = refused(start_server, *tls_args(cert, tmp_path / "nope.key"))
    assert rc == 1 and len(err) == 1, err
    assert "nope.key" in err[0] and "No such file" in err[0], err


def test_a_key_given_as_the_certificate_is_refused(gh, start_server, pem):
    cert, key = pem
    rc, err = refused(start_server, *tls_args(key, key))
    assert rc == 1 and len(err) == 1, err
    assert "not a PEM certificate" in err[0], err


def test_an_http_issuer_with_tls_is_refused(gh, start_server, pem):
    cert, key = pem
    server = start_server(*tls_args(cert, key), issuer="http://127.0.0.1:8080", wait=False)
    assert server.wait_exit() == 1
    err = [ln for ln in server.stderr().splitlines() if ln.strip()]
    assert len(err) == 1 and "must be https" in err[0], err


def test_an_http_issuer_recorded_by_init_is_refused_with_tls(gh, start_server, pem):
    cert, key = pem
    gh.init("--issuer", "http://127.0.0.1:8080")
    rc, err = refused(start_server, *tls_args(cert, key))
    assert rc == 1 and len(err) == 1, err
    assert "not https" in err[0], err


def test_an_explicit_https_issuer_is_kept(gh, start_server, pem):
    cert, key = pem
    server = start_server(*tls_args(cert, key), issuer="https://id.example.com", tls_ca=cert)
    r = server.get("/.well-known/openid-configuration")
    assert r.status_code == 200 and r.json()["issuer"] == "https://id.example.com"
    assert r.headers.get("Strict-Transport-Security") == HSTS
