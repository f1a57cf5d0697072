#!/bin/sh
# bench/scale.sh — one and two gatehouse instances on PostgreSQL next to one on SQLite, on this
# machine (issue 7, "Speed"). `make bench-scale` runs it; results are in docs/benchmarks.md
# ("Scale-out: one and two instances on PostgreSQL").
#
#   configurations   sqlite-1      one instance on a SQLite file, reached directly
#                    pg-1          one instance on PostgreSQL, reached directly
#                    pg-1-nginx    the same instance through nginx (round-robin upstream of one)
#                    pg-2-nginx    that instance and a second one on the same database, through
#                                  nginx (round-robin upstream of two)
#   workloads        cc_es256 / cc_rs256   POST /token grant_type=client_credentials,
#                                  client_secret_basic, a client whose access tokens are ES256 /
#                                  RS256 (bench/cc.lua), wrk -t2 -c32
#                    sso           GET /authorize with a session cookie -> 302 + code ->
#                                  POST /token (bench/flow.lua GH_MODE=sso), wrk -t8 -c8
#                    first         GET /authorize -> form -> POST /login (Argon2id) -> 303 + code
#                                  -> POST /token, a fresh browser every flow (GH_MODE=first),
#                                  wrk -t8 -c8
#
# The two PostgreSQL instances share only what a real deployment shares (docs/deployment.md,
# "Several instances"): the database (a throw-away cluster from tests/tools/pgtmp.py, fsync on)
# and the key-encryption key file. Both have the balancer's URL as issuer and trusted_proxies =
# 127.0.0.1. nginx (one worker) keeps connections to the instances open (`keepalive`, as
# docs/deployment.md recommends). Every instance runs with max_connections_per_ip = 256: wrk is
# one address that opens 32 connections (plus the runs' own) when it talks to an instance
# directly; behind nginx the balancer is a trusted proxy, which that limit leaves out anyway.
#
# Per run: requests/s (flows/s), p50/p99 latency, the CPU time (utime + stime from /proc) of the
# gatehouse processes, of the PostgreSQL processes (the postmaster and all its children: the
# backends serving gatehouse's connections, the WAL writer, the checkpointer …) and of nginx
# (master and worker), per request or per flow; the cores each of them, wrk and the rest of the
# machine kept busy; how busy the whole machine was; for PostgreSQL runs the transactions and
# WAL fsyncs per request (pg_stat_database, pg_stat_wal); behind two instances, how nginx split
# the requests. The Argon2id cost is flows.sh's (m=19456 KiB, t=2, p=1) unless BENCH_ARGON2_M /
# BENCH_ARGON2_T say otherwise. Everything runs on loopback in throw-away mktemp directories;
# only processes started here are stopped (by PID; the cluster by tests/tools/pgtmp.py, which
# stops its postmaster by PID).
#
# Environment: GATEHOUSE_BIN (default ./gatehouse), BENCH_SCALE_DURATION (8s per run),
# BENCH_SCALE_FLOW_CONNS (8), BENCH_SCALE_ROUNDS (1: how many times the whole series runs; the
# table lists every round), BENCH_USERS (16, at least BENCH_SCALE_FLOW_CONNS),
# BENCH_KEEP (a directory to copy the wrk outputs, raw results and server logs to).
# Needs wrk, nginx (nginx-light), PostgreSQL 15 (postgresql), curl, Debian's python3 with
# requests. Takes about 3.5 minutes.
set -eu

cd "$(dirname "$0")/.."
. bench/lib.sh
ROOT=$(pwd)
BIN=${GATEHOUSE_BIN:-./gatehouse}
DUR=${BENCH_SCALE_DURATION:-8s}
FCONNS=${BENCH_SCALE_FLOW_CONNS:-8}
ROUNDS=${BENCH_SCALE_ROUNDS:-1}
NUSERS=${BENCH_USERS:-16}
KEEP=${BENCH_KEEP:-}
PY=/usr/bin/python3
NGINX=${GATEHOUSE_NGINX:-/usr/sbin/nginx}
PGBIN=${GATEHOUSE_PGBIN:-/usr/lib/postgresql/15/bin}

