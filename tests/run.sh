#!/bin/sh
# tests/run.sh BUILD:BIN... — run the test suites of each build and end with one summary line:
#   tests: N passed, N failed
# For each BUILD:BIN, the unit binaries BUILD/tests/test_* and the end-to-end suite (pytest with
# Debian's python3, driving BIN) run. TESTS=unit or TESTS=e2e runs only that kind.
# E2E_PG="tests/e2e" (or a list of modules): that runs once more against the first BUILD:BIN
# with every test's database in a throw-away PostgreSQL cluster (GATEHOUSE_TEST_PG=1,
# tests/tools/pgtmp.py); `make test` passes the whole suite. Its results count in the summary.
# Exit status 1 if anything failed or nothing ran.
set -u
py=/usr/bin/python3
what=${TESTS:-all}
passed=0
failed=0

count() { # count TEXT WORD -> the number before WORD in the last line mentioning it
    printf '%s\n' "$1" | grep -Eo "[0-9]+ $2" | tail -n 1 | grep -Eo '^[0-9]+' || echo 0
}

for pair in "$@"; do
    build=${pair%%:*}
    bin=${pair#*:}
    echo "== $build ($bin)"
    if [ "$what" = all ] || [ "$what" = unit ]; then
        for t in "$build"/tests/test_*; do
            [ -x "$t" ] || continue
            out=$("$t" 2>&1)
            rc=$?
            p=$(count "$out" passed)
            f=$(count "$out" failed)
            if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
                f=1
                out="$out
unit $(basename "$t"): exited with status $rc"
            fi
            if [ "$f" -ne 0 ]; then
                printf '%s\n' "$out"          # everything, logs included, when something failed
            else
                printf '%s\n' "$out" | tail -n 1
            fi
            passed=$((passed + p))
            failed=$((failed + f))
        done
    fi
    if [ "$what" = all ] || [ "$what" = e2e ]; then
        case "$bin" in /*) ;; *) bin="$(pwd)/$bin" ;; esac
        out=$(GATEHOUSE_BIN="$bin" "$py" -m pytest -q -p no:cacheprovider tests/e2e 2>&1)
        rc=$?
        printf '%s\n' "$out" | tail -n 60
        summary=$(printf '%s\n' "$out" | grep -E '(passed|failed|error)' | tail -n 1)
        p=$(count "$summary" passed)
        f=$(( $(count "$summary" failed) + $(count "$summary" error) + $(count "$summary" errors) ))
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            echo "e2e: pytest exited with status $rc"
            f=1
        fi
        passed=$((passed + p))
        failed=$((failed + f))
        if [ -n "${E2E_PG:-}" ] && [ -z "${pg_done:-}" ]; then
            pg_done=1
            echo "== $build ($bin), PostgreSQL: $E2E_PG"
            # shellcheck disable=SC2086 # E2E_PG is a list of paths
            out=$(GATEHOUSE_TEST_PG=1 GATEHOUSE_BIN="$bin" "$py" -m pytest -q -p no:cacheprovider \
                $E2E_PG 2>&1)
            rc=$?
            printf '%s\n' "$out" | tail -n 60
            summary=$(printf '%s\n' "$out" | grep -E '(passed|failed|error)' | tail -n 1)
            p=$(count "$summary" passed)
            f=$(( $(count "$summary" failed) + $(count "$summary" error) + $(count "$summary" errors) ))
            if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
                echo "e2e (PostgreSQL): pytest exited with status $rc"
                f=1
            fi
            passed=$((passed + p))
            failed=$((failed + f))
        fi
    fi
done

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
