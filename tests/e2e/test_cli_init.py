"""`gatehouse init` and the data location: files and modes, idempotence, --issuer, --demo,
and what happens with a missing, corrupt, newer or read-only database."""
import os
import re
import shutil
import stat
import subprocess
import tempfile

import pytest

from ghtest import PG_MODE


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def pem_files(gh):
    return sorted(p.name for p in gh.keys.glob("*.pem"))


def key_material(gh) -> dict:
    """kid -> the private key as stored: the bytes of <keys>/<kid>.pem (SQLite), or of the
    sealed row (PostgreSQL, where no key file may exist)."""
    if PG_MODE:
        assert pem_files(gh) == [], "a private key file in PostgreSQL mode"
        return {k["kid"]: gh.sealed_key(k["kid"]) for k in gh.key_list()}
    return {p.stem: p.read_bytes() for p in gh.keys.glob("*.pem")}


def schema(gh):
    return gh.sql(".schema"), gh.sql("PRAGMA user_version;").strip()


@pytest.mark.sqlite_only("the database is a file with private modes")
def test_init_creates_database_secret_and_three_signing_keys_with_private_modes(gh):
    gh.init()
    assert gh.db.is_file()
    assert mode(gh.keys) == 0o700
    assert (gh.keys / "secret.key").is_file()
    assert mode(gh.keys / "secret.key") == 0o600
    assert os.path.getsize(gh.keys / "secret.key") == 32
    pems = list(gh.keys.glob("*.pem"))
    assert len(pems) == 3, pems
    for p in pems:
        assert mode(p) == 0o600, f"{p.name} has mode {oct(mode(p))}"
        assert "PRIVATE KEY" in p.read_text()
    kids = {k["kid"] for k in gh.key_list()}
    assert {p.stem for p in pems} == kids, "key files are named <kid>.pem"
    assert sorted(k["alg"] for k in gh.key_list()) == ["ES256", "PS256", "RS256"]


@pytest.mark.sqlite_only("PRAGMA user_version and WAL")
def test_init_records_a_positive_schema_version_and_wal(gh):
    gh.init()
    version = int(gh.sql("PRAGMA user_version;").strip())
    assert version >= 1
    assert gh.sql("PRAGMA journal_mode;").strip() == "wal"


@pytest.mark.sqlite_only("compares the SQLite .schema")
def test_init_is_idempotent(gh):
    gh.init()
    gh.add_user("alice")
    before_schema = schema(gh)
    before_dump = gh.dump()
    before_pems = {p.name: p.read_bytes() for p in gh.keys.glob("*.pem")}
    before_secret = (gh.keys / "secret.key").read_bytes()
    before_keys = gh.key_list()

    rc, out, err = gh.run("init")
    assert rc == 0, err

    assert schema(gh) == before_schema
    assert gh.dump() == before_dump
    assert {p.name: p.read_bytes() for p in gh.keys.glob("*.pem")} == before_pems
    assert (gh.keys / "secret.key").read_bytes() == before_secret
    assert gh.key_list() == before_keys
    assert [u["username"] for u in gh.users()] == ["alice"]


def test_init_accepts_a_checkout_style_keys_directory(gh, start_server):
    # `make run` uses ./keys, which git checks out with mode 0755 holding README.md and
    # .gitignore; init must work there and neither file may become a key.
    gh.keys.mkdir(mode=0o755)
    os.chmod(gh.keys, 0o755)
    (gh.keys / "README.md").write_text("# keys\n")
    (gh.keys / ".gitignore").write_text("*\n!README.md\n!.gitignore\n")
    gh.init()
    keys = gh.key_list()
    assert sorted(k["alg"] for k in keys) == ["ES256", "PS256", "RS256"]
    assert set(key_material(gh)) == {k["kid"] for k in keys}
    for p in gh.keys.glob("*.pem"):
        assert mode(p) == 0o600
    # with PostgreSQL the realm secret is a sealed row; the KEK is the file of keys/
    assert mode(gh.keys / ("kek.key" if PG_MODE else "secret.key")) == 0o600
    assert (gh.keys / "README.md").read_text() == "# keys\n"
    s = start_server()
    published = s.get("/jwks.json").json()["keys"]
    assert {(k["kid"], k["alg"]) for k in published} == {(k["kid"], k["alg"]) for k in keys}


@pytest.mark.parametrize("issuer", ["https://id.example.test", "http://127.0.0.1:8080",
                                    "http://localhost:9000", "http://[::1]:8080"])
def test_init_accepts_good_issuers(gh, issuer):
    gh.init("--issuer", issuer)


@pytest.mark.parametrize("issuer", ["http://id.example.test", "https://id.example.test/?a=b",
                                    "https://id.example.test/#frag", "id.example.test",
                                    "/relative", "ftp://id.example.test", ""])
