#!/bin/sh
# bench/mixed.sh — 60 s of mixed traffic against one server, all at once, for the load figure in
# docs/security.md (issue 5): requests per second held, zero errors, and memory before/after.
# `make bench-mixed` runs it.
#
#   first    fresh-browser sign-ins: GET /authorize -> POST /login (Argon2id) -> POST /token
#            (bench/flow.lua GH_MODE=first, 2 connections)
#   sso      sign-ins with a session: GET /authorize -> 302 + code -> POST /token (2 connections)
#   cc       client_credentials tokens, client_secret_basic (bench/cc.lua, 4 connections)
#   mixed    /jwks.json, discovery, /userinfo and /introspect in turn (bench/mixed.lua,
#            4 connections)
#
# The server's RSS and open descriptors are read after set-up (idle), after a 10 s warm-up of the
# same mix, and after the measured run; growth = after − warm. Every answer must be what the
# flow expects (wrk's socket errors, statuses and each script's own checks): the script exits 1
# if any was not. Everything runs on loopback in a throw-away mktemp directory; only processes
# started here are stopped (by PID).
#
# Environment: GATEHOUSE_BIN (default ./gatehouse), BENCH_MIXED_DURATION (60s),
# BENCH_MIXED_WARMUP (10s). Argon2id as bench/flows.sh (OWASP's floor: m=19456 KiB, t=2).
set -eu

cd "$(dirname "$0")/.."
. bench/lib.sh
ROOT=$(pwd)
BIN=${GATEHOUSE_BIN:-./gatehouse}
DUR=${BENCH_MIXED_DURATION:-60s}
WARM=${BENCH_MIXED_WARMUP:-10s}
NUSERS=8
PY=/usr/bin/python3

for tool in wrk curl "$PY"; do
    command -v "$tool" >/dev/null 2>&1 ||
        { echo "bench: $tool is missing (make bench-deps)" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "bench: $BIN not built (make)" >&2; exit 1; }
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac

tmp=$(mktemp -d /tmp/gh-mixed.XXXXXX)
pids=""
cleanup() {
    stop_all
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' HUP INT PIPE TERM

export GATEHOUSE_ARGON2_MEMORY_KIB="${BENCH_ARGON2_M:-19456}"
export GATEHOUSE_ARGON2_ITERATIONS="${BENCH_ARGON2_T:-2}"
export GATEHOUSE_ARGON2_PARALLELISM=1
export GATEHOUSE_TEMPLATES="$ROOT/templates" GATEHOUSE_STATIC="$ROOT/static"
export GATEHOUSE_LOG_LEVEL=warn
gh() {
    "$BIN" --db "$tmp/gh.db" --keys "$tmp/keys" "$@"
}

# --- set-up ----------------------------------------------------------------------------------
gh init >"$tmp/init.log" 2>&1 || { cat "$tmp/init.log" >&2; exit 1; }
RESOURCE=https://api.example/
gh resource add "$RESOURCE" --scopes read >>"$tmp/init.log" 2>&1 ||
    { cat "$tmp/init.log" >&2; exit 1; }
i=1
while [ "$i" -le "$NUSERS" ]; do
    u=$(printf 'bench%02d' "$i")
    printf 'bench-password-%02d-x\n' "$i" |
        gh user add "$u" --email "$u@example.org" --password-stdin >>"$tmp/users.log" 2>&1 ||
        { cat "$tmp/users.log" >&2; exit 1; }
    i=$((i + 1))
done
REDIRECT=http://127.0.0.1:9/cb
gh client add bench --redirect-uri "$REDIRECT" --json >"$tmp/client.json"
gh client add svc --grant-types client_credentials --json >"$tmp/svc.json"
gh resource allow "$RESOURCE" svc --scopes read >>"$tmp/init.log" 2>&1 ||
    { cat "$tmp/init.log" >&2; exit 1; }
AUTH="Basic $(printf 'bench:%s' "$(secret_of "$tmp/client.json")" | base64 -w0)"
SVC_AUTH="Basic $(printf 'svc:%s' "$(secret_of "$tmp/svc.json")" | base64 -w0)"
VERIFIER=bench-pkce-verifier-0123456789abcdefghijklmnopqrstuvwxyz
CHALLENGE=$("$PY" -c 'import base64,hashlib,sys
print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).decode().rstrip("="))' \
    "$VERIFIER")

rm -f "$tmp/gh.port"
"$BIN" --db "$tmp/gh.db" --keys "$tmp/keys" serve --listen 127.0.0.1:0 --port-file \
    "$tmp/gh.port" >"$tmp/gh.log" 2>&1 &
gh_pid=$!
pids="$pids $gh_pid"
i=0
while [ ! -s "$tmp/gh.port" ]; do
    i=$((i + 1))
    [ "$i" -le 1000 ] || { echo "bench: the server did not start" >&2; cat "$tmp/gh.log" >&2; exit 1; }
    sleep 0.01
done
GH=http://127.0.0.1:$(cat "$tmp/gh.port")

# sessions for the sso connections and an access token for userinfo/introspection, made before
# the runs so no set-up request falls inside a measurement
"$PY" - "$GH" "$REDIRECT" "$AUTH" "$VERIFIER" "$CHALLENGE" "$tmp" <<'PYEOF'
import re, sys, requests
gh, redirect, auth, verifier, challenge, tmp = sys.argv[1:7]
q = {"response_type": "code", "client_id": "bench", "redirect_uri": redirect,
     "scope": "openid profile email", "code_challenge": challenge,
     "code_challenge_method": "S256"}
