"""The CLI's shape: help, version, usage errors (exit 2, one line, nothing opened or created),
option placement (`--opt value`, `--opt=value`, before or after the command words, `--`)."""
import json
import re

import pytest

from ghtest import PASSWORD, lines

DATA_FLAGS = ["--db", "--keys", "--config", "--log-level"]
PW_FLAGS = ["--argon2-memory-kib", "--argon2-iterations", "--argon2-parallelism",
            "--password-min-length"]
HTTP_FLAGS = ["--listen", "--issuer", "--port-file", "--threads", "--max-connections",
              "--max-connections-per-ip", "--connection-timeout", "--cache-max-age",
              "--access-log"]

# Every command of docs/cli.md and the options the contract gives it.
COMMANDS = {
    "init": ["--issuer", "--demo"] + PW_FLAGS,
    "serve": HTTP_FLAGS + PW_FLAGS,
    "user add": ["--email", "--name", "--password-stdin"] + PW_FLAGS,
    "user list": ["--json"],
    "user show": ["--json"],
    "user passwd": ["--password-stdin"] + PW_FLAGS,
    "user disable": [],
    "user enable": [],
    "user delete": [],
    "client add": ["--name", "--redirect-uri", "--post-logout-redirect-uri", "--public",
                   "--auth-method", "--grant-types", "--scopes", "--jwks", "--secret-stdin",
                   "--json"],
    "client list": ["--json"],
    "client show": ["--json"],
    "client delete": [],
    "client rotate-secret": ["--secret-stdin", "--json"],
    "db check": [],
    "keys list": ["--json"],
    "keys generate": ["--alg", "--json"],
    "passwords calibrate": ["--target-ms", "--max-memory-kib"],
}


def has_flag(text, flag):
    return re.search(r"(?<![\w-])" + re.escape(flag) + r"(?![\w-])", text) is not None


def assert_usage_error(gh, args, mention=None, input=None):
    rc, out, err = gh.run(*args, input=input)
    assert rc == 2, f"gatehouse {' '.join(args)}: exit {rc}, want 2\n{out}{err}"
    errl = lines(err)
    assert len(errl) == 1, f"want one line on stderr, got:\n{err}"
    assert "--help" in errl[0], f"the line should point to --help: {errl[0]}"
    if mention:
        assert mention in errl[0], f"the line should name {mention!r}: {errl[0]}"
    return errl[0]


def assert_nothing_created(gh):
    assert not gh.db.exists(), "a usage error created the database"
    assert not gh.keys.exists(), "a usage error created the keys directory"
    assert list(gh.dir.iterdir()) == [], f"files created: {list(gh.dir.iterdir())}"


@pytest.mark.parametrize("args", [["--help"], ["help"]])
def test_top_level_help_lists_every_command_on_stdout(gh, args):
    rc, out, err = gh.run(*args)
    assert rc == 0
    assert err == ""
    assert "usage" in out.lower()
    for words in COMMANDS:
        assert words in out, f"`gatehouse {args[0]}` does not mention `{words}`"
    assert_nothing_created(gh)


@pytest.mark.parametrize("words", sorted(COMMANDS))
def test_every_command_help_exits_0_with_usage_and_its_flags_on_stdout(gh, words):
    rc, out, err = gh.run(*words.split(), "--help")
    assert rc == 0, err
    assert err == "", f"help wrote to stderr: {err}"
    assert re.search(r"usage:\s+gatehouse " + re.escape(words), out, re.I), out
    missing = [f for f in COMMANDS[words] + DATA_FLAGS if not has_flag(out, f)]
    assert not missing, f"`gatehouse {words} --help` does not list {missing}"
    assert_nothing_created(gh)


@pytest.mark.parametrize("group", ["user", "client", "keys", "passwords"])
def test_group_help_goes_to_stdout(gh, group):
    rc, out, err = gh.run(group, "--help")
    assert rc == 0
    assert "usage" in out.lower(), f"`gatehouse {group} --help` printed no usage on stdout " \
                                   f"(stdout={out!r}, stderr={err!r})"
    for words in COMMANDS:
        if words.startswith(group + " "):
            assert words in out


