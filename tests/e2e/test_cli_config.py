"""Settings: flag over GATEHOUSE_* environment over the `key = value` config file over the
default; bounds (Argon2 floor, password minimum); config file syntax errors."""
import pytest

from ghtest import PASSWORD

PW17 = "seventeen chars!!"          # 17 characters
assert len(PW17) == 17


def try_add(gh, password, *args, env=None, username="alice"):
    rc, out, err = gh.run("user", "add", username, "--password-stdin", *args,
                          input=password + "\n", env=env)
    return rc, err


def write_config(gh, text, name="gatehouse.conf"):
    path = gh.root / name
    path.write_text(text)
    return path


def test_precedence_file_then_env_then_flag(ready):
    conf = write_config(ready, "password_min_length = 20\n")
    file_only = {"GATEHOUSE_CONFIG": conf}
    file_env = {"GATEHOUSE_CONFIG": conf, "GATEHOUSE_PASSWORD_MIN_LENGTH": "18"}

    rc, err = try_add(ready, PW17, env=file_only)
    assert rc == 1, "config file (20) ignored"
    rc, err = try_add(ready, "x" * 19 + "y", env=file_only)         # 20: passes the file's 20
    assert rc == 0, err
    ready.ok("user", "delete", "alice")

    rc, err = try_add(ready, PW17, env=file_env)
    assert rc == 1, "environment (18) ignored"
    rc, err = try_add(ready, PW17, "--password-min-length", "18", env=file_env)
    assert rc == 1
    rc, err = try_add(ready, PW17, "--password-min-length", "16", env=file_env)
    assert rc == 0, f"flag (16) should beat env (18) and file (20): {err}"


def test_env_beats_file_when_lower(ready):
    conf = write_config(ready, "password_min_length = 20\n")
    rc, err = try_add(ready, PW17, env={"GATEHOUSE_CONFIG": conf,
                                        "GATEHOUSE_PASSWORD_MIN_LENGTH": "16"})
    assert rc == 0, err


def test_config_flag_and_config_env(ready):
    conf = write_config(ready, "password_min_length = 20\n")
    rc, _ = try_add(ready, PW17, "--config", conf)
    assert rc == 1
    other = write_config(ready, "password_min_length = 16\n", "other.conf")
    # --config beats GATEHOUSE_CONFIG
    rc, err = try_add(ready, PW17, "--config", other, env={"GATEHOUSE_CONFIG": conf})
    assert rc == 0, err


@pytest.mark.sqlite_only("the db setting names a file")
def test_config_file_sets_db_and_keys(gh, tmp_path):
    conf = write_config(gh, f"# where the data lives\n\ndb = {tmp_path}/via-conf.db\n"
                            f"keys   =   {tmp_path}/via-conf-keys   \n")
    env = {"GATEHOUSE_DB": None, "GATEHOUSE_KEYS": None}
    gh.ok("init", "--config", conf, env=env)
    assert (tmp_path / "via-conf.db").is_file()
    assert (tmp_path / "via-conf-keys" / "secret.key").is_file()
    assert not gh.db.exists()


@pytest.mark.sqlite_only("the default database file")
def test_defaults_are_gatehouse_db_and_keys_in_the_working_directory(gh):
    work = gh.root / "work"
    work.mkdir()
    gh.ok("init", env={"GATEHOUSE_DB": None, "GATEHOUSE_KEYS": None}, cwd=work)
    assert (work / "gatehouse.db").is_file()
    assert (work / "keys" / "secret.key").is_file()


@pytest.mark.parametrize("text,mention", [
    ("no_such_setting = 1\n", "no_such_setting"),
    ("password_min_length = 20\npassword_min_length = 21\n", "password_min_length"),
    ("password_min_length 20\n", None),
    ("password_min_length = 7\n", "password_min_length"),
    ("password_min_length = twenty\n", "password_min_length"),
    ("argon2_memory_kib = 1024\n", "argon2_memory_kib"),
    ("config = other.conf\n", "config"),
])
def test_bad_config_files_are_errors_naming_file_and_line(ready, text, mention):
    conf = write_config(ready, "# comment\n" + text)
    before = ready.dump()
    line = ready.fails("user", "add", "alice", "--password-stdin", "--config", conf,
                       input=PASSWORD + "\n")
    assert "gatehouse.conf" in line, f"the message should name the file: {line}"
    if mention:
        assert mention in line, line
    assert ready.dump() == before


