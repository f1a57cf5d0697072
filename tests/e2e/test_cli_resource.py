"""`gatehouse resource …` (issue 4): the APIs that accept gatehouse access tokens (RFC 8707
resource indicators) and which clients may obtain tokens for them with which scopes. Covers the
identifier rules (absolute URI, no fragment, no query, https or loopback http or urn), names,
scopes (RFC 6749 §3.3, duplicates removed, the OpenID Connect scopes reserved), allow/disallow
(confidential clients only, a subset of the resource's scopes), the text and --json output,
exit codes with one line on stderr, and that a refused command changes nothing — and that
deleting a resource or a client removes its permissions."""
import json
import re

import pytest

from ghtest import RFC3339_UTC

API = "https://api.example/"
BILLING = "urn:example:billing"
RESOURCE_KEYS = {"id", "name", "scopes", "created_at", "clients"}


@pytest.fixture
def gh(ready):
    """An initialised data location with a confidential client (svc) and a public one (spa)."""
    ready.ok("client", "add", "svc", "--grant-types", "client_credentials")
    ready.ok("client", "add", "spa", "--public", "--redirect-uri", "https://rp.example/cb")
    return ready


def show(gh, rid):
    return gh.json("resource", "show", rid)


def count(gh, sql):
    return int(gh.sql(sql).strip())


# --- add -----------------------------------------------------------------------------------

def test_add_prints_one_line_and_show_round_trips(gh):
    out = gh.ok("resource", "add", API, "--name", "Orders API", "--scopes", "read,write")
    assert out == f"added resource {API}\n"
    r = show(gh, API)
    assert set(r) == RESOURCE_KEYS
    assert r["id"] == API
    assert r["name"] == "Orders API"
    assert r["scopes"] == ["read", "write"]
    assert RFC3339_UTC.match(r["created_at"]), r["created_at"]
    assert r["clients"] == []


def test_add_defaults_name_to_the_identifier_and_no_scopes(gh):
    gh.ok("resource", "add", BILLING)
    r = show(gh, BILLING)
    assert (r["name"], r["scopes"], r["clients"]) == (BILLING, [], [])


def test_add_json_prints_the_new_resource(gh):
    r = gh.json("resource", "add", API, "--scopes", "read")
    assert set(r) == RESOURCE_KEYS
    assert (r["id"], r["name"], r["scopes"], r["clients"]) == (API, API, ["read"], [])
    assert r == show(gh, API)


@pytest.mark.parametrize("spelling", ["read,write", "read write", "read, write", "read  write",
                                      "read,write,read", "read write write read"])
def test_scope_lists_are_comma_or_space_separated_and_deduplicated(gh, spelling):
    gh.ok("resource", "add", API, "--scopes", spelling)
    assert show(gh, API)["scopes"] == ["read", "write"]
    assert gh.sql(f"SELECT scopes FROM resources WHERE id = '{API}'").strip() == "read write"


def test_duplicate_identifier_fails_and_changes_nothing(gh):
    gh.ok("resource", "add", API, "--scopes", "read")
    before = gh.dump()
    line = gh.fails("resource", "add", API, "--name", "other", "--scopes", "write")
    assert line == f"gatehouse resource add: resource '{API}' already exists", line
    assert gh.dump() == before


@pytest.mark.parametrize("rid", [
    "https://api.example/",
    "https://api.example",                 # a different resource from the one with a slash
    "https://api.example:8443/v1/orders",
    "https://api.example/a%20b",
    "http://127.0.0.1:9000/api",
    "http://localhost/api",
    "http://[::1]:8080/",
    "urn:example:billing",
    "urn:ietf:params:oauth:test",
])
def test_good_identifiers(gh, rid):
    gh.ok("resource", "add", rid)
    assert show(gh, rid)["id"] == rid


def test_identifier_of_exactly_2048_bytes_is_accepted(gh):
    rid = API + "a" * (2048 - len(API))
    gh.ok("resource", "add", rid)
    assert show(gh, rid)["id"] == rid