def test_init_rejects_bad_issuers_and_creates_nothing(gh, issuer):
    line = gh.fails("init", "--issuer", issuer, rc=(1, 2))
    assert "issuer" in line.lower(), line
    assert not gh.db.exists()


def test_init_demo_makes_the_demo_user_and_app_and_prints_the_password_every_time(gh):
    out1 = gh.init("--demo")
    m = re.search(r"^demo user: demo / (\S+) \(the password is kept in (\S+)\)$", out1, re.M)
    assert m, out1
    password, kept = m.groups()
    # beside a SQLite file; with PostgreSQL (no file to sit beside) in the keys directory
    demo_file = gh.demo_file
    assert kept == str(demo_file)
    assert demo_file.read_text() == password + "\n"
    assert mode(demo_file) == 0o600
    assert "http://127.0.0.1:8080/demo" in out1, "where to open the demo app"
    demo = gh.user("demo")
    assert demo["has_password"] is True and demo["disabled"] is False
    app = gh.client("demo-app")
    assert app["redirect_uris"] == ["http://127.0.0.1:8080/demo/callback"]
    assert app["post_logout_redirect_uris"] == ["http://127.0.0.1:8080/demo"]
    assert app["token_endpoint_auth_method"] == "none"
    assert app["public"] is True and app["has_secret"] is False

    # a second run prints the same password and changes nothing
    before = gh.dump()
    rc, out2, err2 = gh.run("init", "--demo")
    assert rc == 0, err2
    assert f"demo / {password} " in out2, out2
    assert gh.dump() == before
    assert len(gh.users()) == 1 and len(gh.clients()) == 1

    # another issuer: the demo app is registered again for it, the user stays
    out3 = gh.init("--demo", "--issuer", "https://id.example.test")
    assert f"demo / {password} " in out3
    assert gh.client("demo-app")["redirect_uris"] == ["https://id.example.test/demo/callback"]
    assert gh.user("demo")["sub"] == demo["sub"]


# --- a missing, corrupt, newer, read-only data location ------------------------------------

@pytest.mark.sqlite_only("a database file that does not exist")
def test_missing_database_is_an_error_and_is_not_created(gh):
    missing = gh.dir / "missing.db"
    line = gh.fails("user", "list", "--db", missing)
    assert line.startswith("gatehouse user list:"), line
    assert "missing.db" in line, f"the message should name the file: {line}"
    assert not missing.exists()
    assert not (gh.dir / "missing.db-wal").exists()


@pytest.mark.sqlite_only("a database file that does not exist")
@pytest.mark.parametrize("words", [["user", "list"], ["client", "list"], ["keys", "list"],
                                   ["user", "show", "alice"]])
def test_commands_other_than_init_do_not_create_a_database(gh, words):
    rc, _, err = gh.run(*words)
    assert rc == 1, err
    assert not gh.db.exists()


@pytest.mark.sqlite_only("a corrupt SQLite file")
def test_corrupt_database_is_refused_and_left_unchanged(gh):
    junk = os.urandom(8192)
    gh.db.write_bytes(junk)
    for args in (["user", "list"], ["init"], ["keys", "list"]):
        line = gh.fails(*args)
        assert "gatehouse.db" in line or "database" in line.lower(), line
    assert gh.db.read_bytes() == junk


@pytest.mark.sqlite_only("a text file as the database")
def test_text_file_as_database_is_refused(gh):
    gh.db.write_text("this is not a database\n" * 100)
    gh.fails("user", "list")


@pytest.mark.sqlite_only("sets PRAGMA user_version (test_pg_backend covers PostgreSQL)")
def test_newer_schema_is_refused_with_its_version(gh):
    gh.init()
    gh.add_user("alice")
    gh.sql("PRAGMA user_version=999;")
    before = gh.dump()
    for args in (["user", "list"], ["init"]):
        line = gh.fails(*args)
        assert "999" in line, f"the message should mention the version: {line}"
    assert gh.dump() == before


@pytest.mark.sqlite_only("sets PRAGMA user_version")
def test_newer_schema_stops_serve(gh):
    gh.init()
    gh.sql("PRAGMA user_version=999;")
    rc, out, err = gh.run("serve", "--listen", "127.0.0.1:0", timeout=15)
    assert rc == 1
    assert "999" in err