def test_version(gh):
    rc, out, err = gh.run("--version")
    assert (rc, out, err) == (0, "gatehouse 0.1.0\n", "")


def test_no_command_is_a_usage_error(gh):
    rc, _, err = gh.run()
    assert rc == 2
    assert err
    assert_nothing_created(gh)


@pytest.mark.parametrize("args,mention", [
    (["frobnicate"], "frobnicate"),
    (["user", "frobnicate"], "frobnicate"),
    (["user"], None),
    (["user", "list", "--bogus"], "--bogus"),
    (["user", "list", "-x"], "-x"),
    (["--bogus", "user", "list"], "--bogus"),
    (["user", "add"], "USERNAME"),
    (["user", "show"], "USERNAME"),
    (["user", "passwd"], "USERNAME"),
    (["user", "delete"], "USERNAME"),
    (["user", "add", "alice", "bob", "--password-stdin"], "bob"),
    (["user", "show", "alice", "extra"], "extra"),
    (["user", "add", "alice", "--email"], "--email"),
    (["user", "list", "--json=yes"], "--json"),
    (["user", "list", "--listen", "127.0.0.1:1"], "--listen"),       # a serve-only setting
    (["client", "add", "app", "--argon2-memory-kib", "20000"], "--argon2-memory-kib"),
    (["keys", "list", "--password-min-length", "20"], "--password-min-length"),
    (["client", "add"], "CLIENT_ID"),
    (["client", "show"], "CLIENT_ID"),
    (["client", "rotate-secret"], "CLIENT_ID"),
    (["client", "add", "app", "--redirect-uri"], "--redirect-uri"),
    (["keys", "frobnicate"], "frobnicate"),
    (["serve", "extra-argument"], "extra-argument"),
    (["init", "--issuer"], "--issuer"),
])
def test_usage_errors_exit_2_with_one_line_and_create_nothing(gh, args, mention):
    assert_usage_error(gh, args, mention)
    assert_nothing_created(gh)


def test_usage_error_names_the_command_help(gh):
    line = assert_usage_error(gh, ["user", "list", "--bogus"])
    assert line.startswith("gatehouse user list:"), line
    assert "(see gatehouse user list --help)" in line


def test_usage_error_runs_nothing_on_an_initialised_database(ready):
    before = ready.dump()
    assert_usage_error(ready, ["user", "add", "alice", "--password-stdin", "--bogus"],
                       input=PASSWORD + "\n")
    assert ready.dump() == before
    assert ready.users() == []


def test_options_before_and_after_the_command_words(ready, tmp_path):
    ready.add_user("alice")
    elsewhere = {"GATEHOUSE_DB": str(tmp_path / "nowhere" / "x.db")}
    # the flag beats a wrong environment variable, in every position and spelling
    for args in (["--db", ready.db, "user", "list", "--json"],
                 ["user", "list", "--json", "--db", ready.db],
                 ["user", "list", f"--db={ready.db}", "--json"],
                 [f"--db={ready.db}", "user", "show", "alice", "--json"]):
        rc, out, err = ready.run(*args, env=elsewhere)
        assert rc == 0, f"{args}: {err}"
        assert "alice" in out


def test_option_value_with_equals_sign(ready):
    ready.ok("user", "add", "alice", "--email=alice@example.com", "--name=Alice A",
             "--password-stdin", input=PASSWORD + "\n")
    u = ready.user("alice")
    assert u["email"] == "alice@example.com"
    assert u["name"] == "Alice A"


def test_double_dash_ends_options(ready):
    ready.add_user("alice")
    out = ready.ok("user", "show", "--json", "--", "alice")
    assert json.loads(out)["username"] == "alice"
    # after `--` an option-looking word is an argument: here a username, not the flag
    rc, out, err = ready.run("user", "show", "--json", "--", "--json")
    assert rc == 1, f"exit {rc}: {out}{err}"
    assert "--json" in err
