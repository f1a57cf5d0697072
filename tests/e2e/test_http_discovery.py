"""Discovery documents (OpenID Connect Discovery 1.0, RFC 8414): the issuer exactly as
configured whatever the request says, jwks_uri, and no claim ahead of the code."""
import pytest

ISSUER = "https://id.example.test"
WELL_KNOWN = ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]

# A member that needs an endpoint: claiming one without the other is a claim ahead of code.
NEEDS_ENDPOINT = {
    "authorization_endpoint": ["response_types_supported", "response_modes_supported",
                               "code_challenge_methods_supported"],
    "token_endpoint": ["grant_types_supported", "token_endpoint_auth_methods_supported",
                       "token_endpoint_auth_signing_alg_values_supported"],
    "userinfo_endpoint": ["userinfo_signing_alg_values_supported"],
    "revocation_endpoint": ["revocation_endpoint_auth_methods_supported"],
    "introspection_endpoint": ["introspection_endpoint_auth_methods_supported"],
}


def doc(server, path=WELL_KNOWN[0], **kw):
    r = server.get(path, **kw)
    assert r.status_code == 200, f"GET {path}: {r.status_code} {r.text}"
    assert r.headers["Content-Type"].startswith("application/json"), r.headers["Content-Type"]
    return r.json()


@pytest.mark.parametrize("path", WELL_KNOWN)
def test_issuer_and_jwks_uri(start_server, path):
    s = start_server(issuer=ISSUER)
    d = doc(s, path)
    assert d["issuer"] == ISSUER
    assert d["jwks_uri"] == ISSUER + "/jwks.json"


def test_both_documents_agree(start_server):
    s = start_server(issuer=ISSUER)
    a, b = doc(s, WELL_KNOWN[0]), doc(s, WELL_KNOWN[1])
    for member in set(a) & set(b):
        assert a[member] == b[member], member
    assert a["issuer"] == b["issuer"] and a["jwks_uri"] == b["jwks_uri"]


@pytest.mark.parametrize("headers", [
    {"Host": "evil.example"},
    {"Host": "evil.example:443"},
    {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"},
    {"Forwarded": "host=evil.example;proto=http"},
])
def test_issuer_ignores_the_request(start_server, headers):
    s = start_server(issuer=ISSUER)
    for path in WELL_KNOWN:
        d = doc(s, path, headers=headers)
        assert d["issuer"] == ISSUER
        assert d["jwks_uri"] == ISSUER + "/jwks.json"
        assert "evil" not in str(d)


def test_every_url_in_the_document_answers(start_server):
    # Self-updating guard against claims ahead of the code: any URL the document gives
    # (jwks_uri today; authorization_endpoint, token_endpoint, … when they land) must exist.
    s = start_server(issuer=ISSUER)
    for path in WELL_KNOWN:
        d = doc(s, path)
        urls = {k: v for k, v in d.items() if isinstance(v, str) and v.startswith("http")}
        assert "jwks_uri" in urls
        for member, url in urls.items():
            if member in ("issuer", "service_documentation", "op_policy_uri", "op_tos_uri"):
                continue
            assert url.startswith(ISSUER + "/"), f"{member} is not under the issuer: {url}"
            r = s.get(url)
            assert r.status_code != 404, f"{path}: {member} = {url} answers 404"


def test_no_capability_claimed_without_its_endpoint(start_server):
    s = start_server(issuer=ISSUER)
    for path in WELL_KNOWN:
        d = doc(s, path)
        for endpoint, members in NEEDS_ENDPOINT.items():
            if endpoint in d:
                continue
            claimed = [m for m in members if m in d]
            assert not claimed, f"{path} claims {claimed} but has no {endpoint}"


def test_signing_algs_match_the_keys(start_server):
    s = start_server(issuer=ISSUER)
    d = doc(s)
    algs = {k["alg"] for k in s.get("/jwks.json").json()["keys"]}
    for member in ("id_token_signing_alg_values_supported",):
        if member in d:
            assert set(d[member]) <= algs, f"{member} {d[member]} vs JWKS algs {algs}"
            assert "none" not in d[member]


def test_issuer_recorded_by_init(start_server):
    s = start_server(init_args=("--issuer", "https://recorded.example"))
    assert doc(s)["issuer"] == "https://recorded.example"


def test_issuer_precedence_flag_env_recorded(gh, start_server):
    gh.init("--issuer", "https://recorded.example")
    s = start_server(env={"GATEHOUSE_ISSUER": "https://env.example"})
    assert doc(s)["issuer"] == "https://env.example"
    s.stop()
    s = start_server(issuer="https://flag.example",
                     env={"GATEHOUSE_ISSUER": "https://env.example"})
    assert doc(s)["issuer"] == "https://flag.example"


def test_default_issuer_is_the_bound_loopback_address(server):
    # no --issuer and none recorded: http://<listen>, with the port actually bound
    d = doc(server)
    assert d["issuer"] == f"http://127.0.0.1:{server.port}"
    assert d["jwks_uri"] == f"http://127.0.0.1:{server.port}/jwks.json"
    assert server.get(d["jwks_uri"]).status_code == 200


def test_http_issuer_on_loopback_is_allowed(start_server):
    s = start_server(issuer="http://localhost:8080")
    assert doc(s)["issuer"] == "http://localhost:8080"


@pytest.mark.parametrize("issuer", ["http://id.example.test", "https://id.example.test?x=1",
                                    "https://id.example.test#f", "id.example.test"])
def test_serve_refuses_a_bad_issuer(start_server, issuer):
    s = start_server(issuer=issuer, wait=False)
    rc = s.wait_exit(15)
    assert rc in (1, 2), f"serve --issuer {issuer} exited {rc}"
    assert "issuer" in s.stderr().lower()


def test_discovery_is_cacheable(server):
    r = server.get(WELL_KNOWN[0])
    assert r.headers.get("ETag")
    cc = [p.strip() for p in r.headers.get("Cache-Control", "").split(",")]
    assert "public" in cc and "max-age=3600" in cc, r.headers.get("Cache-Control")
    r2 = server.get(WELL_KNOWN[0], headers={"If-None-Match": r.headers["ETag"]})
    assert r2.status_code == 304
    assert r2.content == b""
