"""README.md cannot drift: every command in its ```sh blocks runs here, in order, in a fresh
directory, as a newcomer would run it beside `make run`.

- Plain lines of a ```sh block (the two commands of the quick start) are the exempt ones:
  EXEMPT lists them, and any other plain line fails the test (a new command must be run here
  or exempted here by name).
- `$ ` lines are commands (a line ending in `\\` or `|` continues on the next). The lines after
  a command, up to the next one, are its output: the command must exit 0 and print the same
  lines, where random values (subs, secrets, kids, tokens, dates, numbers) match any value of
  their kind, runs of spaces any run, and `…` anything.
- `make run` is emulated: `gatehouse serve --demo` on a free port in that directory, whose
  stdout must have the shape of the README's ```text block; http://127.0.0.1:8080 in commands
  and outputs becomes that server's address.
- `./gatehouse` is GATEHOUSE_BIN. `xdg-open URL` is the browser: it follows URL like a browser
  and signs in as the user the README added, with the password the README gave it; the code
  it lands with replaces CODE in later commands, and the access_token of a token answer
  replaces ACCESS_TOKEN.
"""
import json
import re
import subprocess
import time

import pytest
import requests

pytest.register_assert_rewrite("oidc")
from oidc import form_of, is_login_page, query_of  # noqa: E402
from ghtest import REPO, Gatehouse, Server  # noqa: E402

README = REPO / "README.md"
EXEMPT = ("make run", "make test")   # plain commands of the quick start: not run here
README_URL = "http://127.0.0.1:8080"
PLACEHOLDERS = ("ACCESS_TOKEN", "CODE")

# volatile parts of an expected output line -> what they match
VOLATILE = [
    (r"…", r".*"),
    (r"ACCESS_TOKEN|eyJ[A-Za-z0-9._-]*", r"[A-Za-z0-9._~-]+"),
    (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"),
    (r"[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]{20,})*", r"[A-Za-z0-9_.-]{20,}"),
    (r"\d+", r"\d+"),
    (r" {2,}", r" +"),
]
VOLATILE_RE = re.compile("|".join(f"({p})" for p, _ in VOLATILE))


def line_pattern(expected: str) -> re.Pattern:
    out, pos = [], 0
    for m in VOLATILE_RE.finditer(expected):
        out.append(re.escape(expected[pos:m.start()]))
        out.append(VOLATILE[m.lastindex - 1][1])
        pos = m.end()
    out.append(re.escape(expected[pos:]))
    return re.compile("".join(out))


def blocks(text: str, lang: str):
    return re.findall(r"^```" + lang + r"\n(.*?)^```", text, re.M | re.S)


def commands(text: str):
    """[(command, [expected output lines])] of every ```sh block; plain lines are checked
    against EXEMPT."""
    out = []
    for block in blocks(text, "sh"):
        cur = None
        cont = False
        for ln in block.splitlines():
            if cont:
                cur[0] += "\n" + ln
                cont = ln.rstrip().endswith(("\\", "|"))
            elif ln.startswith("$ "):
                cur = [ln[2:], []]
                out.append(cur)
                cont = ln.rstrip().endswith(("\\", "|"))
            elif cur is not None:
                cur[1].append(ln)
            elif ln.strip():
                plain = ln.split("#", 1)[0].strip()
                assert plain in EXEMPT, f"README command {plain!r} is neither run by " \
                                        f"test_readme.py nor in its EXEMPT list"
    return out


class Tour:
    def __init__(self, gh: Gatehouse, server: Server):
        self.gh, self.server = gh, server
        self.base = f"http://127.0.0.1:{server.port}"
        self.values = {}
        self.user = self.password = None

    def here(self, s: str) -> str:
        return s.replace(README_URL, self.base)

    def shell(self, cmd: str) -> str:
        cmd = re.sub(r"(?<![\w/.])\./gatehouse(?![\w.])", str(self.gh.binary), self.here(cmd))
        for name, value in self.values.items():
            cmd = re.sub(r"\b" + name + r"\b", value, cmd)
        p = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True,
                           cwd=str(self.gh.root), env=self.gh.cmd_env(), timeout=60)
        assert p.returncode == 0, f"README command exited {p.returncode}:\n$ {cmd}\n" \
                                  f"{p.stdout}{p.stderr}"
        return p.stdout

    def browser(self, url: str):
        """Follow url like a browser; sign in as the README's user; keep the code."""
        s = requests.Session()
        s.trust_env = False
        want = query_of(url)
        r = s.get(url, allow_redirects=False, timeout=10)
        if is_login_page(r):
            data = dict(form_of(r, "/login")["fields"], username=self.user,
                        password=self.password)
            r = s.post(self.base + "/login", data=data, allow_redirects=False, timeout=10)
        assert r.status_code in (302, 303), f"the sign-in did not redirect: {r.status_code}"
        loc = r.headers["Location"]
        assert loc.startswith(want["redirect_uri"] + "?"), loc
        q = query_of(loc)
        assert q.get("state") == want.get("state") and q.get("iss") == self.base, q
        self.values["CODE"] = q["code"]


