#!/bin/sh
# bench/flows.sh — the browser sign-in flows, the token endpoint and userinfo under load, with
# the Argon2id ceiling of this machine as the yardstick for first logins. `make bench-flows`
# runs it (`make bench` runs bench/run.sh, then this); results are in docs/benchmarks.md.
#
#   argon2    bench/argon2_ceiling.c: one thread per core (and one thread alone) hashing with
#             the same Argon2id parameters and nothing else; the one-thread ceiling is measured
#             just before the concurrency-1 run, the all-cores one just before and after the
#             concurrency-8 run (their mean is the ceiling)
#   rsa       `openssl speed rsa2048`: the cost of one RS256 signature, for the SSO bound
#   first     GET /authorize -> 200 form -> POST /login -> 303 + code -> POST /token, a fresh
#             browser every time (bench/flow.lua, GH_MODE=first), concurrency 1 and 8
#   sso       GET /authorize with the session cookie -> 302 + code -> POST /token
#             (GH_MODE=sso), concurrency 1 and 8; at 8 once more with a copy of the database on
#             /dev/shm (a diagnostic: the same work without the disk), and once under
#             `perf record --call-graph dwarf` for the profile
#   token     refresh_token grants (bench/refresh.lua) alone, then while 8 first-login
#             browsers keep the Argon2 workers busy; p50/p99 of the token requests
#   userinfo  GET /userinfo with a JWT access token, wrk -t2 -c32 (then a profiled run)
#
# Per run the script also records the server's CPU time (all threads, from /proc) per flow or
# request, its average number of busy cores and how busy the whole machine was: on a shared
# machine those tell a slow server from a busy neighbour.
#
# The server gets the Argon2id cost of the reference numbers (m=19456 KiB, t=2, p=1: OWASP's
# floor) unless BENCH_ARGON2_M / BENCH_ARGON2_T say otherwise. wrk is the only load generator;
# Python only creates the sessions and tokens before the runs. Everything runs on loopback in
# throw-away mktemp directories; only processes started here are stopped (by PID).
#
# Environment: GATEHOUSE_BIN (default ./gatehouse), BENCH_FLOW_DURATION (8s per run),
# BENCH_ARGON2_SECONDS (5), BENCH_USERS (50), BENCH_TOKEN_CONNS (2), BENCH_TOKEN_DELAY_MS (0:
# closed loop), BENCH_PERF (1: profile when perf is installed; 0: skip), BENCH_SHM (1: the
# /dev/shm diagnostic run; 0: skip), BENCH_KEEP (a directory to copy raw outputs and the perf
# reports to). Takes about 2.5 minutes.
set -eu

cd "$(dirname "$0")/.."
. bench/lib.sh
ROOT=$(pwd)
BIN=${GATEHOUSE_BIN:-./gatehouse}
DUR=${BENCH_FLOW_DURATION:-8s}
A2S=${BENCH_ARGON2_SECONDS:-5}
NUSERS=${BENCH_USERS:-50}
TCONNS=${BENCH_TOKEN_CONNS:-2}
TDELAY=${BENCH_TOKEN_DELAY_MS:-0}
PERF=${BENCH_PERF:-1}
SHM=${BENCH_SHM:-1}
KEEP=${BENCH_KEEP:-}
OUT=build/bench
PY=/usr/bin/python3

for tool in wrk cc pkg-config openssl "$PY"; do
    command -v "$tool" >/dev/null 2>&1 ||
        { echo "bench: $tool is missing (make bench-deps)" >&2; exit 1; }