for tool in wrk curl psql "$PY"; do
    command -v "$tool" >/dev/null 2>&1 ||
        { echo "bench: $tool is missing (make bench-deps; psql: make test-deps)" >&2; exit 1; }
done
[ -x "$NGINX" ] || { echo "bench: $NGINX is missing (make bench-deps: nginx-light)" >&2; exit 1; }
[ -x "$PGBIN/postgres" ] ||
    { echo "bench: $PGBIN/postgres is missing (make test-deps: postgresql)" >&2; exit 1; }
"$PY" -c 'import requests' 2>/dev/null ||
    { echo "bench: python3-requests is missing (make test-deps)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "bench: $BIN not built (make)" >&2; exit 1; }
if ! [ "$FCONNS" -ge 1 ] 2>/dev/null || ! [ "$NUSERS" -ge "$FCONNS" ] 2>/dev/null; then
    echo "bench: BENCH_USERS must be at least BENCH_SCALE_FLOW_CONNS ($FCONNS)" >&2
    exit 1
fi
case ${DUR%s} in '' | *[!0-9]*)
    echo "bench: BENCH_SCALE_DURATION must be whole seconds, like 8s" >&2; exit 1 ;;
esac
case $ROUNDS in '' | *[!0-9]* | 0)
    echo "bench: BENCH_SCALE_ROUNDS must be 1 or more" >&2; exit 1 ;;
esac
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac

tmp=$(mktemp -d /tmp/gh-scale.XXXXXX)
# the cluster's own directory: pgtmp.py hands it to the postgres user when we are root, which
# could not enter $tmp (0700)
pgdir=$(mktemp -d /tmp/gh-scale-pg.XXXXXX)
pg_up=0
pids=""
cleanup() {
    stop_all
    if [ "$pg_up" = 1 ]; then
        "$PY" tests/tools/pgtmp.py stop "$pgdir" || true
    fi
    rm -rf "$tmp" "$pgdir"
}
trap cleanup EXIT
trap 'exit 130' HUP INT PIPE TERM

HZ=$(getconf CLK_TCK)
NCPU=$(getconf _NPROCESSORS_ONLN)
# ticks PID... -> utime + stime of these processes and of their children, in clock ticks (one
# level down: PostgreSQL's backends and helpers are the postmaster's children, nginx's worker
# its master's). All threads of a process are in its /proc/PID/stat. The command name (field 2)
# may hold spaces and parentheses, so the fields are counted after its last ")".
ticks() {
    # shellcheck disable=SC2086 # the glob is meant to expand; cat skips processes that ended
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v want=" $* " '{
        pid = $1; rest = $0; sub(/^.*\) /, "", rest); split(rest, f, " ")
        # f[1] state, f[2] ppid, f[12] utime, f[13] stime
        if (index(want, " " pid " ") || index(want, " " f[2] " ")) t += f[12] + f[13]
    } END { print t + 0 }'
}
machine() { # machine -> "busy_ticks total_ticks" over all cores, from /proc/stat
    awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}
