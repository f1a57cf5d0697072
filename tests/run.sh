#!/bin/sh
# tests/run.sh BUILD [unit|e2e|all] — run the test suites and end with one summary line:
#   tests: N passed, N failed
# Unit binaries are BUILD/tests/test_*; the end-to-end suite is pytest (Debian's python3) driving
# the binary named by GATEHOUSE_BIN (default ./gatehouse). Exit status 1 if anything failed.
set -u
build=${1:-build}
what=${2:-all}
py=/usr/bin/python3
passed=0
failed=0

count() { # count TEXT WORD -> the number before WORD in the last line mentioning it
    printf '%s\n' "$1" | grep -Eo "[0-9]+ $2" | tail -n 1 | grep -Eo '^[0-9]+' || echo 0
}

if [ "$what" = all ] || [ "$what" = unit ]; then
    for t in "$build"/tests/test_*; do
        [ -x "$t" ] || continue
        out=$("$t" 2>&1)
        rc=$?
        p=$(count "$out" passed)
        f=$(count "$out" failed)
        if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
            printf '%s\n' "$out"          # everything, logs included, when something failed
        else
            printf '%s\n' "$out" | tail -n 1
        fi
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            echo "unit $(basename "$t"): exited with status $rc"
            f=1
        fi
        passed=$((passed + p))
        failed=$((failed + f))
    done
fi

if [ "$what" = all ] || [ "$what" = e2e ]; then
    GATEHOUSE_BIN=${GATEHOUSE_BIN:-./gatehouse}
    export GATEHOUSE_BIN
    out=$("$py" -m pytest -q -p no:cacheprovider tests/e2e 2>&1)
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
fi

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