done
"$PY" -c 'import requests' 2>/dev/null ||
    { echo "bench: python3-requests is missing (make test-deps)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "bench: $BIN not built (make)" >&2; exit 1; }
[ "$NUSERS" -ge 8 ] 2>/dev/null || { echo "bench: BENCH_USERS must be 8 or more" >&2; exit 1; }
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
if [ "$PERF" = 1 ] && ! command -v perf >/dev/null 2>&1; then
    echo "bench: perf is not installed (linux-perf); no profile" >&2
    PERF=0
fi
[ -d /dev/shm ] && [ -w /dev/shm ] || SHM=0

mkdir -p "$OUT"
# shellcheck disable=SC2046 # pkg-config output is meant to split into words
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
    -o "$OUT/argon2_ceiling" bench/argon2_ceiling.c $(pkg-config --cflags --libs libargon2) \
    -lpthread

tmp=$(mktemp -d /tmp/gh-flows.XXXXXX)
shm=""
pids=""
cleanup() {
    stop_all
    rm -rf "$tmp"
    [ -z "$shm" ] || rm -rf "$shm"
}
trap cleanup EXIT
trap 'exit 130' HUP INT PIPE TERM

HZ=$(getconf CLK_TCK)
NCPU=$(getconf _NPROCESSORS_ONLN)
# snap PID -> "server_ticks machine_busy_ticks machine_total_ticks uptime_s"
snap() {
    s=$(awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0)
    m=$(awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat)
    echo "$s $m $(cut -d' ' -f1 /proc/uptime)"
}
# usage BEFORE AFTER N -> "cpu_ms=<server CPU ms per unit of N> server_cores=<avg busy cores>
#                          machine_busy=<% of all cores busy>"
usage() {
    echo "$1 $2 $3" | awk -v hz="$HZ" -v ncpu="$NCPU" '{
        st = $5 - $1; mb = $6 - $2; mt = $7 - $3; secs = $8 - $4
        printf "cpu_ms=%.3f server_cores=%.2f machine_busy=%.0f", ($9 ? st * 1000 / hz / $9 : 0),
            (secs > 0 ? st / hz / secs : 0), (mt > 0 ? 100 * mb / mt : 0) }'
}
# kids_mark FILE: the shell's `times` (CPU time of the children it has reaped) into FILE. Not in
# a $(…) subshell: that would report the subshell's children.
# others BEFORE_SNAP AFTER_SNAP KIDS_FILE0 KIDS_FILE1 -> "wrk_cores=… other_cores=…": the load
# generator's cores and what the rest of the machine (other users) took meanwhile
others() {
    echo "$1 $2 $(kids_cpu "$3") $(kids_cpu "$4")" | awk -v hz="$HZ" -v ncpu="$NCPU" '{
        secs = $8 - $4; st = ($5 - $1) / hz; mb = $6 - $2; mt = $7 - $3
        w = secs > 0 ? ($10 - $9) / secs : 0
        o = (mt > 0 ? ncpu * mb / mt : 0) - (secs > 0 ? st / secs : 0) - w
        printf "wrk_cores=%.2f other_cores=%.2f", w, (o < 0 ? 0 : o) }'
}
# kv NAME LINE: "NAME k=v ..." from wrk/done() output, dropping the leading word
kv() {
    echo "$1 ${2#* }"
}
export GATEHOUSE_ARGON2_MEMORY_KIB="${BENCH_ARGON2_M:-19456}"
export GATEHOUSE_ARGON2_ITERATIONS="${BENCH_ARGON2_T:-2}"
export GATEHOUSE_ARGON2_PARALLELISM=1
export GATEHOUSE_TEMPLATES="$ROOT/templates" GATEHOUSE_STATIC="$ROOT/static"
export GATEHOUSE_LOG_LEVEL=warn
gh() {
    "$BIN" --db "$tmp/gh.db" --keys "$tmp/keys" "$@"
}

# --- set-up ----------------------------------------------------------------------------------
load0=$(cut -d' ' -f1-3 /proc/loadavg)
# how busy the machine is with nothing of ours running (3 s)
idle0=$(awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat)
sleep 3
idle1=$(awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat)
busy0=$(echo "$idle0 $idle1" | awk -v n="$NCPU" '{ printf "%.2f", ($4 > $2 ? n * ($3 - $1) / ($4 - $2) : 0) }')
gh init >"$tmp/init.log" 2>&1 || { cat "$tmp/init.log" >&2; exit 1; }
# two `user add` at a time: each one hashes a password
i=1
while [ "$i" -le "$NUSERS" ]; do
    for j in "$i" $((i + 1)); do
        [ "$j" -le "$NUSERS" ] || continue
        u=$(printf 'bench%02d' "$j")
        printf 'bench-password-%02d-x\n' "$j" |
            gh user add "$u" --email "$u@example.org" --password-stdin >>"$tmp/users.log" 2>&1 &
    done
    wait
    i=$((i + 2))
done
[ "$(grep -c '^added user' "$tmp/users.log")" = "$NUSERS" ] ||
    { cat "$tmp/users.log" >&2; exit 1; }