class Unprivileged:
    """A data location driven by a user whom permission bits stop. Tests run as root in CI,
    and root ignores a directory's missing write bit; so as root the commands run as nobody
    (setpriv, util-linux) in a directory nobody owns, outside pytest's root-only tmp tree."""

    NOBODY = 65534

    def __init__(self, gh):
        self.gh = gh
        self.root = os.geteuid() == 0
        self.dir = tempfile.mkdtemp(prefix="gh-ro-") if self.root else str(gh.dir)
        if self.root:
            os.chmod(self.dir, 0o700)
            os.chown(self.dir, self.NOBODY, self.NOBODY)
        # a copy of the binary inside the directory, in case the checkout's path is closed to
        # nobody (e.g. under /root)
        self.binary = str(gh.binary)
        if self.root:
            self.binary = os.path.join(self.dir, "gatehouse")
            shutil.copy2(gh.binary, self.binary)
            os.chmod(self.binary, 0o755)
        self.db = os.path.join(self.dir, "gatehouse.db")
        self.env = {"GATEHOUSE_DB": self.db, "GATEHOUSE_KEYS": os.path.join(self.dir, "keys")}

    def run(self, *args, input=None):
        cmd = [self.binary, *args]
        if self.root:
            cmd = ["setpriv", f"--reuid={self.NOBODY}", f"--regid={self.NOBODY}",
                   "--clear-groups", *cmd]
        p = subprocess.run(cmd, input=(input or "").encode(), capture_output=True,
                           env=self.gh.cmd_env(self.env), cwd="/", timeout=60)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def dump(self):
        return subprocess.run(["sqlite3", self.db, ".dump"], capture_output=True, text=True,
                              check=True).stdout

    def close(self):
        if self.root:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def unprivileged(gh):
    u = Unprivileged(gh)
    yield u
    os.chmod(u.dir, 0o700)
    u.close()


@pytest.mark.sqlite_only("file permissions of the database")
def test_read_only_data_directory_is_a_clear_error(unprivileged):
    u = unprivileged
    os.chmod(u.dir, 0o500)
    rc, out, err = u.run("init")
    assert rc == 1, (out, err)
    assert len(err.strip().splitlines()) == 1, err
    assert "read-only" in err.lower() or "permission" in err.lower(), err
    assert not os.path.exists(u.db)


@pytest.mark.sqlite_only("file permissions of the database")
def test_read_only_database_is_a_clear_error_and_unchanged(unprivileged):
    u = unprivileged
    rc, out, err = u.run("init")
    assert rc == 0, err
    before = u.dump()
    os.chmod(u.dir, 0o500)
    os.chmod(u.db, 0o400)
    rc, out, err = u.run("user", "add", "alice", "--password-stdin",
                         input="a perfectly fine passphrase\n")
    assert rc == 1, (out, err)
    assert "read-only" in err.lower(), err
    os.chmod(u.db, 0o600)
    assert u.dump() == before


def test_keys_directory_that_is_a_file_is_an_error(gh):
    gh.keys.write_text("not a directory\n")
    line = gh.fails("init")
    assert "keys" in line, line


def test_secret_key_created_once(gh):
    def realm_secret():
        if PG_MODE:   # a row sealed under the KEK (test_pg_keys.py)
            return gh.sql("SELECT value FROM meta WHERE name = 'realm_secret'")
        return (gh.keys / "secret.key").read_bytes()

    gh.init()
    first = realm_secret()
    assert len(first) >= 32
    gh.init()
    assert realm_secret() == first



@pytest.mark.sqlite_only("SQLite integrity_check findings (test_pg_backend covers PostgreSQL)")
def test_db_check(ready):
    rc, out, err = ready.run("db", "check")
    assert rc == 0, err
    assert "ok" in out
    junk = os.urandom(8192)
    ready.db.write_bytes(junk)
    for suffix in ("-wal", "-shm"):
        p = ready.db.with_name(ready.db.name + suffix)
        if p.exists():
            p.unlink()
    ready.fails("db", "check")
    assert ready.db.read_bytes() == junk


@pytest.mark.parametrize("missing", ["RS256", "ES256", "PS256"])
def test_init_completes_a_realm_missing_one_key_algorithm(gh, missing):
    # a first init that died half-way must not leave the realm without a key of some alg;
    # missing PS256 is also a realm made before PS256 existed (RS256 and ES256 only)
    gh.init()
    gone = [k for k in gh.key_list() if k["alg"] == missing]
    assert len(gone) == 1
    gh.sql(f"DELETE FROM signing_keys WHERE kid = '{gone[0]['kid']}'")
    if not PG_MODE:
        (gh.keys / f"{gone[0]['kid']}.pem").unlink()
    kept = gh.key_list()
    kept_pems = key_material(gh)
    assert len(kept) == 2 and len(kept_pems) == 2
    gh.init()
    after = gh.key_list()
    assert sorted(k["alg"] for k in after) == ["ES256", "PS256", "RS256"]
    assert {k["kid"]: k for k in after if k["alg"] != missing} == \
        {k["kid"]: k for k in kept}, "the other keys are untouched"
    new = [k for k in after if k["alg"] == missing]
    assert len(new) == 1 and new[0]["signing"] is True
    assert new[0]["kid"] != gone[0]["kid"]
    assert {kid: b for kid, b in key_material(gh).items() if kid != new[0]["kid"]} == kept_pems
    if not PG_MODE:
        assert mode(gh.keys / f"{new[0]['kid']}.pem") == 0o600
