#!/bin/sh
# bench/cc.sh — client_credentials tokens per second (issue 4), each next to its ceiling.
# `make bench-cc` runs it (`make bench` too, after run.sh and flows.sh); results are in
# docs/benchmarks.md.
#
#   probe     bench/sign_probe.c: libmicrohttpd with gatehouse's thread model that reads the
#             POST and signs one JWT per request with OpenSSL, nothing else (the ceiling)
#   basic     POST /token grant_type=client_credentials, client_secret_basic
#   secret_jwt   the same with client_assertion signed HS256 with the client's secret
#   private_key_jwt  the same with client_assertion signed ES256 with the client's EC P-256 key
#
# Each for a client whose access tokens are ES256, then RS256; the probe with the same alg is
# measured just before gatehouse. All runs: wrk -t2 -c32 (bench/cc.lua) for BENCH_CC_DURATION.
# A client assertion is accepted once (its jti is stored), so the assertions are made and
# signed before the runs (Python: hmac, and python3-cryptography for ES256), BENCH_CC_ASSERTIONS
# per run, split between the two wrk threads; each is sent once. A run that used up its list
# says so (reused>0) and is not valid: raise BENCH_CC_ASSERTIONS.
#
# Per run the script also records the server's CPU time per request and how busy the whole
# machine was (as bench/flows.sh does). Everything runs on loopback in a throw-away mktemp
# directory; only processes started here are stopped (by PID).
#
# Environment: GATEHOUSE_BIN (default ./gatehouse), BENCH_CC_DURATION (8s),
# BENCH_CC_ASSERTIONS (60000 per JWT run), BENCH_KEEP (a directory to copy the wrk outputs to).
# Takes about 1.5 minutes.
set -eu

cd "$(dirname "$0")/.."
. bench/lib.sh
ROOT=$(pwd)
BIN=${GATEHOUSE_BIN:-./gatehouse}
DUR=${BENCH_CC_DURATION:-8s}
NASSERT=${BENCH_CC_ASSERTIONS:-60000}
KEEP=${BENCH_KEEP:-}
OUT=build/bench
PY=/usr/bin/python3

for tool in wrk cc pkg-config openssl curl "$PY"; do
    command -v "$tool" >/dev/null 2>&1 ||
        { echo "bench: $tool is missing (make bench-deps)" >&2; exit 1; }
done
"$PY" -c 'import cryptography' 2>/dev/null ||
    { echo "bench: python3-cryptography is missing (apt-get install python3-cryptography)" >&2
      exit 1; }
[ -x "$BIN" ] || { echo "bench: $BIN not built (make)" >&2; exit 1; }
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac

mkdir -p "$OUT"
# shellcheck disable=SC2046 # pkg-config output is meant to split into words
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
    -o "$OUT/sign_probe" bench/sign_probe.c $(pkg-config --cflags --libs libmicrohttpd libcrypto) \
    -lpthread

tmp=$(mktemp -d /tmp/gh-cc.XXXXXX)
pids=""
cleanup() {
    stop_all
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' HUP INT PIPE TERM

HZ=$(getconf CLK_TCK)
NCPU=$(getconf _NPROCESSORS_ONLN)
snap() { # snap PID -> "server_ticks machine_busy_ticks machine_total_ticks"
    s=$(awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0)
    m=$(awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat)
    echo "$s $m"
}
usage() { # usage BEFORE AFTER N -> "cpu_us=<server CPU µs per request> machine_busy=<%>"
    echo "$1 $2 $3" | awk -v hz="$HZ" '{
        st = $4 - $1; mb = $5 - $2; mt = $6 - $3
        printf "cpu_us=%.0f machine_busy=%.0f", ($7 ? st * 1e6 / hz / $7 : 0),
            (mt > 0 ? 100 * mb / mt : 0) }'
}
export GATEHOUSE_TEMPLATES="$ROOT/templates" GATEHOUSE_STATIC="$ROOT/static"
export GATEHOUSE_LOG_LEVEL=warn
ISSUER=https://id.example
RESOURCE=https://api.example/
gh() {
    "$BIN" --db "$tmp/gh.db" --keys "$tmp/keys" "$@"
}