# snap -> "gh_ticks pg_ticks nginx_ticks machine_busy machine_total uptime_s"
snap() {
    # shellcheck disable=SC2086 # lists of PIDs
    echo "$(ticks $gh_pids) $(ticks $pg_pid) $(ticks $ngx_pid) $(machine) $(cut -d' ' -f1 /proc/uptime)"
}
# kids_mark FILE: the shell's `times` (CPU of the children it has reaped: wrk) into FILE. Not in
# a $(…) subshell: that would report the subshell's children.
# usage BEFORE AFTER KIDS0 KIDS1 N -> "gh_us=… pg_us=… ngx_us=… gh_cores=… pg_cores=…
# ngx_cores=… wrk_cores=… other_cores=… machine_busy=…": CPU µs per unit of N and average busy
# cores of each party; others = what the rest of the machine (other users, kernel threads) took
usage() {
    echo "$1 $2 $(kids_cpu "$3") $(kids_cpu "$4") $5" | awk -v hz="$HZ" -v ncpu="$NCPU" '{
        secs = $12 - $6; n = $15
        g = ($7 - $1) / hz; p = ($8 - $2) / hz; x = ($9 - $3) / hz; w = $14 - $13
        mb = $10 - $4; mt = $11 - $5
        busy = mt > 0 ? ncpu * mb / mt : 0
        o = secs > 0 ? busy - (g + p + x + w) / secs : 0
        printf "gh_us=%.0f pg_us=%.0f ngx_us=%.0f ", (n ? g * 1e6 / n : 0), (n ? p * 1e6 / n : 0),
            (n ? x * 1e6 / n : 0)
        printf "gh_cores=%.2f pg_cores=%.2f ngx_cores=%.2f wrk_cores=%.2f other_cores=%.2f ",
            (secs > 0 ? g / secs : 0), (secs > 0 ? p / secs : 0), (secs > 0 ? x / secs : 0),
            (secs > 0 ? w / secs : 0), (o < 0 ? 0 : o)
        printf "machine_busy=%.0f", (mt > 0 ? 100 * mb / mt : 0) }'
}
# pgstat -> "commits wal_syncs" of the whole cluster (the statistics of a backend reach these
# views when it goes idle, at most once a second: read them after a pause)
pgstat() {
    psql -X -q -A -t -F ' ' -d "$PG_ADMIN" -c "SELECT (SELECT sum(xact_commit) FROM
        pg_stat_database), (SELECT wal_sync FROM pg_stat_wal)"
}
# idle ticks of the whole machine over 3 s, before anything of ours runs
m0=$(machine)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
sleep 3
busy0=$(echo "$m0 $(machine)" |
    awk -v n="$NCPU" '{ printf "%.2f", ($4 > $2 ? n * ($3 - $1) / ($4 - $2) : 0) }')

export GATEHOUSE_ARGON2_MEMORY_KIB="${BENCH_ARGON2_M:-19456}"
export GATEHOUSE_ARGON2_ITERATIONS="${BENCH_ARGON2_T:-2}"
export GATEHOUSE_ARGON2_PARALLELISM=1
export GATEHOUSE_TEMPLATES="$ROOT/templates" GATEHOUSE_STATIC="$ROOT/static"
export GATEHOUSE_LOG_LEVEL=warn
RESOURCE=https://api.example/
REDIRECT=http://127.0.0.1:9/cb
# one PKCE pair for all flows (RFC 7636 §4.1-4.2), as bench/flows.sh
VERIFIER=bench-pkce-verifier-0123456789abcdefghijklmnopqrstuvwxyz
CHALLENGE=$("$PY" -c 'import base64,hashlib,sys
print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).decode().rstrip("="))' \
    "$VERIFIER")
