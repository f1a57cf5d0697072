-- bench/cc.lua — client_credentials token requests for wrk (bench/cc.sh runs it):
-- POST /token with grant_type=client_credentials and resource=$GH_RESOURCE, the client
-- authenticated in one of two ways:
--
--   GH_AUTH="Basic …"        client_secret_basic: the same request every time
--   GH_ASSERTIONS=PREFIX     client_secret_jwt / private_key_jwt: wrk thread i (0-based) reads
--                            PREFIX.i, one pre-signed client assertion a line, and sends each
--                            once (a jti is single-use). When a thread's list runs out it
--                            starts over; those replays are refused (401) and counted as
--                            `reused` by done(), and the run is not valid.
--
-- done() prints one line:
--   cc requests=N rps=R non2xx=N errors=N reused=N p50_ms=… p99_ms=…
local threads = {}
local counter = 0

local function urlencode(s)
    return (s:gsub("[^%w%-%._~]", function(ch)
        return string.format("%%%02X", string.byte(ch))
    end))
end

local resource = os.getenv("GH_RESOURCE") or "https://api.example/"
local base = "grant_type=client_credentials&resource=" .. urlencode(resource)

function setup(thread)
    thread:set("id", counter)
    counter = counter + 1
    threads[#threads + 1] = thread
end

local list, pos, reused, non2xx = nil, 0, 0, 0

function init(args)
    local prefix = os.getenv("GH_ASSERTIONS")
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
    if prefix and prefix ~= "" then
        list = {}
        local path = prefix .. "." .. tostring(id)
        local f = io.open(path, "r")
        if not f then
            error("bench: cannot open " .. path)
        end
        for line in f:lines() do
            if line ~= "" then
                list[#list + 1] = base ..
                    "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer" ..
                    "&client_assertion=" .. line
            end
        end
        f:close()
        if #list == 0 then
            error("bench: " .. path .. " is empty")
        end
    else
        local auth = os.getenv("GH_AUTH")
        if not auth or auth == "" then
            error("bench: GH_AUTH or GH_ASSERTIONS is required")
        end
        wrk.headers["Authorization"] = auth
        wrk.body = base
    end
end

local static_req = nil

function request()
    if not list then
        if not static_req then
            static_req = wrk.format(nil, "/token")
        end
        return static_req
    end
    pos = pos + 1
    if pos > #list then
        pos = 1
        reused = reused + 1
    end
    return wrk.format(nil, "/token", nil, list[pos])
end

function response(status, headers, body)
    if status ~= 200 then
        non2xx = non2xx + 1
    end
end

function done(summary, latency, requests)
    local nonok, rep = 0, 0
    for _, t in ipairs(threads) do
        nonok = nonok + (tonumber(t:get("non2xx")) or 0)
        rep = rep + (tonumber(t:get("reused")) or 0)
    end
    local secs = summary.duration / 1e6
    local e = summary.errors
    io.write(string.format(
        "cc requests=%d rps=%.1f non2xx=%d errors=%d reused=%d p50_ms=%.2f p99_ms=%.2f\n",
        summary.requests, summary.requests / secs, nonok,
        e.connect + e.read + e.write + e.timeout, rep,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
