#!/bin/sh
# bench/run.sh — throughput of gatehouse's prebuilt documents against two references, plus idle
# memory and start-up latency. `make bench` runs it; results are recorded in docs/benchmarks.md.
#
#   ceiling  bench/mhd_ceiling.c: bare libmicrohttpd, gatehouse's thread model and limits,
#            answering every request with the JWKS bytes (what MHD itself can do here)
#   nginx    the same bytes as a static file (worker_processes 2, access_log off)
#   gatehouse /jwks.json and /.well-known/openid-configuration, access log on (the default)
#            and /jwks.json with --access-log off
#
# Everything runs on loopback in a throw-away mktemp directory; only processes started here are
# stopped (by PID). Environment: GATEHOUSE_BIN (default ./gatehouse), BENCH_DURATION (10s),
# BENCH_CONNS (32), BENCH_WRK_THREADS (2), BENCH_ROUNDS (3 interleaved rounds, medians
# reported), BENCH_STARTS (10 start-up samples). Takes about 5 x ROUNDS x DURATION.
set -eu

cd "$(dirname "$0")/.."
. bench/lib.sh
BIN=${GATEHOUSE_BIN:-./gatehouse}
DUR=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNS:-32}
WT=${BENCH_WRK_THREADS:-2}
STARTS=${BENCH_STARTS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
OUT=build/bench
PY=/usr/bin/python3

for tool in wrk nginx curl cc pkg-config "$PY"; do
    command -v "$tool" >/dev/null 2>&1 ||
        { echo "bench: $tool is missing (make bench-deps)" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "bench: $BIN not built (make)" >&2; exit 1; }

mkdir -p "$OUT"
# shellcheck disable=SC2046 # pkg-config output is meant to split into words
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
    -o "$OUT/mhd_ceiling" bench/mhd_ceiling.c $(pkg-config --cflags --libs libmicrohttpd) -lpthread
# shellcheck disable=SC2046
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
    -o "$OUT/rss_floor" bench/rss_floor.c \
    $(pkg-config --cflags --libs libmicrohttpd libcrypto sqlite3) -lpthread

tmp=$(mktemp -d /tmp/gh-bench.XXXXXX)
pids=""
cleanup() {
    stop_all
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

gh() {
    "$BIN" --db "$tmp/gh.db" --keys "$tmp/keys" "$@"
}

# --- gatehouse -------------------------------------------------------------------------------
gh init >"$tmp/init.log" 2>&1 || { cat "$tmp/init.log" >&2; exit 1; }

start_gh() { # start_gh PORTFILE LOG [FLAGS...] -> sets ghpid
    pf=$1 log=$2
    shift 2
    rm -f "$pf"
    # not through gh(): $! must be gatehouse itself, not a subshell
    "$BIN" --db "$tmp/gh.db" --keys "$tmp/keys" serve --listen 127.0.0.1:0 --port-file "$pf" \
        "$@" >"$log" 2>&1 &
    ghpid=$!
    pids="$pids $ghpid"
    wait_file "$pf"
}

start_gh "$tmp/gh.port" "$tmp/gh.log"
gh_pid=$ghpid
gh_port=$(cat "$tmp/gh.port")
GH=http://127.0.0.1:$gh_port

mkdir -p "$tmp/www"
curl -sf "$GH/jwks.json" >"$tmp/www/jwks.json"
jwks_bytes=$(wc -c <"$tmp/www/jwks.json")
disc_bytes=$(curl -sf "$GH/.well-known/openid-configuration" | wc -c)

# idle RSS after start-up and a few requests
for _ in 1 2 3 4 5; do
    curl -sf -o /dev/null "$GH/jwks.json"
    curl -sf -o /dev/null "$GH/.well-known/openid-configuration"
done
rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$gh_pid/status")
# PSS shares each library page among the processes mapping it; private = the process's own
pss_kb=$(awk '/^Pss:/ { print $2 }' "/proc/$gh_pid/smaps_rollup" 2>/dev/null)
priv_kb=$(awk '/^Private_(Clean|Dirty):/ { n += $2 } END { print n }' "/proc/$gh_pid/smaps_rollup" 2>/dev/null)

# the floor: the same libraries doing only what gatehouse cannot avoid (bench/rss_floor.c)
"$OUT/rss_floor" "$tmp/keys" "$tmp/gh.db" "$tmp/floor.port" 2>"$tmp/floor.log" &
floor_pid=$!
pids="$pids $floor_pid"
wait_file "$tmp/floor.port"
curl -sf -o /dev/null "http://127.0.0.1:$(cat "$tmp/floor.port")/"
floor_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$floor_pid/status")
stop_pid "$floor_pid"

# --- references ------------------------------------------------------------------------------
"$OUT/mhd_ceiling" "$tmp/www/jwks.json" "$tmp/ceiling.port" 2>"$tmp/ceiling.log" &
ceil_pid=$!
pids="$pids $ceil_pid"
wait_file "$tmp/ceiling.port"
CEIL=http://127.0.0.1:$(cat "$tmp/ceiling.port")/jwks.json

# nginx workers run as nobody when started as root: the served tree must be world-readable
chmod 0711 "$tmp"
chmod 0755 "$tmp/www"
chmod 0644 "$tmp/www/jwks.json"
ngx_port=$(free_port)
cat >"$tmp/nginx.conf" <<EOF
worker_processes 2;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $tmp/ngx_body;
    proxy_temp_path $tmp/ngx_proxy;
    fastcgi_temp_path $tmp/ngx_fastcgi;
    uwsgi_temp_path $tmp/ngx_uwsgi;
    scgi_temp_path $tmp/ngx_scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$ngx_port;
        root $tmp/www;
        location = /jwks.json { default_type application/json; }
    }
}
EOF
nginx -c "$tmp/nginx.conf" -p "$tmp" 2>"$tmp/nginx.start.log" &
ngx_pid=$!
pids="$pids $ngx_pid"
i=0
until curl -sf -o /dev/null "http://127.0.0.1:$ngx_port/jwks.json"; do
    i=$((i + 1))
    if [ "$i" -gt 500 ]; then
        echo "bench: nginx did not start" >&2
        cat "$tmp/nginx.err" "$tmp/nginx.start.log" >&2
        exit 1
    fi
    sleep 0.02