@pytest.mark.parametrize("rid,why", [
    ("/api", "absolute"),
    ("api.example/v1", "absolute"),
    ("//api.example/", "absolute"),
    ("", "empty"),
    ("https://api.example/#frag", "fragment"),
    ("https://api.example/#", "fragment"),
    ("https://api.example/?x=1", "query"),
    ("https://api.example/?", "query"),
    ("http://api.example/", "loopback"),
    ("http://127.0.0.1.evil.example/", "loopback"),
    ("http://localhost.evil.example/", "loopback"),
    ("https://api .example/", "spaces"),
    ("https://api.example/a b", "spaces"),
    (" https://api.example/", "spaces"),
    ("https://api.example/\t", "control"),
    ("https://api.example/x\ny", "control"),
    ("https://api.example/é", "non-ASCII"),
    ("javascript:alert(1)", "https"),
    ("data:text/html,hi", "https"),
    ("file:///etc/passwd", "https"),
    ("HTTPS://api.example/", "lower case"),
    ("https://API.example/", "lower case"),
    ("https://user@api.example/", "userinfo"),
    ("https://api.example/a/../b", "segments"),
    ("https://", "host"),
    ("urn:x", "urn:"),
    ("urn:example:", "urn:"),
    ("https://api.example/" + "a" * 2029, "too long"),     # 2049 bytes, quoted shortened
])
def test_bad_identifiers_are_refused_and_change_nothing(gh, rid, why):
    before = gh.dump()
    line = gh.fails("resource", "add", rid)
    assert line.startswith("gatehouse resource add: "), line
    assert "not a valid resource identifier" in line and why in line, line
    assert gh.dump() == before


@pytest.mark.parametrize("name", ["", "a\nb", "bell\x07", "x" * 257])
def test_bad_names_are_refused(gh, name):
    before = gh.dump()
    line = gh.fails("resource", "add", API, "--name", name)
    assert "name" in line, line
    assert gh.dump() == before


def test_name_may_be_any_utf8_up_to_256_bytes(gh):
    gh.ok("resource", "add", API, "--name", "Bücher-API ✓")
    gh.ok("resource", "add", BILLING, "--name", "x" * 256)
    assert show(gh, API)["name"] == "Bücher-API ✓"
    assert show(gh, BILLING)["name"] == "x" * 256


@pytest.mark.parametrize("scope", ["openid", "profile", "email", "offline_access", "OpenID"])
def test_sign_in_scopes_are_reserved(gh, scope):
    before = gh.dump()
    line = gh.fails("resource", "add", API, "--scopes", f"read,{scope}")
    assert f"'{scope}'" in line and "reserved" in line, line
    assert gh.dump() == before


@pytest.mark.parametrize("scope", ['a"b', "a\\b", "café", "a\tb", "a\x7fb"])
def test_scopes_outside_rfc6749_syntax_are_refused(gh, scope):
    before = gh.dump()
    line = gh.fails("resource", "add", API, "--scopes", scope)
    assert "not a valid scope" in line, line
    assert gh.dump() == before


def test_scope_bounds(gh):
    before = gh.dump()
    # more than 64 scopes, or one longer than 128 bytes: usage errors, as for `client add`
    many = ",".join(f"s{i}" for i in range(65))
    line = gh.fails("resource", "add", API, "--scopes", many, rc=2)
    assert "64" in line, line
    line = gh.fails("resource", "add", API, "--scopes", "s" * 129, rc=2)
    assert "128" in line, line
    assert gh.dump() == before
    gh.ok("resource", "add", API, "--scopes", ",".join(f"s{i}" for i in range(64)))
    gh.ok("resource", "add", BILLING, "--scopes", "s" * 128)
    assert len(show(gh, API)["scopes"]) == 64
    assert show(gh, BILLING)["scopes"] == ["s" * 128]


# --- list, show, delete --------------------------------------------------------------------

def test_list_empty(gh):
    assert gh.json("resource", "list") == []
    out = gh.ok("resource", "list")
    assert out.split() == ["IDENTIFIER", "NAME", "SCOPES", "CLIENTS"]


