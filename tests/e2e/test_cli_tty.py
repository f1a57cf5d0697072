"""Passwords typed on a terminal: `user add` / `user passwd` without --password-stdin prompt
twice on the controlling terminal, without echo, and refuse two different entries."""
import os
import pty
import select
import time

PASS = "a long passphrase typed on a tty"


def run_on_tty(gh, args, answers, timeout=20):
    """Run gatehouse ARGS with a pseudo-terminal as its controlling terminal; answer each
    prompt ending in ': ' with the next line of answers. Returns (exit status, transcript)."""
    pid, fd = pty.fork()
    if pid == 0:  # child: the pty is stdin/stdout/stderr and the controlling terminal
        os.execve(str(gh.binary), [str(gh.binary), *args], gh.cmd_env())
    out, pending = b"", list(answers)
    deadline = time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""  # EIO: the child closed the terminal
        if not chunk:
            _, status = os.waitpid(pid, 0)
            os.close(fd)
            return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")
        out += chunk
        if pending and out.endswith(b": "):
            os.write(fd, (pending.pop(0) + "\n").encode())
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError(f"gatehouse {' '.join(args)} did not finish on the tty:\n{out!r}")


def test_user_add_prompts_twice_without_echo(ready):
    rc, transcript = run_on_tty(ready, ["user", "add", "ttyuser"], [PASS, PASS])
    assert rc == 0, transcript
    assert transcript.count("password:") == 2, transcript
    assert PASS not in transcript, "the password was echoed to the terminal"
    assert ready.user("ttyuser")["has_password"] is True


def test_user_add_refuses_two_different_entries(ready):
    rc, transcript = run_on_tty(ready, ["user", "add", "ttyuser"], [PASS, PASS + "x"])
    assert rc == 1, transcript
    assert "differ" in transcript
    assert PASS not in transcript
    assert "ttyuser" not in [u["username"] for u in ready.users()]


def test_user_passwd_on_tty_changes_the_password(ready):
    ready.add_user("ttyuser")
    before = ready.sql("SELECT password_hash FROM users WHERE username='ttyuser'")
    rc, transcript = run_on_tty(ready, ["user", "passwd", "ttyuser"], [PASS, PASS])
    assert rc == 0, transcript
    assert PASS not in transcript
    after = ready.sql("SELECT password_hash FROM users WHERE username='ttyuser'")
    assert after and after != before
