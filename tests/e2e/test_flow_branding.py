"""Operators brand the pages with their own templates and static files (--templates DIR,
--static DIR, or GATEHOUSE_TEMPLATES / GATEHOUSE_STATIC); a broken template is refused at
start-up with a message naming the file, never at the first login."""
import shutil

import pytest

pytest.register_assert_rewrite("oidc")   # before the import: asserts in helpers
from ghtest import REPO  # noqa: E402
from oidc import assert_login_page, start_op  # noqa: E402

pytest_plugins = ["oidc"]   # fixtures: op, users_template

MARK = "Welcome to Example Corp"


def branded(tmp_path):
    t, s = tmp_path / "brand-templates", tmp_path / "brand-static"
    shutil.copytree(REPO / "templates", t)
    shutil.copytree(REPO / "static", s)
    login = (t / "login.html").read_text()
    (t / "login.html").write_text(f"<p class=\"lead\">{MARK}</p>\n" + login)
    (s / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    return t, s


def test_operator_templates_and_static_files_are_served(gh, start_server, users_template,
                                                        tmp_path):
    t, s = branded(tmp_path)
    op = start_op(gh, start_server, users_template,
                  env={"GATEHOUSE_TEMPLATES": str(t), "GATEHOUSE_STATIC": str(s)})
    page = op.browser().authorize(op.client("shop")).r
    assert_login_page(page)
    assert MARK in page.text
    r = op.get("/static/logo.svg")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("image/svg+xml")


def test_stock_pages_have_no_operator_mark(op):
    page = op.browser().authorize(op.client("shop")).r
    assert_login_page(page)
    assert MARK not in page.text
    assert op.get("/static/logo.svg").status_code == 404


@pytest.mark.parametrize("how", ["flag", "env"])
def test_broken_template_stops_serve_with_the_file_named(gh, start_server, tmp_path, how):
    t, s = branded(tmp_path)
    (t / "consent.html").write_text("<p>{{#client_name}}never closed</p>\n")
    if how == "flag":
        srv = start_server("--templates", t, "--static", s, wait=False)
    else:
        srv = start_server(env={"GATEHOUSE_TEMPLATES": str(t)}, wait=False)
    assert srv.wait_exit(15) == 1
    err = srv.stderr()
    assert "consent.html" in err, err


def test_missing_stylesheet_stops_serve(gh, start_server, tmp_path):
    t, s = branded(tmp_path)
    (s / "gatehouse.css").unlink()
    srv = start_server("--templates", t, "--static", s, wait=False)
    assert srv.wait_exit(15) == 1
    assert "gatehouse.css" in srv.stderr()
