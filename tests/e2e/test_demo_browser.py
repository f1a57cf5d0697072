"""The demo app of `serve --demo` in a real browser (headless Chromium through Selenium): its
script runs under the server's strict Content-Security-Policy, signs in as the public client
demo-app with PKCE, shows the checked ID token, the access token and the userinfo answer, and
signs out back to /demo. Fails (never skips) when Chromium, chromedriver or selenium is
missing: `make test` installs them."""
import json
import re
import time

import pytest

pytest.register_assert_rewrite("chrome")   # before the import: asserts in helpers
import chrome  # noqa: E402  (tests/tools, on the path through conftest.py)
from ghtest import lines
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

PRINTED = re.compile(r"^Demo mode: open (\S+) and sign in as demo / (\S+)$", re.M)
WAIT = 20


@pytest.fixture
def browser():
    with chrome.browser() as d:
        yield d


def printed(server, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = PRINTED.search(server.stdout_path.read_text())
        if m:
            return m.group(1), m.group(2)
        time.sleep(0.05)
    raise AssertionError(f"no demo line on stdout:\n{server.stdout_path.read_text()}")


def visible(d, element_id):
    return WebDriverWait(d, WAIT).until(EC.visibility_of_element_located((By.ID, element_id)))


def csp_errors(d):
    return [e["message"] for e in d.get_log("browser")
            if "Content Security Policy" in e["message"] or e["level"] == "SEVERE"]


def test_demo_app_signs_in_shows_the_tokens_and_signs_out(gh, start_server, browser):
    s = start_server("--demo")
    url, password = printed(s)
    d = browser
    d.get(url)
    visible(d, "demo-sign-in").click()
    # gatehouse's own login page
    WebDriverWait(d, WAIT).until(EC.presence_of_element_located((By.ID, "username")))
    assert "/authorize?" in d.current_url and "code_challenge_method=S256" in d.current_url
    d.find_element(By.ID, "username").send_keys("demo")
    d.find_element(By.ID, "password").send_keys(password)
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    visible(d, "demo-result")
    assert d.current_url == url, "the code is gone from the address bar"
    checks = [li.text for li in d.find_elements(By.CSS_SELECTOR, "#demo-checks li")]
    assert len(checks) == 6 and all(c.startswith("✔") for c in checks), checks
    claims = json.loads(d.find_element(By.ID, "demo-id-claims").text)
    userinfo = json.loads(d.find_element(By.ID, "demo-userinfo").text)
    sub = gh.user("demo")["sub"]
    assert claims["sub"] == sub and userinfo["sub"] == sub
    assert claims["aud"] in ("demo-app", ["demo-app"])
    header = json.loads(d.find_element(By.ID, "demo-id-header").text)
    assert header["alg"] in ("RS256", "ES256", "PS256") and header["kid"]
    at = json.loads(d.find_element(By.ID, "demo-at-claims").text)
    assert at["sub"] == sub and at["client_id"] == "demo-app"
    # the access token shown verifies with the CLI, as the page says
    raw = d.execute_script("return document.getElementById('demo-at-raw').textContent")
    rc, out, err = gh.run("token", "verify", "--issuer", url.rsplit("/demo", 1)[0], raw)
    assert rc == 0, err
    assert json.loads(out)["sub"] == sub
    assert not csp_errors(d), csp_errors(d)
    # sign out: RP-initiated logout, straight back to the demo page
    d.find_element(By.ID, "demo-sign-out").click()
    note = visible(d, "demo-note")
    assert "signed out" in note.text
    assert d.current_url == url
    # signed out for real: signing in again asks for the password
    visible(d, "demo-sign-in").click()
    WebDriverWait(d, WAIT).until(EC.presence_of_element_located((By.ID, "password")))
    assert "signed-out" not in d.current_url


def test_demo_app_reports_a_denied_or_foreign_callback_in_plain_words(gh, start_server,
                                                                       browser):
    s = start_server("--demo")
    url, _ = printed(s)
    d = browser
    # a callback this page did not start (no pending state in this tab)
    d.get(url + "/callback?code=made-up&state=made-up&iss=x")
    err = visible(d, "demo-error")
    assert "does not belong to a sign-in started on this page" in err.text
    d.get(url + "/callback?error=access_denied&error_description=the+user+denied+access")
    assert "access_denied" in visible(d, "demo-error").text
    assert not [m for m in csp_errors(d) if "Content Security Policy" in m]
    assert lines(s.stderr())
