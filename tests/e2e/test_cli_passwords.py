"""`gatehouse passwords calibrate`: measures Argon2id here and suggests settings that are
never below the OWASP floor and never above --max-memory-kib."""
import re

import pytest


def suggested(out, key):
    m = re.search(rf"{key}\D*?(\d+)", out)
    assert m, f"no {key} in the suggestion:\n{out}"
    return int(m.group(1))


def test_calibrate_suggests_settings_within_bounds(gh):
    rc, out, err = gh.run("passwords", "calibrate", "--target-ms", "50",
                          "--max-memory-kib", "65536", timeout=180)
    assert rc == 0, err
    m = suggested(out, "argon2_memory_kib")
    t = suggested(out, "argon2_iterations")
    assert 19456 <= m <= 65536, out
    assert t >= 2, out
    assert "argon2_parallelism" in out


def test_calibrate_needs_no_data_location(gh):
    gh.run("passwords", "calibrate", "--target-ms", "20", "--max-memory-kib", "19456",
           timeout=180)
    assert not gh.db.exists() and not gh.keys.exists()


@pytest.mark.parametrize("args", [["--target-ms", "abc"], ["--target-ms", "-5"],
                                  ["--max-memory-kib", "1024"], ["--bogus"]])
def test_calibrate_rejects_bad_options(gh, args):
    rc, out, err = gh.run("passwords", "calibrate", *args, timeout=180)
    assert rc in (1, 2), f"{args}: exit {rc}"
    assert len(err.strip().splitlines()) == 1, err
