-- bench/mixed.lua — wrk script for bench/mixed.sh: what relying parties and resource servers ask
-- of an identity provider between sign-ins, in turn on each connection:
--   GET /jwks.json, GET /.well-known/openid-configuration,
--   GET /userinfo (Bearer $GH_ACCESS_TOKEN), POST /introspect (token=$GH_ACCESS_TOKEN, as the
--   client $GH_AUTH)
-- Every answer must be 200 (introspection: 200 with "active":true).
--
-- done() prints one line:
--   mixed requests=N rps=R bad=N errors=N p50_ms=… p99_ms=…
local threads = {}
local reqs, n, bad = {}, 0, 0

function setup(thread)
    threads[#threads + 1] = thread
end

function init(args)
    local token = os.getenv("GH_ACCESS_TOKEN") or error("bench: GH_ACCESS_TOKEN is required")
    local auth = os.getenv("GH_AUTH") or error("bench: GH_AUTH is required")
    reqs = {
        wrk.format("GET", "/jwks.json"),
        wrk.format("GET", "/.well-known/openid-configuration"),
        wrk.format("GET", "/userinfo", { ["Authorization"] = "Bearer " .. token }),
        wrk.format("POST", "/introspect", { ["Authorization"] = auth,
            ["Content-Type"] = "application/x-www-form-urlencoded" }, "token=" .. token),
    }
end

function request()
    n = n % #reqs + 1
    return reqs[n]
end

function response(status, headers, body)
    if status ~= 200 or body:find('"active":false', 1, true) then
        bad = bad + 1
    end
end

function done(summary, latency, requests)
    local b = 0
    for _, t in ipairs(threads) do
        b = b + (tonumber(t:get("bad")) or 0)
    end
    local e = summary.errors
    io.write(string.format("mixed requests=%d rps=%.1f bad=%d errors=%d p50_ms=%.2f p99_ms=%.2f\n",
        summary.requests, summary.requests / (summary.duration / 1e6), b,
        e.connect + e.read + e.write + e.timeout + e.status,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