REDIRECT=http://127.0.0.1:9/cb
gh client add bench --redirect-uri "$REDIRECT" --json >"$tmp/client.json"
SECRET=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' \
    <"$tmp/client.json")
AUTH="Basic $(printf 'bench:%s' "$SECRET" | base64 -w0)"
# one PKCE pair for all flows (RFC 7636 §4.1-4.2)
VERIFIER=bench-pkce-verifier-0123456789abcdefghijklmnopqrstuvwxyz
CHALLENGE=$("$PY" -c 'import base64,hashlib,sys
print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).decode().rstrip("="))' \
    "$VERIFIER")

start_gh() { # start_gh DB KEYS PORTFILE LOG -> ghpid
    rm -f "$3"
    # not through gh(): $! must be gatehouse itself, not a subshell
    "$BIN" --db "$1" --keys "$2" serve --listen 127.0.0.1:0 --port-file "$3" >"$4" 2>&1 &
    ghpid=$!
    pids="$pids $ghpid"
    wait_file "$3"
}
start_gh "$tmp/gh.db" "$tmp/keys" "$tmp/gh.port" "$tmp/gh.log"
gh_pid=$ghpid
GH=http://127.0.0.1:$(cat "$tmp/gh.port")

# Sessions for the sso runs (one per wrk thread, different users), two sets of refresh tokens
# (a set is spent by the run that rotates it) and an access token for userinfo, made here so
# that no password hash and no set-up request falls inside a measurement.
"$PY" - "$GH" "$REDIRECT" "$AUTH" "$VERIFIER" "$CHALLENGE" "$tmp" 8 $((TCONNS * 2)) <<'EOF'
import re, sys, requests
gh, redirect, auth, verifier, challenge, tmp = sys.argv[1:7]
nsess, ntok = int(sys.argv[7]), int(sys.argv[8])
q = {"response_type": "code", "client_id": "bench", "redirect_uri": redirect,
     "scope": "openid profile email", "code_challenge": challenge,
     "code_challenge_method": "S256"}

def code_of(r, state):
    assert r.status_code in (302, 303), (r.status_code, r.text[:200])
    loc = r.headers["Location"]
    assert "state=" + state in loc, loc
    return re.search(r"[?&]code=([^&]+)", loc).group(1)

def login(n):
    st = "prep%d" % n
    r = requests.get(gh + "/authorize", params=dict(q, state=st), allow_redirects=False)
    assert r.status_code == 200, (r.status_code, r.text[:200])
    bind = r.cookies["gh_login"]
    iid = re.search(r'name="interaction" value="([^"]+)"', r.text).group(1)
    csrf = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
    r = requests.post(gh + "/login", cookies={"gh_login": bind}, allow_redirects=False,
                      data={"interaction": iid, "csrf": csrf, "username": "bench%02d" % n,
                            "password": "bench-password-%02d-x" % n})
    return r.cookies["gh_session"], code_of(r, st)

def token(code):
    r = requests.post(gh + "/token", headers={"Authorization": auth},
                      data={"grant_type": "authorization_code", "code": code,
                            "redirect_uri": redirect, "code_verifier": verifier})
    assert r.status_code == 200, (r.status_code, r.text[:200])
    return r.json()

def write(name, lines):
    with open(tmp + "/" + name, "w") as f:
        f.write("\n".join(lines) + "\n")

sessions = []
for n in range(1, nsess + 1):
    s, code = login(n)
    sessions.append(s)
    t = token(code)
write("sessions", sessions)
write("access_token", [t["access_token"]])
refresh = []
for n in range(2 * ntok):
    st = "rt%d" % n
    r = requests.get(gh + "/authorize", params=dict(q, state=st), allow_redirects=False,
                     cookies={"gh_session": sessions[n % len(sessions)]})
    refresh.append(token(code_of(r, st))["refresh_token"])
write("refresh_a", refresh[:ntok])
write("refresh_b", refresh[ntok:])
EOF

export GH_BENCH_DIR="$ROOT/bench" GH_CLIENT_ID=bench GH_AUTH="$AUTH" GH_REDIRECT="$REDIRECT"
export GH_CHALLENGE="$CHALLENGE" GH_VERIFIER="$VERIFIER" GH_USERS="$NUSERS"
export GH_USER_FMT='bench%02d' GH_PASSWORD_FMT='bench-password-%02d-x'
export GH_SESSIONS="$tmp/sessions"

