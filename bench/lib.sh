# bench/lib.sh — the shell helpers the bench/*.sh scripts share; sourced (`. bench/lib.sh`)
# after they cd to the repository root. They use the caller's $pids (the processes it started,
# stopped by PID) and $PY (Debian's python3).

wait_file() { # wait_file FILE: until FILE exists and is non-empty, at most 10 s
    i=0
    while [ ! -s "$1" ]; do
        i=$((i + 1))
        [ "$i" -le 1000 ] || { echo "bench: timed out waiting for $1" >&2; exit 1; }
        sleep 0.01
    done
}

stop_all() { # stop_all: SIGTERM to every process in $pids, then wait for each (cleanup)
    for p in $pids; do
        kill "$p" 2>/dev/null || true
    done
    for p in $pids; do
        wait "$p" 2>/dev/null || true
    done
}

stop_pid() { # stop_pid PID: SIGTERM, wait, drop from the cleanup list
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    np=""
    for p in $pids; do
        [ "$p" = "$1" ] || np="$np $p"
    done
    pids=$np
}

get() { # get KEY "k=v ..." -> v
    echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1
}

secret_of() { # secret_of FILE -> the client_secret of a `client add --json` answer
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <"$1"
}

kids_mark() { # kids_mark FILE: the shell's children's CPU so far (`times`), for kids_cpu
    times >"$1"
}

kids_cpu() { # kids_cpu FILE -> children's user+system seconds
    awk 'NR == 2 { n = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] }
                   printf "%.3f", n }' "$1"
}