def test_list_text_and_json(gh):
    gh.ok("resource", "add", BILLING, "--scopes", "charge")
    gh.ok("resource", "add", API, "--name", "Orders", "--scopes", "read,write")
    gh.ok("resource", "allow", API, "svc", "--scopes", "read")
    rows = gh.ok("resource", "list").splitlines()
    assert rows[0].split() == ["IDENTIFIER", "NAME", "SCOPES", "CLIENTS"]
    assert rows[1].split() == [API, "Orders", "read", "write", "1"]
    assert rows[2].split() == [BILLING, BILLING, "charge", "0"]
    j = gh.json("resource", "list")
    assert [r["id"] for r in j] == [API, BILLING]          # ordered by identifier
    for r in j:
        assert set(r) == RESOURCE_KEYS
    assert j[0]["clients"] == [{"client_id": "svc", "scopes": ["read"]}]
    assert j[0] == show(gh, API) and j[1] == show(gh, BILLING)


def test_show_text_lists_scopes_and_every_client(gh):
    gh.ok("client", "add", "batch", "--grant-types", "client_credentials")
    gh.ok("resource", "add", API, "--name", "Orders", "--scopes", "read,write")
    gh.ok("resource", "allow", API, "svc", "--scopes", "read,write")
    gh.ok("resource", "allow", API, "batch")
    out = gh.ok("resource", "show", API)
    assert re.search(rf"^identifier: +{re.escape(API)}$", out, re.M), out
    assert re.search(r"^name: +Orders$", out, re.M), out
    assert re.search(r"^scopes: +read write$", out, re.M), out
    assert re.search(r"^created: +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", out, re.M), out
    assert re.search(r"^clients: +2$", out, re.M), out
    assert re.search(r"^ +batch +\(no scopes\)$", out, re.M), out
    assert re.search(r"^ +svc +read write$", out, re.M), out
    j = show(gh, API)
    assert j["clients"] == [{"client_id": "batch", "scopes": []},
                            {"client_id": "svc", "scopes": ["read", "write"]}]


@pytest.mark.parametrize("cmd", [["show"], ["show", "--json"], ["delete"]])
def test_unknown_resource(gh, cmd):
    before = gh.dump()
    line = gh.fails("resource", cmd[0], API, *cmd[1:])
    assert line == f"gatehouse resource {cmd[0]}: no resource '{API}'", line
    assert gh.dump() == before


def test_delete(gh):
    gh.ok("resource", "add", API)
    assert gh.ok("resource", "delete", API) == f"deleted resource {API}\n"
    gh.fails("resource", "show", API)
    assert gh.json("resource", "list") == []
    gh.fails("resource", "delete", API)


# --- allow, disallow -----------------------------------------------------------------------

def test_allow_prints_what_was_granted_and_rerun_replaces(gh):
    gh.ok("resource", "add", API, "--scopes", "read,write,admin")
    out = gh.ok("resource", "allow", API, "svc", "--scopes", "write read write")
    assert out == f"client svc may now obtain tokens for {API} with scopes: write read\n"
    assert show(gh, API)["clients"] == [{"client_id": "svc", "scopes": ["write", "read"]}]
    out = gh.ok("resource", "allow", API, "svc", "--scopes", "admin")
    assert out == f"client svc may now obtain tokens for {API} with scopes: admin\n"
    assert show(gh, API)["clients"] == [{"client_id": "svc", "scopes": ["admin"]}]
    out = gh.ok("resource", "allow", API, "svc")
    assert out == f"client svc may now obtain tokens for {API} with scopes: (no scopes)\n"
    assert show(gh, API)["clients"] == [{"client_id": "svc", "scopes": []}]
    assert count(gh, "SELECT count(*) FROM resource_clients") == 1


@pytest.mark.parametrize("args,want", [
    (["https://nope.example/", "svc"], "no resource 'https://nope.example/'"),
    ([API, "nobody"], "no client 'nobody'"),
    ([API, "spa"], "client 'spa' is public"),
    ([API, "svc", "--scopes", "read,delete,admin"], "scope 'delete' is not a scope of resource"),
    ([API, "svc", "--scopes", "openid"], "reserved"),
    ([API, "svc", "--scopes", 'x"y'], "not a valid scope"),
])
def test_allow_refusals_change_nothing(gh, args, want):
    gh.ok("resource", "add", API, "--scopes", "read,write")
    gh.ok("resource", "allow", API, "svc", "--scopes", "read")
    before = gh.dump()
    line = gh.fails("resource", "allow", *args)
    assert line.startswith("gatehouse resource allow: ") and want in line, line
    assert gh.dump() == before