: >"$tmp/results"
# flow MODE CONNS NAME [URL PID]: one wrk run of bench/flow.lua; appends "NAME <done() fields>
# cpu_ms=… server_cores=… machine_busy=… wrk_cores=… other_cores=…"
flow() {
    url=${4:-$GH} pid=${5:-$gh_pid}
    sleep 1   # let the previous run's connections go
    s0=$(snap "$pid")
    kids_mark "$tmp/k0"
    GH_MODE=$1 GH_THREADS=$2 timeout 60 wrk -t"$2" -c"$2" -d"$DUR" --timeout 10s \
        -s bench/flow.lua "$url/" >"$tmp/$3.out" 2>&1 || { cat "$tmp/$3.out" >&2; exit 1; }
    kids_mark "$tmp/k1"
    s1=$(snap "$pid")
    line=$(grep '^flows ' "$tmp/$3.out") || { cat "$tmp/$3.out" >&2; exit 1; }
    echo "$(kv "$3" "$line") $(usage "$s0" "$s1" "$(get flows "$line")")" \
        "$(others "$s0" "$s1" "$tmp/k0" "$tmp/k1")" >>"$tmp/results"
    [ "$(get errors "$line")" = 0 ] || echo "bench: $3: $line" >&2
}

argon2() { # argon2 NAME THREADS SECONDS
    "$OUT/argon2_ceiling" -m "$GATEHOUSE_ARGON2_MEMORY_KIB" -t "$GATEHOUSE_ARGON2_ITERATIONS" \
        -n "$2" -s "$3" | awk -v n="$1" '{ printf "%s", n; for (i = 1; i < NF; i += 2)
            printf " %s=%s", $i, $(i + 1); print "" }' >>"$tmp/results"
}

# --- 1. the Argon2 ceiling and first logins --------------------------------------------------
# one RS256 signature, for the SSO bound (the same key size gatehouse generates)
openssl speed -seconds 2 rsa2048 2>/dev/null |
    awk '/^rsa 2048 bits/ { printf "rsa2048 sign_ms=%.3f verify_ms=%.3f\n", $4 * 1000, $5 * 1000 }' \
    >>"$tmp/results"
# each ceiling right next to the run it is compared with: other load on the machine drifts
argon2 argon2_single 1 3
flow first 1 first_c1
argon2 argon2_before "$NCPU" "$A2S"
flow first 8 first_c8
argon2 argon2_after "$NCPU" "$A2S"

# --- 2. SSO ----------------------------------------------------------------------------------
flow sso 1 sso_c1
flow sso 8 sso_c8

if [ "$SHM" = 1 ]; then
    # the same server and data with the database in memory: what the disk costs
    shm=$(mktemp -d /dev/shm/gh-flows.XXXXXX)
    "$PY" -c 'import sqlite3, sys
src = sqlite3.connect(sys.argv[1]); dst = sqlite3.connect(sys.argv[2]); src.backup(dst)
dst.close(); src.close()' "$tmp/gh.db" "$shm/gh.db"
    cp -a "$tmp/keys" "$shm/keys"
    start_gh "$shm/gh.db" "$shm/keys" "$tmp/shm.port" "$tmp/shm.log"
    shm_pid=$ghpid
    flow sso 8 sso_c8_shm "http://127.0.0.1:$(cat "$tmp/shm.port")" "$shm_pid"
    stop_pid "$shm_pid"
fi

