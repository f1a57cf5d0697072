"""trusted_proxies (issue 5): X-Forwarded-For names the client only when the TCP peer is one of
the operator's proxies, and then from the right. The client address is what the access log
records and what the per-address sign-in limit counts, so a header from anyone else changes
neither; a bad trusted_proxies setting stops the server from starting with a clear message."""
import http.client
import re
import urllib.parse

import pytest

pytest.register_assert_rewrite("oidc")
from oidc import form_of, start_op  # noqa: E402

pytest_plugins = ["oidc"]

WRONG = "not the right password at all"


def ops(gh, start_server, users_template, **env):
    op = start_op(gh, start_server, users_template,
                  env={"GATEHOUSE_LOGIN_IP_FAILURES": "3", **env})
    op.shop = op.client("shop")
    return op


def login_form(op, name):
    """A browser, and the fields of a filled login form with a wrong password for name."""
    b = op.browser()
    fields = dict(form_of(b.authorize(op.shop).r, "/login")["fields"])
    fields.update(username=name, password=WRONG)
    return b, fields


def attempt(op, xff, name="nobody"):
    b, fields = login_form(op, name)
    return b.post("/login", fields, headers={"X-Forwarded-For": xff})


def logged_ips(op):
    op.server.stop()
    return re.findall(r" ip=(\S+) method=", op.server.stderr())


def test_without_trusted_proxies_the_header_is_ignored(gh, start_server, users_template):
    op = ops(gh, start_server, users_template)
    for i in range(3):   # three different "clients" by the header: one address in truth
        assert attempt(op, f"198.51.100.{i + 1}", f"u{i}").status_code == 200
    assert attempt(op, "198.51.100.99", "u9").status_code == 429
    assert set(logged_ips(op)) == {"127.0.0.1"}


def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_apart(gh, start_server,
                                                                     users_template):
    op = ops(gh, start_server, users_template, GATEHOUSE_TRUSTED_PROXIES="127.0.0.1/32")
    for i in range(3):
        assert attempt(op, "198.51.100.7", f"u{i}").status_code == 200
    assert attempt(op, "198.51.100.7", "u9").status_code == 429
    # what the client wrote to the left of our proxy's entry does not make it someone else
    assert attempt(op, "6.6.6.6, 198.51.100.7", "u10").status_code == 429
    # another client behind the same proxy is not throttled
    assert attempt(op, "198.51.100.8", "u11").status_code == 200
    # several header lines are one list: the last line's entry is the rightmost
    b, fields = login_form(op, "u12")
    c = http.client.HTTPConnection("127.0.0.1", op.server.port, timeout=10)
    c.putrequest("POST", "/login")
    c.putheader("Content-Type", "application/x-www-form-urlencoded")
    c.putheader("Cookie", "; ".join(f"{k}={v}" for k, v in b.cookies.items()))
    c.putheader("X-Forwarded-For", "198.51.100.9")
    c.putheader("X-Forwarded-For", "198.51.100.7")
    body = urllib.parse.urlencode(fields).encode()
    c.putheader("Content-Length", str(len(body)))
    c.endheaders(body)
    assert c.getresponse().status == 429
    c.close()
    ips = logged_ips(op)
    assert "198.51.100.7" in ips and "198.51.100.8" in ips and "6.6.6.6" not in ips


def test_a_bad_trusted_proxies_setting_stops_serve(gh, start_server, users_template):
    gh.init_copy()
    err = gh.fails("serve", env={"GATEHOUSE_TRUSTED_PROXIES": "10.0.0.1/8"}, rc=(1, 2))
    assert "trusted_proxies" in err and "beyond the prefix" in err, err