done
NGX=http://127.0.0.1:$ngx_port/jwks.json

start_gh "$tmp/gh2.port" "$tmp/gh2.log" --access-log off
gh2_pid=$ghpid
GH2=http://127.0.0.1:$(cat "$tmp/gh2.port")

# --- throughput ------------------------------------------------------------------------------
# Two cores shared by wrk and the server make single runs noisy (+-30 %), so targets run in
# interleaved rounds and medians are reported. Besides req/s, the server's own CPU time per
# request (utime+stime of all its threads, from /proc) is recorded: it does not depend on how
# the scheduler happened to split the cores between wrk and the server.
cpu_ticks() { # cpu_ticks PID... -> summed utime+stime in clock ticks
    t=0
    for p in "$@"; do
        v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
        t=$((t + v))
    done
    echo "$t"
}

: >"$tmp/results"
run_wrk() { # run_wrk NAME URL PID...
    name=$1 url=$2
    shift 2
    sleep 1   # let the previous run's connections go
    c0=$(cpu_ticks "$@")
    timeout 60 wrk -t"$WT" -c"$CONNS" -d"$DUR" --latency "$url" >"$tmp/wrk.out" 2>&1 ||
        { cat "$tmp/wrk.out" >&2; exit 1; }
    c1=$(cpu_ticks "$@")
    # wrk -c32 from one address sits exactly at the default per-IP limit (32): when MHD has
    # not yet reaped the previous run's connections, a new one can be refused and shows up as
    # a read error; wrk reconnects. Anything else is a real failure worth a look.
    if grep -q 'Non-2xx\|Socket errors' "$tmp/wrk.out"; then
        echo "bench: $name: $(grep 'Non-2xx\|Socket errors' "$tmp/wrk.out" | tr -s ' ')" >&2
    fi
    awk -v name="$name" -v ticks=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" '
        / requests in / { n = $1 }
        /Requests\/sec:/ { rps = $2 }
        $1 == "50%" { p50 = $2 }
        $1 == "99%" { p99 = $2 }
        END { printf "%s %s %s %s %.2f\n", name, rps, p50, p99, n ? ticks * 1e6 / hz / n : 0 }' \
        "$tmp/wrk.out" >>"$tmp/results"
}

ngx_all="$ngx_pid $(pgrep -P "$ngx_pid" | tr '\n' ' ')"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    run_wrk ceiling "$CEIL" "$ceil_pid"
    run_wrk gh_jwks "$GH/jwks.json" "$gh_pid"
    run_wrk gh_discovery "$GH/.well-known/openid-configuration" "$gh_pid"
    run_wrk gh_jwks_nolog "$GH2/jwks.json" "$gh2_pid"
    # shellcheck disable=SC2086 # one word per PID
    run_wrk nginx "$NGX" $ngx_all
    r=$((r + 1))