# profile NAME SECONDS: perf record of gatehouse while a wrk run started just before is going
# (dwarf unwinding: libcrypto and gatehouse have no frame pointers); on-CPU samples only
profile() {
    sleep 0.5
    perf record -q -F 499 --call-graph dwarf,16384 -p "$gh_pid" -o "$tmp/$1.data" -- \
        sleep "$2" >"$tmp/$1.perf.log" 2>&1 || { cat "$tmp/$1.perf.log" >&2; return 1; }
}
if [ "$PERF" = 1 ]; then
    sleep 1
    # system calls counted over the whole run, to put them per flow
    perf stat -x, -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync \
        -e syscalls:sys_enter_clock_nanosleep -p "$gh_pid" -o "$tmp/perf_sso_stat.txt" -- \
        sleep 10 >/dev/null 2>&1 &
    stat_pid=$!
    pids="$pids $stat_pid"
    sleep 0.3
    GH_MODE=sso GH_THREADS=8 timeout 60 wrk -t8 -c8 -d9s --timeout 10s -s bench/flow.lua \
        "$GH/" >"$tmp/sso_perf.out" 2>&1 &
    wrk_pid=$!
    pids="$pids $wrk_pid"
    profile perf_sso 4 || PERF=0
    # and where the HTTP threads wait instead: every commit is an fdatasync of the WAL; a
    # writer that finds the write lock taken waits in a futex (a mutex) or, in SQLite's busy
    # handler, in clock_nanosleep
    timeout 20 perf trace -s -e fdatasync,clock_nanosleep,futex -p "$gh_pid" -- sleep 3 \
        >"$tmp/perf_sso_trace.txt" 2>&1 || true
    wait "$wrk_pid" || true
    stop_pid "$wrk_pid"
    wait "$stat_pid" || true
    stop_pid "$stat_pid"
    echo "$(kv sso_c8_perf "$(grep '^flows ' "$tmp/sso_perf.out")") $(awk -F, '
        $3 ~ /fdatasync|fsync/ { s += $1 } $3 ~ /clock_nanosleep/ { n += $1 }
        END { printf "syncs=%d sleeps=%d", s, n }' "$tmp/perf_sso_stat.txt")" >>"$tmp/results"
fi

# --- 3. token endpoint latency, alone and under first-login load -----------------------------
token_run() { # token_run NAME TOKENFILE
    sleep 1
    GH_TOKENS=$2 GH_THREADS=$TCONNS GH_DELAY_MS=$TDELAY timeout 60 wrk -t"$TCONNS" \
        -c"$TCONNS" -d"$DUR" --timeout 10s -s bench/refresh.lua "$GH/" >"$tmp/$1.out" 2>&1 ||
        { cat "$tmp/$1.out" >&2; exit 1; }
    line=$(grep '^token ' "$tmp/$1.out") || { cat "$tmp/$1.out" >&2; exit 1; }
    kv "$1" "$line" >>"$tmp/results"
    [ "$(get errors "$line")" = 0 ] || echo "bench: $1: $line" >&2
}
token_run token_alone "$tmp/refresh_a"
sleep 1
# the login load starts 1.5 s before the token run and ends about 1.5 s after it
bg_dur=$((${DUR%s} + 3))s
s0=$(snap "$gh_pid")
GH_MODE=first GH_THREADS=8 timeout 60 wrk -t8 -c8 -d"$bg_dur" --timeout 10s -s bench/flow.lua \
    "$GH/" >"$tmp/first_bg.out" 2>&1 &
bg_pid=$!
pids="$pids $bg_pid"
sleep 0.5   # token_run sleeps another second: the workers are saturated by then
token_run token_under_logins "$tmp/refresh_b"
wait "$bg_pid" || true
stop_pid "$bg_pid"
s1=$(snap "$gh_pid")
line=$(grep '^flows ' "$tmp/first_bg.out")
echo "$(kv first_c8_background "$line") $(usage "$s0" "$s1" 0)" >>"$tmp/results"

# --- 4. userinfo -----------------------------------------------------------------------------
AT=$(cat "$tmp/access_token")
sleep 1
s0=$(snap "$gh_pid")
kids_mark "$tmp/k0"
timeout 60 wrk -t2 -c32 -d"$DUR" --latency -H "Authorization: Bearer $AT" "$GH/userinfo" \
    >"$tmp/userinfo.out" 2>&1 || { cat "$tmp/userinfo.out" >&2; exit 1; }
kids_mark "$tmp/k1"
s1=$(snap "$gh_pid")
n=$(awk '/ requests in / { print $1 }' "$tmp/userinfo.out")
echo "userinfo $(awk '
    /Requests\/sec:/ { rps = $2 }
    $1 == "50%" { p50 = $2 }
    $1 == "99%" { p99 = $2 }
    /Non-2xx/ { bad = $NF }
    END { printf "rps=%s p50=%s p99=%s non2xx=%d", rps, p50, p99, bad }' "$tmp/userinfo.out") \
$(usage "$s0" "$s1" "$n") $(others "$s0" "$s1" "$tmp/k0" "$tmp/k1")" >>"$tmp/results"
# wrk -c32 sits at the default per-IP limit (32): a connection of an earlier run not yet reaped
# makes one refused connect, which wrk reports as a read error and then reconnects
grep 'Socket errors' "$tmp/userinfo.out" | sed 's/^ */bench: userinfo: /' >&2 || true
if [ "$PERF" = 1 ]; then
    sleep 1
    timeout 60 wrk -t2 -c32 -d5s -H "Authorization: Bearer $AT" "$GH/userinfo" \
        >"$tmp/userinfo_perf.out" 2>&1 &
    wrk_pid=$!
    pids="$pids $wrk_pid"
    profile perf_userinfo 3 || PERF=0
    wait "$wrk_pid" || true
    stop_pid "$wrk_pid"