sessions = []
for n in (1, 2):
    st = "prep%d" % n
    r = requests.get(gh + "/authorize", params=dict(q, state=st), allow_redirects=False)
    assert r.status_code == 200, (r.status_code, r.text[:200])
    iid = re.search(r'name="interaction" value="([^"]+)"', r.text).group(1)
    csrf = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
    r = requests.post(gh + "/login", cookies={"gh_login": r.cookies["gh_login"]},
                      allow_redirects=False,
                      data={"interaction": iid, "csrf": csrf, "username": "bench%02d" % n,
                            "password": "bench-password-%02d-x" % n})
    assert r.status_code in (302, 303), (r.status_code, r.text[:200])
    sessions.append(r.cookies["gh_session"])
    code = re.search(r"[?&]code=([^&]+)", r.headers["Location"]).group(1)
    t = requests.post(gh + "/token", headers={"Authorization": auth},
                      data={"grant_type": "authorization_code", "code": code,
                            "redirect_uri": redirect, "code_verifier": verifier})
    assert t.status_code == 200, (t.status_code, t.text[:200])
open(tmp + "/sessions", "w").write("\n".join(sessions) + "\n")
open(tmp + "/access_token", "w").write(t.json()["access_token"])
PYEOF

export GH_BENCH_DIR="$ROOT/bench" GH_CLIENT_ID=bench GH_REDIRECT="$REDIRECT"
export GH_CHALLENGE="$CHALLENGE" GH_VERIFIER="$VERIFIER" GH_USERS="$NUSERS"
export GH_USER_FMT='bench%02d' GH_PASSWORD_FMT='bench-password-%02d-x'
export GH_SESSIONS="$tmp/sessions" GH_RESOURCE="$RESOURCE"
GH_ACCESS_TOKEN=$(cat "$tmp/access_token")
export GH_ACCESS_TOKEN

mem() { # mem -> "rss_kib=… fds=…" of the server
    echo "rss_kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$gh_pid/status")" \
        "fds=$(ls "/proc/$gh_pid/fd" | wc -l)"
}
# load D TAG: the four loads at once for D; waits for all of them
load() {
    lp=""
    GH_MODE=first GH_THREADS=2 GH_AUTH="$AUTH" timeout 300 wrk -t2 -c2 -d"$1" --timeout 10s \
        -s bench/flow.lua "$GH/" >"$tmp/$2.first" 2>&1 &
    lp="$lp $!"
    GH_MODE=sso GH_THREADS=2 GH_AUTH="$AUTH" timeout 300 wrk -t2 -c2 -d"$1" --timeout 10s \
        -s bench/flow.lua "$GH/" >"$tmp/$2.sso" 2>&1 &
    lp="$lp $!"
    GH_AUTH="$SVC_AUTH" timeout 300 wrk -t1 -c4 -d"$1" --timeout 10s -s bench/cc.lua "$GH/" \
        >"$tmp/$2.cc" 2>&1 &
    lp="$lp $!"
    GH_AUTH="$AUTH" timeout 300 wrk -t1 -c4 -d"$1" --timeout 10s -s bench/mixed.lua "$GH/" \
        >"$tmp/$2.mixed" 2>&1 &
    lp="$lp $!"
    pids="$pids $lp"
    rc=0
    for p in $lp; do
        wait "$p" || rc=1
    done
    [ "$rc" = 0 ] || { cat "$tmp/$2".* >&2; echo "bench: a load generator failed" >&2; exit 1; }
}

idle=$(mem)
load "$WARM" warm
warm=$(mem)
load "$DUR" run
after=$(mem)
kill -0 "$gh_pid" 2>/dev/null || { echo "bench: the server died" >&2; exit 1; }

bad=0
total=0
secs=${DUR%s}
for k in first sso cc mixed; do
    line=$(grep -E '^(flows|cc|mixed) ' "$tmp/run.$k") || { cat "$tmp/run.$k" >&2; exit 1; }
    echo "$k ${line#* }"
    # requests: flows count 3 (first) or 2 (sso) HTTP requests each
    n=$(echo "$line" | tr ' ' '\n' | sed -n 's/^\(flows\|requests\)=//p')
    case $k in first) n=$((n * 3)) ;; sso) n=$((n * 2)) ;; esac
    total=$((total + n))
    for f in errors non2xx bad reused; do
        v=$(echo "$line" | tr ' ' '\n' | sed -n "s/^$f=//p")
        [ -z "$v" ] || bad=$((bad + v))
    done
done
rss0=$(echo "$warm" | sed 's/rss_kib=\([0-9]*\).*/\1/')
rss1=$(echo "$after" | sed 's/rss_kib=\([0-9]*\).*/\1/')
echo "memory idle: $idle; after ${WARM} warm-up: $warm; after ${DUR}: $after;" \
    "growth $((rss1 - rss0)) KiB"
echo "mixed: $total HTTP requests in $DUR = $((total / secs)) req/s, $bad errors"
[ "$bad" = 0 ] || { echo "bench: errors under load" >&2; exit 1; }
