"""One JSON error shape (404, 405), security headers and X-Request-Id on every response, and
hostile input (huge headers, bodies and URLs, garbage, slow clients, too many connections)
answered with 4xx or a closed connection while the server keeps serving."""
import socket
import time

import pytest

from ghtest import raw_http

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}


def assert_json_error(r, status):
    assert r.status_code == status, f"{r.request.method} {r.url}: {r.status_code}"
    assert r.headers.get("Content-Type", "").startswith("application/json"), \
        r.headers.get("Content-Type")
    body = r.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
    if "error_description" in body:
        assert isinstance(body["error_description"], str)


@pytest.mark.parametrize("path", ["/nope", "/jwks", "/.well-known/", "/.well-known/nope",
                                  "/jwks.json/extra", "/%00", "/..%2f..%2fetc%2fpasswd"])
def test_unknown_paths_get_a_json_404(server, path):
    assert_json_error(server.get(path), 404)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/jwks.json", "/.well-known/openid-configuration"])
def test_wrong_method_gets_a_json_405_with_allow(server, method, path):
    r = server.request(method, path, data=b"x=1",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_json_error(r, 405)
    allow = {m.strip() for m in r.headers.get("Allow", "").split(",")}
    assert "GET" in allow, f"405 without an Allow header naming GET: {r.headers.get('Allow')}"


def responses(server):
    etag = server.get("/jwks.json").headers["ETag"]
    return {
        "discovery": server.get("/.well-known/openid-configuration"),
        "rfc8414": server.get("/.well-known/oauth-authorization-server"),
        "jwks": server.get("/jwks.json"),
        "jwks 304": server.get("/jwks.json", headers={"If-None-Match": etag}),
        "jwks HEAD": server.request("HEAD", "/jwks.json"),
        "healthz": server.get("/healthz"),
        "404": server.get("/nope"),
        "405": server.request("POST", "/jwks.json", data=b""),
    }


def test_every_response_has_the_security_headers(server):
    for name, r in responses(server).items():
        for h, v in SECURITY_HEADERS.items():
            assert r.headers.get(h) == v, f"{name}: {h} = {r.headers.get(h)!r}"
        assert r.headers.get("Content-Security-Policy"), f"{name}: no Content-Security-Policy"
        csp = r.headers["Content-Security-Policy"]
        assert "default-src" in csp or "frame-ancestors" in csp, f"{name}: weak CSP {csp!r}"
        assert "Strict-Transport-Security" not in r.headers, "HSTS with an http issuer"


def test_an_https_issuer_adds_hsts_to_every_response(gh, start_server):
    """RFC 6797: behind a TLS-terminating proxy (issuer https) every answer, documents built at
    start-up included, says to use https only."""
    server = start_server(issuer="https://id.example.com")
    for name, r in responses(server).items():
        assert r.headers.get("Strict-Transport-Security") == \
            "max-age=31536000; includeSubDomains", f"{name}: {r.headers}"
    b = server.get("/authorize", params={"client_id": "nobody"})   # an HTML error page
    assert b.headers.get("Strict-Transport-Security"), b.headers


def test_every_response_has_a_unique_request_id(server):
    ids = []
    for name, r in responses(server).items():
        rid = r.headers.get("X-Request-Id")
        assert rid and rid.isprintable() and len(rid) <= 64, f"{name}: X-Request-Id {rid!r}"
        ids.append(rid)
    assert len(set(ids)) == len(ids), f"request ids repeat: {ids}"


def test_healthz(server):
    r = server.get("/healthz")
    assert r.status_code == 200


# --- hostile input ------------------------------------------------------------------------

def assert_refused(status, what):
    # 4xx, 505 (HTTP Version Not Supported) or a closed connection
    assert status is None or 400 <= status < 500 or status == 505, f"{what}: answered {status}"


def test_100_kb_header_is_refused_and_server_keeps_serving(server):
    req = (b"GET /jwks.json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 100_000 +
           b"\r\n\r\n")
    status, _ = raw_http(server.port, req)
    assert_refused(status, "100 KB header")
    assert server.alive()


def test_many_headers_are_refused_and_server_keeps_serving(server):
    req = b"GET /jwks.json HTTP/1.1\r\nHost: 127.0.0.1\r\n" + \
        b"".join(b"X-H%d: v\r\n" % i for i in range(20_000)) + b"\r\n"
    status, _ = raw_http(server.port, req)
    assert_refused(status, "20000 headers")
    assert server.alive()


def test_100_kb_url_is_refused(server):
    status, _ = raw_http(server.port, b"GET /" + b"a" * 100_000 +
                         b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert_refused(status, "100 KB URL")
    assert server.alive()


def test_oversized_post_body_is_refused(server):
    body = b"x" * (1024 * 1024)
    req = (b"POST /jwks.json HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
           b"application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
    status, _ = raw_http(server.port, req)
    assert_refused(status, "1 MiB body")
    assert server.alive()


def test_absurd_content_length_is_refused(server):
    status, _ = raw_http(server.port, b"POST /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                      b"Content-Length: 99999999999999999999\r\n\r\n", timeout=20)
    assert_refused(status, "huge Content-Length")
    assert server.alive()


def test_oversized_chunked_body_is_refused(server):
    chunk = b"x" * 65536
    req = b"POST /jwks.json HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    req += b"".join(b"10000\r\n" + chunk + b"\r\n" for _ in range(16)) + b"0\r\n\r\n"
    status, _ = raw_http(server.port, req)
    assert_refused(status, "1 MiB chunked body")
    assert server.alive()


@pytest.mark.parametrize("garbage", [
    b"GARBAGE\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET /jwks.json HTTP/9.9\r\nHost: x\r\n\r\n",
    b"GET /jwks.json HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    b"GET /jwks.json HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"GET /jwks.json HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),   # a TLS hello
    bytes(range(256)) * 4,
])
def test_malformed_requests_get_4xx_or_close(server, garbage):
    status, _ = raw_http(server.port, garbage)
    assert_refused(status, repr(garbage[:30]))
    assert server.alive()


def test_http_1_1_without_host_is_refused(server):
    status, _ = raw_http(server.port, b"GET /jwks.json HTTP/1.1\r\n\r\n")
    assert_refused(status, "no Host")
    assert server.alive()


def test_slow_client_is_cut_off_after_the_connection_timeout(start_server):
    s = start_server("--connection-timeout", "1")
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        c.sendall(b"GET /jwks.json HTTP/1.1\r\nHost: 127.0.0.1\r\n")   # never finished
        start = time.monotonic()
        try:
            data = c.recv(65536)
        except (ConnectionResetError, socket.timeout):
            data = b""
        waited = time.monotonic() - start
    assert waited < 8, "the server held a slow connection open"
    assert data == b"" or data.startswith(b"HTTP/1.1 4"), data[:80]
    assert s.alive()


def test_per_ip_connection_limit(start_server):
    s = start_server("--max-connections-per-ip", "2")
    held = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(2)]
    try:
        time.sleep(0.3)
        status, _ = raw_http(s.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
        assert status in (None, 429, 503), f"third connection from one IP answered {status}"
    finally:
        for h in held:
            h.close()
    time.sleep(0.3)
    assert s.alive()


def test_trusted_proxies_are_not_held_to_the_per_ip_limit(start_server):
    """Behind a load balancer every connection comes from the balancer's address: a trusted
    proxy is bounded by max_connections only, or the balancer's 33rd concurrent request would
    be refused (nginx answers 502)."""
    s = start_server("--max-connections-per-ip", "2", "--trusted-proxies", "127.0.0.1")
    held = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(6)]
    try:
        time.sleep(0.3)
        status, _ = raw_http(s.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
        assert status == 200, f"a trusted proxy's seventh connection answered {status}"
    finally:
        for h in held:
            h.close()
    assert s.alive()


def test_requests_keep_alive_on_one_connection(server):
    req = b"GET /jwks.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as c:
        c.sendall(req + req)
        got = b""
        deadline = time.monotonic() + 5
        while got.count(b"HTTP/1.1 200") < 2 and time.monotonic() < deadline:
            chunk = c.recv(65536)
            if not chunk:
                break
            got += chunk
    assert got.count(b"HTTP/1.1 200") == 2, got[:200]


@pytest.mark.parametrize("target", [b"/healthz\0abc", b"/jwks.json?a=b\0x", b"/healthz\0"])
def test_nul_in_request_target_is_refused_not_truncated(server, target):
    # SECURITY.md I2: a NUL must never silently cut the path or query short
    status, _ = raw_http(server.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 400 or status is None, f"{target!r}: answered {status}"
    status, _ = raw_http(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200