fi

stop_pid "$gh_pid"

# --- report ----------------------------------------------------------------------------------
# Profiles: inclusive time ("children") of the frames that say where a request's CPU goes,
# and self time by library. Unresolved libcrypto addresses are its assembler bignum routines.
perf_summary() { # perf_summary NAME
    d=$tmp/$1.data
    perf report -i "$d" --stdio --no-children --sort dso -g none 2>/dev/null |
        awk '!/^#/ && NF { printf "    %-8s %s\n", $1, $2 }' | head -n 8 >"$tmp/$1.dso.txt"
    # gatehouse's own frames and the library calls that matter, inclusive of what they call
    perf report -i "$d" --stdio --children --sort dso,sym -g none 2>/dev/null |
        awk 'BEGIN { split("RSA_sign RSA_verify EVP_DigestVerifyInit EVP_DigestSignInit " \
                           "sqlite3_step __GI_fdatasync __libc_sendmsg __libc_recv " \
                           "json_loadb json_dumpb json_dumps", k, " ")
                     for (i in k) keep[k[i]] = 1 }
             !/^#/ && NF >= 5 && ($3 == "gatehouse" || $5 in keep) {
                 printf "    %-8s %-8s %-14s %s\n", $1, $2, $3, $5 }' |
        head -n 30 >"$tmp/$1.sym.txt"
}
if [ "$PERF" = 1 ]; then
    perf_summary perf_sso
    perf_summary perf_userinfo