# --- set-up ----------------------------------------------------------------------------------
gh init --issuer "$ISSUER" >"$tmp/init.log" 2>&1 || { cat "$tmp/init.log" >&2; exit 1; }
gh resource add "$RESOURCE" --scopes read >>"$tmp/init.log" 2>&1 ||
    { cat "$tmp/init.log" >&2; exit 1; }
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/pk.pem" 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$tmp/pk.pem" -out "$tmp/pk8.pem"
"$PY" tests/tools/jwk.py "$tmp/pk.pem" >"$tmp/pk.jwks"
for alg in ES256 RS256; do
    a=$(echo "$alg" | tr 'A-Z' 'a-z')
    gh client add "basic-$a" --grant-types client_credentials --signing-alg "$alg" --json \
        >"$tmp/basic-$a.json"
    gh client add "sjwt-$a" --grant-types client_credentials --signing-alg "$alg" \
        --auth-method client_secret_jwt --json >"$tmp/sjwt-$a.json"
    gh client add "pkjwt-$a" --grant-types client_credentials --signing-alg "$alg" \
        --auth-method private_key_jwt --jwks "$tmp/pk.jwks" --json >"$tmp/pkjwt-$a.json"
    for c in basic sjwt pkjwt; do
        gh resource allow "$RESOURCE" "$c-$a" --scopes read >>"$tmp/init.log" 2>&1 ||
            { cat "$tmp/init.log" >&2; exit 1; }
    done
done

rm -f "$tmp/gh.port"
"$BIN" --db "$tmp/gh.db" --keys "$tmp/keys" serve --listen 127.0.0.1:0 --port-file \
    "$tmp/gh.port" >"$tmp/gh.log" 2>&1 &
gh_pid=$!
pids="$pids $gh_pid"
wait_file "$tmp/gh.port"
GH=http://127.0.0.1:$(cat "$tmp/gh.port")

# The assertions: NASSERT per JWT run, split over the two wrk threads (FILE.0, FILE.1), plus one
# per run sent here first to check the set-up. exp 270 s ahead: the runs end well before.
"$PY" - "$tmp" "$ISSUER/token" "$NASSERT" "$(secret_of "$tmp/sjwt-es256.json")" \
    "$(secret_of "$tmp/sjwt-rs256.json")" <<'EOF'
import base64, hashlib, hmac, json, os, sys, time
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
tmp, aud, n, sec_es, sec_rs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
with open(tmp + "/pk8.pem", "rb") as f:
    key = serialization.load_pem_private_key(f.read(), None)
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")
now = int(time.time())

def make(client, alg, sign, count, path):
    h = b64(json.dumps({"alg": alg, "typ": "JWT"}, separators=(",", ":")).encode())
    outs = [open("%s.%d" % (path, i), "wb") for i in range(2)]
    first = None
    for i in range(count + 1):
        c = {"iss": client, "sub": client, "aud": aud, "iat": now, "exp": now + 270,
             "jti": b64(os.urandom(16)).decode()}
        si = h + b"." + b64(json.dumps(c, separators=(",", ":")).encode())
        jwt = si + b"." + b64(sign(si))
        if first is None:
            first = jwt
        else:
            outs[i % 2].write(jwt + b"\n")
    for o in outs:
        o.close()
    with open(path + ".check", "wb") as f:
        f.write(first + b"\n")

def hs(secret):
    return lambda m: hmac.new(secret.encode(), m, hashlib.sha256).digest()