# two free loopback ports for nginx's listeners (upstream of one, upstream of two)
# shellcheck disable=SC2046 # two numbers
set -- $("$PY" -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
LB1=http://127.0.0.1:$1
LB2=http://127.0.0.1:$2
# the PostgreSQL realm's one issuer: the two-instance balancer's URL
PG_ISSUER=$LB2

# --- set-up ----------------------------------------------------------------------------------
# realm NAME ISSUER ARGS...: init a realm with `gatehouse ARGS... init [--issuer ISSUER]` (none:
# the server's listen address), NUSERS users, the browser
# client "bench", the client_credentials clients cc-es256 / cc-rs256 and their resource. The
# answers of `client add --json` are in $tmp/NAME-*.json.
realm() {
    r=$1 iss=$2
    shift 2
    if [ -n "$iss" ]; then
        "$BIN" "$@" init --issuer "$iss" >"$tmp/$r-init.log" 2>&1
    else
        "$BIN" "$@" init >"$tmp/$r-init.log" 2>&1
    fi || { cat "$tmp/$r-init.log" >&2; exit 1; }
    # two `user add` at a time: each one hashes a password (waited for by PID: a server
    # started earlier is a child of this shell too)
    i=1
    while [ "$i" -le "$NUSERS" ]; do
        adds=""
        for j in "$i" $((i + 1)); do
            [ "$j" -le "$NUSERS" ] || continue
            u=$(printf 'bench%02d' "$j")
            printf 'bench-password-%02d-x\n' "$j" |
                "$BIN" "$@" user add "$u" --email "$u@example.org" --password-stdin \
                >>"$tmp/$r-users.log" 2>&1 &
            adds="$adds $!"
        done
        for p in $adds; do
            wait "$p" || true   # counted below
        done
        i=$((i + 2))
    done
    [ "$(grep -c '^added user' "$tmp/$r-users.log")" = "$NUSERS" ] ||
        { cat "$tmp/$r-users.log" >&2; exit 1; }
    "$BIN" "$@" client add bench --redirect-uri "$REDIRECT" --json >"$tmp/$r-bench.json"
    "$BIN" "$@" resource add "$RESOURCE" --scopes read >>"$tmp/$r-init.log" 2>&1 ||
        { cat "$tmp/$r-init.log" >&2; exit 1; }
    for a in es256 rs256; do
        "$BIN" "$@" client add "cc-$a" --grant-types client_credentials \
            --signing-alg "$(echo "$a" | tr '[:lower:]' '[:upper:]')" --json >"$tmp/$r-cc-$a.json"
        "$BIN" "$@" resource allow "$RESOURCE" "cc-$a" --scopes read >>"$tmp/$r-init.log" 2>&1 ||
            { cat "$tmp/$r-init.log" >&2; exit 1; }
    done
}
basic() { # basic CLIENT FILE -> an Authorization header value (client_secret_basic)
    printf 'Basic %s' "$(printf '%s:%s' "$1" "$(secret_of "$2")" | base64 -w0)"
}
# start_gh NAME ARGS...: `gatehouse ARGS... serve` on a free loopback port -> ghpid, $tmp/NAME.port
start_gh() {
    n=$1
    shift
    rm -f "$tmp/$n.port"
    # not through a function or subshell: $! must be gatehouse itself
    GATEHOUSE_MAX_CONNECTIONS_PER_IP=256 "$BIN" "$@" serve --listen 127.0.0.1:0 \
        --port-file "$tmp/$n.port" >"$tmp/$n.log" 2>&1 &
    ghpid=$!
    pids="$pids $ghpid"
    wait_file "$tmp/$n.port"
}

# SQLite realm and its instance
realm sqlite "" --db "$tmp/gh.db" --keys "$tmp/keys"
start_gh sqlite --db "$tmp/gh.db" --keys "$tmp/keys"
sq_pid=$ghpid
SQ=http://127.0.0.1:$(cat "$tmp/sqlite.port")

# PostgreSQL cluster, realm, and two instances sharing the database and the KEK file
"$PY" tests/tools/pgtmp.py start "$pgdir" >"$tmp/pg.dsn" 2>"$tmp/pg.err" ||
    { cat "$tmp/pg.err" >&2; exit 1; }
pg_up=1
DSN=$(cat "$tmp/pg.dsn")
PG_ADMIN=${DSN%/*}/postgres
pg_pid=$(cut -d' ' -f1 "$pgdir/pgtmp.pid")
PGA="--db $DSN --kek-file $tmp/kek.key"
# shellcheck disable=SC2086 # $PGA is two options and their values, none with spaces
realm pg "$PG_ISSUER" $PGA
export GATEHOUSE_TRUSTED_PROXIES=127.0.0.1
# shellcheck disable=SC2086
start_gh pg-a $PGA
pa_pid=$ghpid
# shellcheck disable=SC2086
start_gh pg-b $PGA
pb_pid=$ghpid
unset GATEHOUSE_TRUSTED_PROXIES
PA_PORT=$(cat "$tmp/pg-a.port")
PB_PORT=$(cat "$tmp/pg-b.port")
PA=http://127.0.0.1:$PA_PORT

# nginx, one worker, two listeners: $LB1 -> instance A only, $LB2 -> A and B round-robin.
# Keep-alive to the instances as docs/deployment.md's example (idle timeout below gatehouse's
# connection_timeout); the access log records which instance answered each request.
mkdir -p "$tmp/nginx/tmp"
temps=""
without=$("$NGINX" -V 2>&1 | tr ' ' '\n' | sed -n 's/^--without-http_\(.*\)_module$/\1/p')
for t in client_body proxy fastcgi uwsgi scgi; do
    echo "$without" | grep -qx "$t" || temps="$temps    ${t}_temp_path $tmp/nginx/tmp/$t;
"
done
user=""
[ "$(id -u)" != 0 ] || user="user $(id -un);"   # the default (nobody) cannot enter $tmp
# shellcheck disable=SC2016 # nginx's variables, not the shell's
ngx_location='        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
            proxy_redirect off;
            proxy_pass http://UPSTREAM;
        }'
cat >"$tmp/nginx/nginx.conf" <<EOF
# throw-away load balancer for bench/scale.sh
$user
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events {
    worker_connections 1024;
}
http {
    log_format up '\$status \$upstream_addr';
    access_log $tmp/nginx/access.log up;
$temps
    upstream one {
        server 127.0.0.1:$PA_PORT;
        keepalive 64;
        keepalive_timeout 10s;
    }
    upstream two {
        server 127.0.0.1:$PA_PORT max_fails=1 fail_timeout=10s;
        server 127.0.0.1:$PB_PORT max_fails=1 fail_timeout=10s;
        keepalive 64;
        keepalive_timeout 10s;
    }
    server {
        listen ${LB1#http://};
        server_tokens off;
$(echo "$ngx_location" | sed 's/UPSTREAM/one/')
    }
    server {
        listen ${LB2#http://};
        server_tokens off;
$(echo "$ngx_location" | sed 's/UPSTREAM/two/')
    }
}
EOF
"$NGINX" -p "$tmp/nginx" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" \
    -g 'daemon off;' >"$tmp/nginx/stderr" 2>&1 &
ngx_pid=$!
pids="$pids $ngx_pid"
i=0
until curl -s -o /dev/null "$LB1/healthz" && curl -s -o /dev/null "$LB2/healthz"; do
    i=$((i + 1))
    if [ "$i" -gt 500 ] || ! kill -0 "$ngx_pid" 2>/dev/null; then
        echo "bench: nginx did not start" >&2
        cat "$tmp/nginx/stderr" "$tmp/nginx/error.log" >&2
        exit 1
    fi
    sleep 0.02
done
gh_pids="$sq_pid $pa_pid $pb_pid"

# Sessions for the sso runs (one per wrk thread, different users), made before the runs so that
# no password hash falls inside them; each realm checked end to end on the way (a code redeemed
# for tokens). The PostgreSQL realm's sessions are made at instance A and used through nginx at
# either instance: they live in the database.
prep() { # prep NAME URL
    "$PY" - "$2" "$REDIRECT" "$(basic bench "$tmp/$1-bench.json")" "$VERIFIER" "$CHALLENGE" \
        "$FCONNS" >"$tmp/$1.sessions" <<'EOF'
import re, sys, requests
gh, redirect, auth, verifier, challenge, nsess = sys.argv[1:7]
q = {"response_type": "code", "client_id": "bench", "redirect_uri": redirect,
     "scope": "openid profile email", "code_challenge": challenge,
     "code_challenge_method": "S256"}
for n in range(1, int(nsess) + 1):
    st = "prep%d" % n
    r = requests.get(gh + "/authorize", params=dict(q, state=st), allow_redirects=False)
    assert r.status_code == 200, (r.status_code, r.text[:200])
    bind = r.cookies["gh_login"]
    iid = re.search(r'name="interaction" value="([^"]+)"', r.text).group(1)
    csrf = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
    r = requests.post(gh + "/login", cookies={"gh_login": bind}, allow_redirects=False,
                      data={"interaction": iid, "csrf": csrf, "username": "bench%02d" % n,
                            "password": "bench-password-%02d-x" % n})
    assert r.status_code == 303, (r.status_code, r.text[:200])
    loc = r.headers["Location"]
    assert "state=" + st in loc, loc
    code = re.search(r"[?&]code=([^&]+)", loc).group(1)
    t = requests.post(gh + "/token", headers={"Authorization": auth},
                      data={"grant_type": "authorization_code", "code": code,
                            "redirect_uri": redirect, "code_verifier": verifier})
    assert t.status_code == 200 and "id_token" in t.json(), (t.status_code, t.text[:200])
    print(r.cookies["gh_session"])
EOF
}
prep sqlite "$SQ"
prep pg "$PA"

# each client_credentials client once at every entry point (200, and the access token's alg)
check_cc() { # check_cc URL REALM ALG
    code=$(curl -s -o "$tmp/check.json" -w '%{http_code}' -H "Authorization: $(basic \
        "cc-$3" "$tmp/$2-cc-$3.json")" "$1/token" -d grant_type=client_credentials \
        --data-urlencode "resource=$RESOURCE")
    [ "$code" = 200 ] || { echo "bench: $1 cc-$3: HTTP $code $(cat "$tmp/check.json")" >&2; exit 1; }
    got=$("$PY" -c 'import base64,json,sys
t = json.load(sys.stdin)["access_token"].split(".")[0]
print(json.loads(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)))["alg"].lower())' \
        <"$tmp/check.json")
    [ "$got" = "$3" ] || { echo "bench: $1 cc-$3: access token alg $got" >&2; exit 1; }
}
for a in es256 rs256; do
    check_cc "$SQ" sqlite "$a"
    for u in "$PA" "$LB1" "$LB2"; do
        check_cc "$u" pg "$a"
    done
done

# --- runs ------------------------------------------------------------------------------------
export GH_BENCH_DIR="$ROOT/bench" GH_CLIENT_ID=bench GH_REDIRECT="$REDIRECT"
export GH_CHALLENGE="$CHALLENGE" GH_VERIFIER="$VERIFIER" GH_USERS="$NUSERS"
export GH_USER_FMT='bench%02d' GH_PASSWORD_FMT='bench-password-%02d-x'
: >"$tmp/results"
errs=0
# run CONFIG REALM URL WORKLOAD ROUND: one wrk run; appends "NAME k=v ..." to results
run() {
    cfg=$1 r=$2 url=$3 wl=$4 round=$5
    name=$cfg-$wl-$round
    sleep 1   # let the previous run's connections go
    pg0=""
    [ "$r" != pg ] || pg0=$(pgstat)
    nlog=$(wc -l <"$tmp/nginx/access.log")
    s0=$(snap)
    kids_mark "$tmp/k0"
    case $wl in
    cc_*)
        GH_AUTH=$(basic "cc-${wl#cc_}" "$tmp/$r-cc-${wl#cc_}.json") GH_RESOURCE="$RESOURCE" \
            timeout 60 wrk -t2 -c32 -d"$DUR" --timeout 10s -s bench/cc.lua "$url/" \
            >"$tmp/$name.out" 2>&1 || { cat "$tmp/$name.out" >&2; exit 1; }
        ;;
    *)
        GH_AUTH=$(basic bench "$tmp/$r-bench.json") GH_MODE=$wl GH_THREADS=$FCONNS \
            GH_SESSIONS="$tmp/$r.sessions" timeout 60 wrk -t"$FCONNS" -c"$FCONNS" -d"$DUR" \
            --timeout 10s -s bench/flow.lua "$url/" >"$tmp/$name.out" 2>&1 ||
            { cat "$tmp/$name.out" >&2; exit 1; }
        ;;
    esac
    kids_mark "$tmp/k1"
    s1=$(snap)
    line=$(grep -E '^(cc|flows) ' "$tmp/$name.out") || { cat "$tmp/$name.out" >&2; exit 1; }
    n=$(get requests "$line")
    [ -n "$n" ] || n=$(get flows "$line")
    extra=""
    if [ "$r" = pg ]; then
        sleep 1.2   # the backends report their statistics once idle (at most once a second)
        extra=$(echo "$pg0 $(pgstat) $n" | awk '{ printf "xact_per=%.2f walsync_per=%.2f",
            ($5 ? ($3 - $1) / $5 : 0), ($5 ? ($4 - $2) / $5 : 0) }')
    fi
    case $cfg in *nginx)
        extra="$extra $(tail -n +"$((nlog + 1))" "$tmp/nginx/access.log" | awk -v a="$PA_PORT" \
            -v b="$PB_PORT" '{ t++ } $1 >= 500 { bad++ } $1 == 499 { cut++ }
            $2 ~ ":" a "$" { na++ } $2 ~ ":" b "$" { nb++ }
            END { printf "lb_requests=%d lb_a=%d lb_b=%d lb_5xx=%d lb_499=%d", t, na, nb, bad,
                  cut }')" ;;
    esac
    echo "$name cfg=$cfg wl=$wl round=$round ${line#* } $(usage "$s0" "$s1" "$tmp/k0" "$tmp/k1" "$n") $extra" \
        >>"$tmp/results"
    e=$(get errors "$line") n2=$(get non2xx "$line") n5=$(get lb_5xx "$extra")
    bad=$((${e:-0} + ${n2:-0} + ${n5:-0}))
    if [ "$bad" != 0 ]; then
        echo "bench: $name: $line" >&2
        errs=$((errs + 1))
    fi
}

# the configurations side by side for each workload, so that a change in the machine's other
# load falls on all four rather than on one
round=1
while [ "$round" -le "$ROUNDS" ]; do
    for wl in cc_es256 cc_rs256 sso first; do
        run sqlite-1 sqlite "$SQ" "$wl" "$round"
        run pg-1 pg "$PA" "$wl" "$round"
        run pg-1-nginx pg "$LB1" "$wl" "$round"
        run pg-2-nginx pg "$LB2" "$wl" "$round"
    done
    round=$((round + 1))
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
# the connections the two instances hold (one per thread that has used the store)
pgconns=$(psql -X -q -A -t -d "$PG_ADMIN" -c "SELECT count(*) FROM pg_stat_activity WHERE
    datname = '${DSN##*/}' AND backend_type = 'client backend'")

for p in $gh_pids $ngx_pid; do
    stop_pid "$p"
done
if [ -n "$KEEP" ]; then
    mkdir -p "$KEEP"
    cp "$tmp"/*.out "$tmp"/*.log "$tmp/results" "$KEEP/"
    cp "$tmp/nginx/error.log" "$KEEP/nginx-error.log"
    cp "$tmp/nginx/access.log" "$KEEP/nginx-access.log"
    cp "$pgdir/postgres.log" "$KEEP/postgres.log" 2>/dev/null || true
fi

# --- report ----------------------------------------------------------------------------------
echo "bench/scale.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), $NCPU cores, $BIN" \
    "($("$BIN" --version 2>/dev/null | head -n 1))"
echo "before the runs, with nothing of ours running: $busy0 of $NCPU cores busy (load average" \
    "$load0; after the runs: $load1)"
echo "PostgreSQL connections held by instances A and B after the runs: $pgconns"
"$PY" - "$tmp/results" "$DUR" "$FCONNS" "$NCPU" <<'EOF'
import sys
rows = []
for line in open(sys.argv[1]):
    w = line.split()
    rows.append(dict(x.split("=", 1) for x in w[1:] if "=" in x))
dur, fconns, ncpu = sys.argv[2], sys.argv[3], sys.argv[4]
order = ["sqlite-1", "pg-1", "pg-1-nginx", "pg-2-nginx"]
rounds = max(int(r["round"]) for r in rows)

def bad(r):
    return int(r.get("errors", 0)) + int(r.get("non2xx", 0) or 0) + int(r.get("lb_5xx", 0))

def cell(r, k, fmt="%s"):
    return fmt % float(r[k]) if k in r else "-"

def split(r):
    if "lb_requests" not in r:
        return "-"
    a, b = int(r["lb_a"]), int(r["lb_b"])
    return "%d/%d" % (round(100 * a / (a + b)), round(100 * b / (a + b))) if a + b else "-"

def table(title, wls, unit, per, scale, fmt):
    print()
    print(title)
    print("CPU per %s of gatehouse (gh), PostgreSQL (pg: backends, WAL writer, checkpointer…) "
          "and nginx (ngx); cores busy on average during the run (of %s): the same parties, wrk "
          "and everything else on the machine (oth)" % (per, ncpu))
    hdr = ("config", "work", unit, "p50 ms", "p99 ms", "gh", "pg", "ngx", "gh", "pg", "ngx",
           "wrk", "oth", "busy%", "xact", "fsync", "A/B %", "bad")
    f = "%-12s %-8s %8s %7s %8s %6s %6s %6s %5s %5s %5s %5s %5s %5s %5s %5s %6s %4s"
    print(" " * 47 + "%-20s %-35s %s" % ("CPU %s/%s" % (fmt, per), "cores busy", "per " + per))
    print(f % hdr)
    for wl in wls:
        for r in sorted((r for r in rows if r["wl"] == wl),
                        key=lambda r: (order.index(r["cfg"]), int(r["round"]))):
            rate = float(r.get("rps", r.get("flows_per_s")))
            print(f % (r["cfg"] + ("#" + r["round"] if rounds > 1 else ""), wl,
                       "%.0f" % rate if rate >= 100 else "%.1f" % rate,
                       r["p50_ms"], r["p99_ms"],
                       *("%.*f" % (2 if scale != 1 else 0, float(r[k]) / scale)
                         for k in ("gh_us", "pg_us", "ngx_us")),
                       r["gh_cores"], r["pg_cores"], r["ngx_cores"], r["wrk_cores"],
                       r["other_cores"], r["machine_busy"], cell(r, "xact_per", "%.1f"),
                       cell(r, "walsync_per", "%.2f"), split(r), bad(r)))

table("token endpoint: client_credentials, client_secret_basic, wrk -t2 -c32 -d%s" % dur,
      ("cc_es256", "cc_rs256"), "req/s", "request", 1, "µs")
table("sign-in flows: sso = authorize with a session + token; first = authorize, login "
      "(Argon2id), token; wrk -t%s -c%s -d%s" % (fconns, fconns, dur),
      ("sso", "first"), "flows/s", "flow", 1000, "ms")
failed = [r for r in rows if bad(r)]
print()
print("xact, fsync: PostgreSQL transactions committed and WAL fsyncs per request or flow, "
      "whole cluster (pg_stat_database, pg_stat_wal)")
print("A/B %: how nginx split the requests between instance A and instance B")
print("bad: wrk's socket errors, non-2xx answers (token endpoint), failed flows, and 5xx in "
      "nginx's log (its 499s are the requests in flight when wrk stops: not counted)")
if failed:
    print("runs with errors or non-2xx answers: %s" % ", ".join(
        "%s-%s-%s" % (r["cfg"], r["wl"], r["round"]) for r in failed))
EOF
if [ "$errs" != 0 ]; then
    for f in "$tmp"/sqlite.log "$tmp"/pg-a.log "$tmp"/pg-b.log "$tmp/nginx/error.log"; do
        echo "--- $(basename "$f") (warnings and errors)" >&2
        grep -v -e ' rid=' -e '^{' "$f" | tail -n 20 >&2 || true
    done
    exit 1
fi