def check_output(cmd: str, expected: list, actual: str):
    exp = [ln for ln in expected if ln.strip()]
    got = [ln for ln in actual.splitlines() if ln.strip()]
    assert len(got) == len(exp), (f"$ {cmd}\nprinted {len(got)} lines, the README shows "
                                  f"{len(exp)}:\n{actual}")
    for e, g in zip(exp, got):
        assert line_pattern(e).fullmatch(g), f"$ {cmd}\nREADME: {e}\nprinted: {g}"


@pytest.fixture
def tour(gh_bin, tmp_path):
    """A fresh directory with `make run`'s server in it (no GATEHOUSE_DB/KEYS: ./gatehouse.db
    and ./keys, as in the README)."""
    gh = Gatehouse(gh_bin, tmp_path)
    gh.env.pop("GATEHOUSE_DB")
    gh.env.pop("GATEHOUSE_KEYS")
    s = Server(gh, ["--demo"])
    try:
        s.wait_ready(timeout=60)      # the first start generates three keys
        yield Tour(gh, s)
    finally:
        rc = s.stop()
        assert rc == 0, s.stderr()


def test_readme_quick_start_prints_what_the_readme_shows(tour):
    text = README.read_text()
    shown = [ln for b in blocks(text, "text") for ln in b.splitlines()
             if ln.startswith(("Demo mode:", "(the password"))]
    assert len(shown) == 2, "the README shows the two lines `make run` ends with"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "Ctrl-C" not in tour.server.stdout_path.read_text():
        time.sleep(0.05)
    out = tour.server.stdout_path.read_text()
    check_output("make run", [tour.here(ln) for ln in shown], out)


def test_make_run_runs_what_the_readme_says():
    text = README.read_text()
    make = (REPO / "Makefile").read_text()
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", make, re.M).group(1)
    said = re.search(r"runs\s+`\./gatehouse (serve [^`]+)`", " ".join(text.split())).group(1)
    assert said in " ".join(recipe.split()).replace("$(BIN)", "gatehouse"), (said, recipe)


def test_every_readme_command_runs_and_prints_what_the_readme_shows(tour):
    cmds = commands(README.read_text())
    assert len(cmds) >= 8, "the tour went missing"
    for cmd, expected in cmds:
        if cmd.startswith("xdg-open "):
            url = tour.here(re.fullmatch(r"xdg-open '([^']+)'", cmd).group(1))
            tour.browser(url)
            assert not [ln for ln in expected if ln.strip()]
            continue
        m = re.match(r"printf '%s\\n' '([^']+)' \|\s+\./gatehouse user add (\S+)", cmd)
        if m:
            tour.password, tour.user = m.groups()
        missing = [p for p in PLACEHOLDERS if re.search(r"\b" + p + r"\b", cmd)
                   and p not in tour.values]
        assert not missing, f"$ {cmd}\nuses {missing} before the README produced it"
        out = tour.shell(cmd)
        check_output(cmd, [tour.here(ln) for ln in expected], out)
        try:
            j = json.loads(out)
        except ValueError:
            j = None
        if isinstance(j, dict) and "access_token" in j:
            tour.values["ACCESS_TOKEN"] = j["access_token"]
    assert {"CODE", "ACCESS_TOKEN"} <= set(tour.values), "the tour signs in and gets a token"


@pytest.mark.parametrize("expected,printed,ok", [
    ("added user alice (sub LXSThD0kCng-TKKDjN4tzQlPAApKfYr9Nr3aCbe3Mkw)",
     "added user alice (sub dhXctBr78ldBiN_6bqEhecNFa7wliy5N6u4XZSM09ao)", True),
    ("added user alice (sub LXSThD0kCng-TKKDjN4tzQlPAApKfYr9Nr3aCbe3Mkw)",
     "added user bob (sub dhXctBr78ldBiN_6bqEhecNFa7wliy5N6u4XZSM09ao)", False),
    ('{"issuer":"http://127.0.0.1:8080","jwks_uri":"x",…}',
     '{"issuer":"http://127.0.0.1:8080","jwks_uri":"x","more":1}', True),
    ('  "iat": 1795848300,', '  "iat": 1795875220,', True),
    ('  "iat": 1795848300,', '  "exp": 1795875220,', False),
    ("spa                      public        none                 spa",
     "spa                      confidential  none                 spa", False),
])
def test_output_shapes_match_random_values_only(expected, printed, ok):
    # the comparison itself must be able to fail
    assert bool(line_pattern(expected).fullmatch(printed)) is ok
