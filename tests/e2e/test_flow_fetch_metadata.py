"""Login CSRF, second line (SECURITY.md S9): a browser that reports, with Fetch Metadata, that
another site submitted the login form gets 403 and no session, even with a valid CSRF token.
Same-origin and same-site submissions (and old browsers without the header) work."""
import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from oidc import assert_html_error, form_of, set_cookies  # noqa: E402

pytest_plugins = ["oidc"]   # fixtures: op, users_template


def test_cross_site_login_post_is_refused(op):
    shop, alice = op.client("shop"), op.user("alice")
    b = op.browser()
    page = b.authorize(shop).r
    data = dict(form_of(page, "/login")["fields"], username=alice.username,
                password=alice.password)
    r = b.post("/login", data, headers={"Sec-Fetch-Site": "cross-site"})
    assert_html_error(r, 403)
    assert "gh_session" not in set_cookies(r)
    # the same form from the page itself still works
    r = b.post("/login", data, headers={"Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 303, r.text
    assert "gh_session" in set_cookies(r)