done
stop_pid "$gh_pid"
stop_pid "$gh2_pid"
stop_pid "$ceil_pid"
stop_pid "$ngx_pid"

# --- start-up: process start to the first 200 from discovery ----------------------------------
startup=$("$PY" - "$BIN" "$tmp" "$STARTS" <<'EOF'
import os, socket, statistics, subprocess, sys, time
binary, tmp, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
pf = os.path.join(tmp, "start.port")
req = b"GET /.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
samples = []
for _ in range(n):
    try:
        os.unlink(pf)
    except FileNotFoundError:
        pass
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "--db", os.path.join(tmp, "gh.db"),
                          "--keys", os.path.join(tmp, "keys"),
                          "serve", "--listen", "127.0.0.1:0", "--port-file", pf],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok = False
    try:
        while time.monotonic() - t0 < 10:
            try:
                port = int(open(pf).read())
            except (OSError, ValueError):
                time.sleep(0.0005)
                continue
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.sendall(req)
                    if s.recv(16).startswith(b"HTTP/1.1 200"):
                        ok = True
                        break
            except OSError:
                time.sleep(0.0005)
        if ok:
            samples.append((time.monotonic() - t0) * 1000)
    finally:
        p.terminate()
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
if not samples:
    print("failed")
else:
    print("%.1f %.1f %.1f %d" % (statistics.median(samples), min(samples), max(samples),
                                 len(samples)))
EOF
)

# --- report ----------------------------------------------------------------------------------
echo
echo "gatehouse bench: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores," \
    "wrk -t$WT -c$CONNS -d$DUR (keep-alive), $ROUNDS rounds"
echo "libmicrohttpd $(pkg-config --modversion libmicrohttpd)," \
    "$(nginx -v 2>&1 | sed 's/.*: //'), $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2)"
echo "bodies: JWKS $jwks_bytes bytes, discovery $disc_bytes bytes"
echo
"$PY" - "$tmp/results" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, rps, p50, p99, cpu = line.split()
    rows.setdefault(name, []).append((float(rps), p50, p99, float(cpu)))
def ms(s):
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if s.endswith(unit):
            return float(s[: -len(unit)]) * f
    return float(s)
labels = [("ceiling", "mhd ceiling (JWKS bytes)"), ("gh_jwks", "gatehouse /jwks.json"),
          ("gh_discovery", "gatehouse discovery"), ("gh_jwks_nolog", "gatehouse jwks, no log"),
          ("nginx", "nginx static file")]
ceil = rows.get("ceiling", [])
print("%-26s %8s %15s %7s %7s %9s %6s %7s" % ("target", "req/s", "(min-max)", "p50 ms",
      "p99 ms", "cpu us/r", "rps/c", "cpu c/x"))
for key, label in labels:
    r = rows.get(key)
    if not r:
        continue
    # ratios are taken round by round (each target against the ceiling run in the same
    # round), then the median: drift of the machine between rounds cancels out
    rr = [x[0] / c[0] for x, c in zip(r, ceil)] or [0]
    cr = [c[3] / x[3] for x, c in zip(r, ceil) if x[3]] or [0]
    print("%-26s %8.0f %15s %7.2f %7.2f %9.2f %5.0f%% %6.0f%%" % (label,
          statistics.median(x[0] for x in r),
          "(%.0f-%.0f)" % (min(x[0] for x in r), max(x[0] for x in r)),
          statistics.median(ms(x[1]) for x in r), statistics.median(ms(x[2]) for x in r),
          statistics.median(x[3] for x in r), 100 * statistics.median(rr),
          100 * statistics.median(cr)))
print("medians of %d rounds. rps/c: req/s / the ceiling's in the same round; cpu c/x: the"
      " ceiling's server CPU per request / this target's (100%% = as cheap as bare MHD)."
      % len(ceil))
print("per round (req/s, server cpu us/request):")
for key, label in labels:
    if key in rows:
        print("  %-24s %s" % (label, "  ".join("%6.0f %5.1f" % (x[0], x[3]) for x in rows[key])))
EOF
echo
echo "gatehouse idle RSS after start-up and 10 requests: $rss_kb KiB (PSS ${pss_kb:-?} KiB, private ${priv_kb:-?} KiB)"
echo "floor (bench/rss_floor.c: OpenSSL + the keys, SQLite, libmicrohttpd pool) idle RSS: $floor_kb KiB"
set -- $startup
if [ "$1" = failed ]; then
    echo "start-up to first discovery 200: failed"
else
    echo "start-up to first discovery 200: median $1 ms (min $2, max $3; $4 runs)"
fi