fi
if [ -n "$KEEP" ]; then
    mkdir -p "$KEEP"
    cp "$tmp"/*.out "$tmp/results" "$KEEP/"
    if [ "$PERF" = 1 ]; then
        cp "$tmp"/*.dso.txt "$tmp"/*.sym.txt "$tmp/perf_sso_trace.txt" "$KEEP/"
        for p in perf_sso perf_userinfo; do
            perf report -i "$tmp/$p.data" --stdio --children --sort sym -G \
                --percent-limit 2 >"$KEEP/$p.callgraph.txt" 2>/dev/null || true
        done
    fi
fi

echo "before the runs, with nothing of ours running: $busy0 of $NCPU cores busy (load average" \
    "$load0; after the runs: $(cut -d' ' -f1-3 /proc/loadavg))"
"$PY" - "$tmp/results" "$GATEHOUSE_ARGON2_MEMORY_KIB" "$GATEHOUSE_ARGON2_ITERATIONS" "$NCPU" <<'EOF'
import sys
rows = {}
for line in open(sys.argv[1]):
    w = line.split()
    rows[w[0]] = dict(x.split("=", 1) for x in w[1:] if "=" in x)
m, t, ncpu = sys.argv[2], sys.argv[3], int(sys.argv[4])
f = lambda k, f: float(rows[k][f])
a2 = [f(k, "hashes_per_s") for k in ("argon2_before", "argon2_after")]
ceil = sum(a2) / 2
single = f("argon2_single", "hashes_per_s")
hash_cpu = (f("argon2_before", "cpu_ms_per_hash") + f("argon2_after", "cpu_ms_per_hash")) / 2
print()
print("Argon2id m=%s KiB t=%s p=1: %d threads %.1f hashes/s (before %.1f, after %.1f), "
      "1 thread %.1f hashes/s; %.1f ms CPU per hash" % (m, t, ncpu, ceil, a2[0], a2[1], single,
                                                        hash_cpu))
sign = f("rsa2048", "sign_ms")
print("RS256 (RSA-2048) signature: %.2f ms -> two per flow bound SSO at %.0f flows/s on %d cores"
      % (sign, ncpu * 1000 / (2 * sign), ncpu))
print()
print("cores busy during each run (of %d): srv = gatehouse, wrk = the load generator, others = the"
      % ncpu)
print("rest of the machine (other users' processes, kernel threads such as I/O writeback)")
hdr = ("run", "flows/s", "flows", "p50 ms", "p99 ms", "srv CPU ms/flow", "srv", "wrk", "others",
       "errors")
print("%-18s %8s %6s %8s %8s %15s %5s %5s %6s %6s" % hdr)
for k in ("first_c1", "first_c8", "sso_c1", "sso_c8", "sso_c8_shm"):
    if k not in rows:
        continue
    r = rows[k]
    print("%-18s %8s %6s %8s %8s %15.2f %5s %5s %6s %6s" % (
        k, r["flows_per_s"], r["flows"], r["p50_ms"], r["p99_ms"], float(r["cpu_ms"]),
        r["server_cores"], r["wrk_cores"], r["other_cores"], r["errors"]))
if "sso_c8_perf" in rows:
    r = rows["sso_c8_perf"]
    n = float(r["flows"]) or 1
    print("%-18s %8s  (under perf record: %.1f fsync/fdatasync and %.2f busy-handler sleeps per "
          "flow)" % ("sso_c8_perf", r["flows_per_s"], int(r["syncs"]) / n, int(r["sleeps"]) / n))
print()
print("first logins against the Argon2 ceiling:")
print("  c8: %.0f %% of %.1f hashes/s (%d threads)" % (
    100 * f("first_c8", "flows_per_s") / ceil, ceil, ncpu))
print("  c1: %.0f %% of %.1f hashes/s (1 thread: one browser waits for one hash at a time)" % (
    100 * f("first_c1", "flows_per_s") / single, single))
print("  CPU: a first-login flow costs the server %.1f ms, the hash alone %.1f ms (%.0f %%)" % (
    f("first_c8", "cpu_ms"), hash_cpu, 100 * hash_cpu / f("first_c8", "cpu_ms")))
print()
for k, label in (("token_alone", "token (refresh) alone"),
                 ("token_under_logins", "token, 8 first logins running")):
    r = rows[k]
    print("%-30s p50 %7s ms  p99 %8s ms  max %8s ms  %7s req/s  errors %s" % (
        label, r["p50_ms"], r["p99_ms"], r["max_ms"], r["rps"], r["errors"]))
b = rows["first_c8_background"]
print("first logins meanwhile: %s flows/s (%s errors); machine busy %s%%" % (
    b["flows_per_s"], b["errors"], b["machine_busy"]))
print()
u = rows["userinfo"]
print("userinfo wrk -t2 -c32: %s req/s, p50 %s, p99 %s, non-2xx %s; server %.0f us CPU per "
      "request; cores busy: srv %s, wrk %s, others %s" % (u["rps"], u["p50"], u["p99"],
      u["non2xx"], 1000 * float(u["cpu_ms"]), u["server_cores"], u["wrk_cores"],
      u["other_cores"]))
srv, wrk, oth = (float(u[k]) for k in ("server_cores", "wrk_cores", "other_cores"))
if oth > 0.1 and srv + wrk > 0:
    print("  (estimate for an otherwise idle machine, the others' cores shared like ours: "
          "%.0f req/s)" % (float(u["rps"]) * (srv + wrk + oth) / (srv + wrk)))
EOF
if [ "$PERF" = 1 ]; then
    for p in sso userinfo; do
        echo
        echo "perf, $p (server threads, on-CPU samples), self time by library:"
        cat "$tmp/perf_$p.dso.txt"
        echo "  inclusive time (children, self, library, symbol):"
        cat "$tmp/perf_$p.sym.txt"
    done
    echo
    echo "perf trace, sso c8, 3 s: time the HTTP threads spent in fdatasync, in SQLite's"
    echo "busy-handler sleeps (clock_nanosleep) and waiting for mutexes (futex):"
    awk '/\(([0-9]+)\), [0-9]+ events/ { t = $1 " " $2 }
         t ~ /^MHD-worker/ && ($1 == "fdatasync" || $1 == "clock_nanosleep" || $1 == "futex") {
             printf "    %-24s %-16s %6s calls %9s ms total, avg %7s ms, max %8s ms\n",
                 t, $1, $2, $4, $6, $7 }' "$tmp/perf_sso_trace.txt"
fi