def test_line_numbers_in_config_errors(ready):
    conf = write_config(ready, "# one\n\npassword_min_length = 16\nbogus = 1\n")
    line = ready.fails("user", "list", "--config", conf)
    assert ":4" in line, f"the message should give line 4: {line}"


def test_missing_config_file_is_an_error(ready):
    line = ready.fails("user", "list", "--config", ready.root / "absent.conf")
    assert "absent.conf" in line


def test_config_file_may_hold_settings_of_other_commands(ready):
    # one file for everything: serve's settings must not break `user list`
    conf = write_config(ready, "listen = 127.0.0.1:9999\ncache_max_age = 60\n"
                               "password_min_length = 16\nlog_level = warn\n")
    ready.ok("user", "list", "--config", conf)


# --- bounds --------------------------------------------------------------------------------

@pytest.mark.parametrize("var,value,bound", [
    ("GATEHOUSE_ARGON2_MEMORY_KIB", "1024", "19456"),
    ("GATEHOUSE_ARGON2_MEMORY_KIB", "19455", "19456"),
    ("GATEHOUSE_ARGON2_ITERATIONS", "1", "2"),
    ("GATEHOUSE_ARGON2_PARALLELISM", "0", "1"),
    ("GATEHOUSE_ARGON2_PARALLELISM", "17", "16"),
    ("GATEHOUSE_PASSWORD_MIN_LENGTH", "7", "8"),
    ("GATEHOUSE_PASSWORD_MIN_LENGTH", "1025", "1024"),
])
def test_bad_environment_values_exit_1_naming_setting_and_bound(ready, var, value, bound):
    before = ready.dump()
    rc, out, err = ready.run("user", "add", "alice", "--password-stdin", input=PASSWORD + "\n",
                             env={var: value})
    assert rc == 1, f"{var}={value}: exit {rc}"
    assert len(err.strip().splitlines()) == 1, err
    key = var[len("GATEHOUSE_"):].lower()
    assert key in err or var in err, f"the message should name the setting: {err}"
    assert bound in err, f"the message should give the bound {bound}: {err}"
    assert ready.dump() == before


@pytest.mark.parametrize("flag,value,bound", [
    ("--argon2-memory-kib", "1024", "19456"),
    ("--argon2-iterations", "1", "2"),
    ("--password-min-length", "7", "8"),
    ("--argon2-memory-kib", "lots", "19456"),
    ("--argon2-memory-kib", "-1", "19456"),
    ("--argon2-memory-kib", "99999999999999999999", "19456"),
])
def test_bad_flag_values_exit_2_naming_setting_and_bound(ready, flag, value, bound):
    before = ready.dump()
    rc, out, err = ready.run("user", "add", "alice", "--password-stdin", flag, value,
                             input=PASSWORD + "\n")
    assert rc == 2, f"{flag} {value}: exit {rc}"
    assert len(err.strip().splitlines()) == 1, err
    assert flag.lstrip("-").replace("-", "_") in err or flag in err, err
    assert bound in err, err
    assert ready.dump() == before


def test_argon2_floor_applies_to_passwd_too(ready):
    ready.add_user("alice")
    before = ready.dump()
    rc, _, err = ready.run("user", "passwd", "alice", "--password-stdin",
                           input="another long password\n",
                           env={"GATEHOUSE_ARGON2_MEMORY_KIB": "1024"})
    assert rc == 1 and "19456" in err
    assert ready.dump() == before


@pytest.mark.parametrize("var,value", [
    ("GATEHOUSE_LOG_LEVEL", "loud"),
    ("GATEHOUSE_DB", ""),
])
def test_other_bad_environment_values(ready, var, value):
    rc, _, err = ready.run("user", "list", env={var: value})
    assert rc == 1, f"{var}={value!r}: exit {rc}"


def test_log_level_flag(ready):
    ready.ok("user", "list", "--log-level", "debug")
    rc, _, err = ready.run("user", "list", "--log-level", "loud")
    assert rc == 2


def test_irrelevant_environment_variables_are_ignored_by_other_commands(ready):
    # GATEHOUSE_LISTEN is a serve setting; user list neither uses nor validates it
    ready.ok("user", "list", env={"GATEHOUSE_LISTEN": "127.0.0.1:9", "GATEHOUSE_THREADS": "4"})
