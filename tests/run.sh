#!/bin/sh
# tests/run.sh BUILD:BIN... — run the test suites of each build and end with one summary line:
#   tests: N passed, N failed
# For each BUILD:BIN, the unit binaries BUILD/tests/test_* and the end-to-end suite (pytest with
# Debian's python3, driving BIN) run. TESTS=unit or TESTS=e2e runs only that kind.
# E2E_PG="tests/e2e" (or a list of modules): that runs once more against the first BUILD:BIN
# with every test's database in a throw-away PostgreSQL cluster (GATEHOUSE_TEST_PG=1,
# tests/tools/pgtmp.py); `make test` passes the whole suite. Its results count in the summary.
# Just before the summary, every failing test is named again, with the run it failed in, so the
# last lines of a long log (all a CI page may show) say what failed, not only how many.
# Exit status 1 if anything failed or nothing ran.
set -u
py=/usr/bin/python3
what=${TESTS:-all}
passed=0
failed=0
failures=$(mktemp)
trap 'rm -f "$failures"' EXIT

count() { # count TEXT WORD -> the number before WORD in the last line mentioning it
    printf '%s\n' "$1" | grep -Eo "[0-9]+ $2" | tail -n 1 | grep -Eo '^[0-9]+' || echo 0
}

e2e() { # e2e LABEL [VAR=VALUE...] COMMAND...: one pytest run (through env), counted
    label=$1
    shift
    out=$(env "$@" 2>&1)
    rc=$?
    printf '%s\n' "$out" | tail -n 60
    summary=$(printf '%s\n' "$out" | grep -E '(passed|failed|error)' | tail -n 1)
    p=$(count "$summary" passed)
    f=$(( $(count "$summary" failed) + $(count "$summary" "errors?") ))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "$label: pytest exited with status $rc"
        echo "$label: pytest exited with status $rc" >>"$failures"
        f=1
    fi
    printf '%s\n' "$out" | grep -E '^(FAILED|ERROR) ' | cut -c1-200 | sed "s|^|$label: |" \
        >>"$failures"
    passed=$((passed + p))
    failed=$((failed + f))
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
                echo "$build unit $(basename "$t"): $f failed" >>"$failures"
            else
                printf '%s\n' "$out" | tail -n 1
            fi
            passed=$((passed + p))
            failed=$((failed + f))
        done
    fi
    if [ "$what" = all ] || [ "$what" = e2e ]; then
        case "$bin" in /*) ;; *) bin="$(pwd)/$bin" ;; esac
        pytest="$py -m pytest -q -p no:cacheprovider -rfE"
        # shellcheck disable=SC2086 # $pytest is a command line
        e2e "$build e2e" GATEHOUSE_BIN="$bin" $pytest tests/e2e
        if [ -n "${E2E_PG:-}" ] && [ -z "${pg_done:-}" ]; then
            pg_done=1
            echo "== $build ($bin), PostgreSQL: $E2E_PG"
            # shellcheck disable=SC2086 # E2E_PG is a list of paths
            e2e "$build e2e (PostgreSQL)" GATEHOUSE_TEST_PG=1 GATEHOUSE_BIN="$bin" $pytest $E2E_PG
        fi
    fi
done

if [ -s "$failures" ]; then
    n=$(wc -l <"$failures")
    echo "== what failed ($n):"
    head -n 15 "$failures"
    [ "$n" -le 15 ] || echo "... and $((n - 15)) more above"
fi
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
