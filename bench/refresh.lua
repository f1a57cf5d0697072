-- bench/refresh.lua — wrk script: POST /token with grant_type=refresh_token, a load on the token
-- endpoint that needs no browser steps. Refresh tokens rotate (each answer carries the next
-- one and the presented one is spent), so every thread keeps a pool: a request takes a token
-- from it, a 200 puts the new one back. The pool starts from GH_TOKENS (one refresh token per
-- line, made before the run; thread N of GH_THREADS takes lines N, N+T, N+2T, ...) and needs at
-- least as many tokens as the thread has connections.
--
-- Environment: GH_BENCH_DIR, GH_TOKENS, GH_THREADS (= wrk -t), GH_AUTH (Authorization header
-- value of the confidential client), GH_DELAY_MS (optional: pause of each connection between
-- its requests, for a paced load rather than a closed loop; wrk does not count the pause in
-- the latency).
--
-- done() prints one line (latency of single token requests, from wrk's own histogram):
--   token threads=N ok=K errors=E seconds=S rps=R p50_ms=A p99_ms=B max_ms=M

local C = dofile((os.getenv("GH_BENCH_DIR") or "bench") .. "/common.lua")

local auth = C.env("GH_AUTH")
local nthreads = tonumber(C.env("GH_THREADS", "1"))
local delay_ms = tonumber(C.env("GH_DELAY_MS", "0"))

local threads = {}
local next_tid = 1

function setup(thread)
    thread:set("tid", next_tid)
    next_tid = next_tid + 1
    threads[#threads + 1] = thread
end

local pool = {}
local headers
ok, errors = 0, 0

function init(args)
    local lines = C.read_lines(C.env("GH_TOKENS"))
    for i = tid, #lines, nthreads do
        pool[#pool + 1] = lines[i]
    end
    headers = {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["Authorization"] = auth,
    }
end

function request()
    -- an empty pool (earlier failures) still sends a request, which then fails visibly
    local tok = table.remove(pool) or "pool-is-empty"
    return wrk.format("POST", "/token", headers,
        "grant_type=refresh_token&refresh_token=" .. tok)
end

function response(status, hdrs, body)
    local nt = status == 200 and body:match('"refresh_token":"([^"]+)"')
    if nt then
        ok = ok + 1
        pool[#pool + 1] = nt
    else
        errors = errors + 1
        C.complain(tid, "refresh", status, body)
    end
end

if delay_ms > 0 then
    function delay()
        return delay_ms
    end
end

function done(summary, latency, requests)
    local k, e = 0, 0
    for _, t in ipairs(threads) do
        k = k + t:get("ok")
        e = e + t:get("errors")
    end
    local secs = summary.duration / 1e6
    io.write(string.format(
        "token threads=%d ok=%d errors=%d seconds=%.2f rps=%.1f p50_ms=%.2f p99_ms=%.2f " ..
        "max_ms=%.2f\n", #threads, k, e, secs, k / secs, latency:percentile(50) / 1000,
        latency:percentile(99) / 1000, latency.max / 1000))
end