def test_allow_scope_bounds_are_usage_errors(gh):
    gh.ok("resource", "add", API, "--scopes", "read")
    before = gh.dump()
    gh.fails("resource", "allow", API, "svc", "--scopes", ",".join(["read"] * 65), rc=2)
    gh.fails("resource", "allow", API, "svc", "--scopes", "r" * 129, rc=2)
    assert gh.dump() == before


def test_disallow(gh):
    gh.ok("resource", "add", API, "--scopes", "read")
    gh.ok("resource", "allow", API, "svc", "--scopes", "read")
    out = gh.ok("resource", "disallow", API, "svc")
    assert out == f"client svc may no longer obtain tokens for {API}\n"
    assert show(gh, API)["clients"] == []
    before = gh.dump()
    line = gh.fails("resource", "disallow", API, "svc")
    assert line == (f"gatehouse resource disallow: client 'svc' was not allowed to obtain "
                    f"tokens for '{API}'"), line
    line = gh.fails("resource", "disallow", "https://nope.example/", "svc")
    assert line == "gatehouse resource disallow: no resource 'https://nope.example/'", line
    assert gh.dump() == before


def test_deleting_the_resource_removes_its_permissions(gh):
    gh.ok("resource", "add", API, "--scopes", "read")
    gh.ok("resource", "add", BILLING, "--scopes", "read")
    gh.ok("resource", "allow", API, "svc", "--scopes", "read")
    gh.ok("resource", "allow", BILLING, "svc", "--scopes", "read")
    gh.ok("resource", "delete", API)
    assert count(gh, f"SELECT count(*) FROM resource_clients WHERE resource = '{API}'") == 0
    assert count(gh, "SELECT count(*) FROM resource_clients") == 1
    # registered again, it starts with no clients
    gh.ok("resource", "add", API, "--scopes", "read")
    assert show(gh, API)["clients"] == []


def test_deleting_the_client_removes_its_permissions(gh):
    gh.ok("resource", "add", API, "--scopes", "read")
    gh.ok("client", "add", "batch", "--grant-types", "client_credentials")
    gh.ok("resource", "allow", API, "svc", "--scopes", "read")
    gh.ok("resource", "allow", API, "batch")
    gh.ok("client", "delete", "svc")
    assert count(gh, "SELECT count(*) FROM resource_clients WHERE client_id = 'svc'") == 0
    assert show(gh, API)["clients"] == [{"client_id": "batch", "scopes": []}]
    # a new client with the same client_id does not inherit the permission
    gh.ok("client", "add", "svc", "--grant-types", "client_credentials")
    assert show(gh, API)["clients"] == [{"client_id": "batch", "scopes": []}]
    assert gh.ok("resource", "list").splitlines()[1].split()[-1] == "1"


# --- usage ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["resource", "add"],
    ["resource", "add", API, "extra"],
    ["resource", "add", API, "--bogus"],
    ["resource", "add", API, "--scopes"],
    ["resource", "show"],
    ["resource", "delete", API, "--json"],
    ["resource", "allow", API],
    ["resource", "allow", API, "svc", "extra"],
    ["resource", "disallow", API],
    ["resource", "disallow", API, "svc", "--scopes", "read"],
    ["resource", "frobnicate"],
])
def test_usage_errors(gh, args):
    before = gh.dump()
    line = gh.fails(*args, rc=2)
    assert line.startswith("gatehouse resource"), line
    assert gh.dump() == before


def test_help_lists_the_commands(gh):
    out = gh.ok("resource", "--help")
    for c in ("add", "list", "show", "delete", "allow", "disallow"):
        assert f"gatehouse resource {c}" in out, out
    out = gh.ok("resource", "allow", "--help")
    assert "--scopes" in out


def test_error_lines_neutralise_control_characters(gh):
    line = gh.fails("resource", "show", "https://x.example/\n\x1b[31mfake")
    assert "\x1b" not in line
    line = gh.fails("resource", "add", "https://x.example/\rforged line")
    assert "\r" not in line


def test_json_output_is_valid_for_hostile_names(gh):
    gh.ok("resource", "add", API, "--name", 'quote " back\\slash <tag> \u2028')
    assert show(gh, API)["name"] == 'quote " back\\slash <tag> \u2028'
    assert json.loads(gh.ok("resource", "list", "--json"))[0]["name"].startswith("quote")