def es(m):
    r, s = decode_dss_signature(key.sign(m, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")

make("sjwt-es256", "HS256", hs(sec_es), n, tmp + "/sjwt-es256")
make("sjwt-rs256", "HS256", hs(sec_rs), n, tmp + "/sjwt-rs256")
make("pkjwt-es256", "ES256", es, n, tmp + "/pkjwt-es256")
make("pkjwt-rs256", "ES256", es, n, tmp + "/pkjwt-rs256")
EOF

# check each client once (and that its access token has the expected alg)
check() { # check NAME ALG CURL_ARGS...
    name=$1 alg=$2
    shift 2
    code=$(curl -s -o "$tmp/check.json" -w '%{http_code}' "$@" "$GH/token" \
        -d grant_type=client_credentials --data-urlencode "resource=$RESOURCE")
    [ "$code" = 200 ] || { echo "bench: $name: HTTP $code $(cat "$tmp/check.json")" >&2; exit 1; }
    got=$("$PY" -c 'import base64,json,sys
t = json.load(sys.stdin)["access_token"].split(".")[0]
print(json.loads(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)))["alg"])' <"$tmp/check.json")
    [ "$got" = "$alg" ] || { echo "bench: $name: access token alg $got, not $alg" >&2; exit 1; }
}
JWTBEARER=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
for alg in ES256 RS256; do
    a=$(echo "$alg" | tr 'A-Z' 'a-z')
    check "basic-$a" "$alg" -u "basic-$a:$(secret_of "$tmp/basic-$a.json")"
    for c in sjwt pkjwt; do
        check "$c-$a" "$alg" -d client_assertion_type=$JWTBEARER \
            -d "client_assertion=$(cat "$tmp/$c-$a.check")"
    done
done

# --- runs ------------------------------------------------------------------------------------
: >"$tmp/results"
# run NAME URL PID [GH_ASSERTIONS=… | GH_AUTH=…]: one wrk run of bench/cc.lua
run() {
    name=$1 url=$2 pid=$3
    shift 3
    sleep 1   # let the previous run's connections go
    s0=$(snap "$pid")
    env "$@" GH_RESOURCE="$RESOURCE" timeout 60 wrk -t2 -c32 -d"$DUR" --timeout 10s \
        -s bench/cc.lua "$url/" >"$tmp/$name.out" 2>&1 || { cat "$tmp/$name.out" >&2; exit 1; }
    s1=$(snap "$pid")
    line=$(grep '^cc ' "$tmp/$name.out") || { cat "$tmp/$name.out" >&2; exit 1; }
    echo "$name ${line#cc } $(usage "$s0" "$s1" "$(get requests "$line")")" >>"$tmp/results"
    [ "$(get non2xx "$line")" = 0 ] && [ "$(get errors "$line")" = 0 ] &&
        [ "$(get reused "$line")" = 0 ] || echo "bench: $name: $line" >&2
}

for alg in ES256 RS256; do
    a=$(echo "$alg" | tr 'A-Z' 'a-z')
    rm -f "$tmp/probe.port"
    "$OUT/sign_probe" "$alg" "$tmp/probe.port" 2>"$tmp/probe.log" &
    probe_pid=$!
    pids="$pids $probe_pid"
    wait_file "$tmp/probe.port"
    run "probe_$a" "http://127.0.0.1:$(cat "$tmp/probe.port")" "$probe_pid" \
        GH_AUTH="Basic cHJvYmU6cHJvYmU="
    stop_pid "$probe_pid"
    run "basic_$a" "$GH" "$gh_pid" \
        GH_AUTH="Basic $(printf '%s:%s' "basic-$a" "$(secret_of "$tmp/basic-$a.json")" | base64 -w0)"
    run "secret_jwt_$a" "$GH" "$gh_pid" GH_ASSERTIONS="$tmp/sjwt-$a"
    run "private_key_jwt_$a" "$GH" "$gh_pid" GH_ASSERTIONS="$tmp/pkjwt-$a"
done

[ -z "$KEEP" ] || { mkdir -p "$KEEP" && cp "$tmp"/*.out "$tmp/results" "$KEEP/"; }

# --- report ----------------------------------------------------------------------------------
echo "client_credentials, wrk -t2 -c32 -d$DUR; $NCPU cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[$1, kv[1]] = kv[2] } }
    END {
        printf "%-22s %9s %8s %8s %8s %8s %6s\n", "run", "req/s", "%probe", "p50_ms", "p99_ms",
            "cpu_us", "busy%"
        split("es256 rs256", algs, " ")
        split("probe basic secret_jwt private_key_jwt", kinds, " ")
        for (a = 1; a <= 2; a++) for (k = 1; k <= 4; k++) {
            n = kinds[k] "_" algs[a]; p = v["probe_" algs[a], "rps"]
            bad = ""
            if (v[n, "non2xx"] + v[n, "errors"] + v[n, "reused"] > 0)
                bad = sprintf("  non2xx=%d errors=%d reused=%d", v[n, "non2xx"], v[n, "errors"],
                    v[n, "reused"])
            printf "%-22s %9.0f %7.0f%% %8.2f %8.2f %8s %6s%s\n", n, v[n, "rps"],
                (p > 0 ? 100 * v[n, "rps"] / p : 0), v[n, "p50_ms"], v[n, "p99_ms"],
                v[n, "cpu_us"], v[n, "machine_busy"], bad
        }
        pe = v["probe_es256", "rps"]; pr = v["probe_rs256", "rps"]
        te = (pe > 0 && v["basic_es256", "rps"] >= 0.6 * pe) ? "met" : "NOT met"
        tr = (pr > 0 && v["basic_rs256", "rps"] >= 0.8 * pr) ? "met" : "NOT met"
        printf "targets: basic ES256 >= 60%% of the probe: %s; basic RS256 >= 80%%: %s\n", te, tr
    }' "$tmp/results"
