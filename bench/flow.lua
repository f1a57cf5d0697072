-- bench/flow.lua — wrk script: complete browser sign-ins against gatehouse, each one
--   GET /authorize -> (200 login form) -> POST /login -> 303 with code -> POST /token -> 200
-- Run it with as many wrk threads as connections (-tN -cN): wrk keeps one Lua state per thread,
-- and this state machine assumes its thread has exactly one connection, so the responses come
-- back in the order of the requests.
--
-- GH_MODE=first  every flow is a first login in a fresh browser: no cookie from earlier flows is
--                sent (the authorize answer sets a new gh_login binding cookie each time), and
--                the users rotate over GH_USERS accounts.
-- GH_MODE=sso    the browser already has a session: GET /authorize with the gh_session cookie
--                answers 302 with a code straight away, then POST /token. Sessions come from
--                GH_SESSIONS (one gh_session value per line, line N for thread N), made before
--                the run so no password hash falls inside the measurement; a thread without
--                one signs in first and does not count that flow.
--
-- Environment: GH_BENCH_DIR (where common.lua is), GH_MODE, GH_CLIENT_ID, GH_AUTH (the
-- Authorization header value for /token; unset for a public client, which then sends
-- client_id), GH_REDIRECT, GH_CHALLENGE + GH_VERIFIER (one fixed PKCE pair: every code is
-- still new, and SHA-256 in Lua would cost wrk CPU the server needs), GH_USERS,
-- GH_USER_FMT / GH_PASSWORD_FMT (string.format patterns taking the user number, 1-based),
-- GH_SESSIONS (sso mode), GH_THREADS (= wrk -t, to spread the users).
--
-- done() prints one line:
--   flows mode=M threads=N flows=F errors=E seconds=S flows_per_s=R p50_ms=A p99_ms=B
-- (latency of a whole flow, first request sent to token response received).

local C = dofile((os.getenv("GH_BENCH_DIR") or "bench") .. "/common.lua")

local mode = C.env("GH_MODE", "first")
local client_id = C.env("GH_CLIENT_ID")
local auth = os.getenv("GH_AUTH")
local redirect = C.env("GH_REDIRECT")
local challenge = C.env("GH_CHALLENGE")
local verifier = C.env("GH_VERIFIER")
local nusers = tonumber(C.env("GH_USERS", "1"))
local user_fmt = C.env("GH_USER_FMT", "bench%02d")
local pw_fmt = C.env("GH_PASSWORD_FMT", "bench-password-%02d-x")
local scope = C.env("GH_SCOPE", "openid profile email")
local nthreads = tonumber(C.env("GH_THREADS", "1"))   -- the same number as wrk -t

-- ---- main state: number the threads, collect their counters ---------------------------------
local threads = {}
local next_tid = 1

function setup(thread)
    thread:set("tid", next_tid)
    next_tid = next_tid + 1
    threads[#threads + 1] = thread
end

-- ---- thread state ---------------------------------------------------------------------------
local step                 -- "authorize" | "login" | "token"
local session              -- gh_session value (sso mode)
local bind, iid, csrf, code, state
local t0                   -- when the current flow's first request was sent
local counted              -- does the current flow count (false: an sso thread signing in)
local n = 0                -- flows started by this thread
flows, errors, lat = 0, 0, {}

local authorize_base, token_headers, redirect_enc

function init(args)
    -- tid was set by setup() in this state's globals
    step = "authorize"
    redirect_enc = C.urlencode(redirect)
    authorize_base = "/authorize?response_type=code&client_id=" .. C.urlencode(client_id) ..
        "&redirect_uri=" .. redirect_enc .. "&scope=" .. C.urlencode(scope) ..
        "&code_challenge=" .. challenge .. "&code_challenge_method=S256"
    token_headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
    if auth then
        token_headers["Authorization"] = auth
    end
    if mode == "sso" then
        local path = os.getenv("GH_SESSIONS")
        if path then
            local lines = C.read_lines(path)
            session = lines[tid]
        end
    end
end

local function fail(what, status, body)
    errors = errors + 1
    C.complain(tid, what, status, body)
    step = "authorize"
end

function request()
    if step == "authorize" then
        n = n + 1
        t0 = C.now_ms()
        counted = mode == "first" or session ~= nil
        state = tid .. "-" .. n
        local headers = {}
        if mode == "sso" and session then
            headers["Cookie"] = "gh_session=" .. session
        end
        return wrk.format("GET", authorize_base .. "&state=" .. state .. "&nonce=n" .. state,
            headers)
    elseif step == "login" then
        -- the users rotate: thread t's k-th login is user (t-1 + (k-1)*threads) mod nusers
        local u = ((tid - 1) + (n - 1) * nthreads) % nusers + 1
        local body = "interaction=" .. iid .. "&csrf=" .. csrf ..
            "&username=" .. C.urlencode(string.format(user_fmt, u)) ..
            "&password=" .. C.urlencode(string.format(pw_fmt, u))
        return wrk.format("POST", "/login", {
            ["Content-Type"] = "application/x-www-form-urlencoded",
            ["Cookie"] = "gh_login=" .. bind,
        }, body)
    else
        local body = "grant_type=authorization_code&code=" .. code ..
            "&redirect_uri=" .. redirect_enc .. "&code_verifier=" .. verifier
        if not auth then
            body = body .. "&client_id=" .. C.urlencode(client_id)
        end
        return wrk.format("POST", "/token", token_headers, body)
    end
end

-- the code from a redirect to the client, after checking state (RFC 6749 §4.1.2)
local function code_from(headers)
    local loc = C.header(headers, "Location")
    if not loc then
        return nil
    end
    local c = loc:match("[?&]code=([^&]+)")
    local s = loc:match("[?&]state=([^&]+)")
    if s ~= state then
        return nil
    end
    return c
end

function response(status, headers, body)
    if step == "authorize" then
        if status == 302 then
            code = code_from(headers)
            if not code then
                return fail("authorize: redirect without a code", status, C.header(headers, "Location"))
            end
            step = "token"
        elseif status == 200 then
            if mode == "sso" and session then
                -- the session is gone: sign in again, without counting this flow
                session = nil
                counted = false
            end
            local sc = C.header(headers, "Set-Cookie") or ""
            bind = sc:match("gh_login=([^;]+)")
            iid = body:match('name="interaction" value="([^"]+)"')
            csrf = body:match('name="csrf" value="([^"]+)"')
            if not (bind and iid and csrf) then
                return fail("authorize: login page without cookie/interaction/csrf", status, body)
            end
            step = "login"
        else
            return fail("authorize", status, body)
        end
    elseif step == "login" then
        if status ~= 303 then
            return fail("login", status, body)
        end
        code = code_from(headers)
        if not code then
            return fail("login: redirect without a code", status, C.header(headers, "Location"))
        end
        if mode == "sso" then
            local sc = C.header(headers, "Set-Cookie") or ""
            session = sc:match("gh_session=([^;]+)")
        end
        step = "token"
    else
        if status ~= 200 or not body:find('"access_token":"', 1, true) or
            not body:find('"id_token":"', 1, true) then
            return fail("token", status, body)
        end
        if counted then
            flows = flows + 1
            lat[#lat + 1] = C.now_ms() - t0
        end
        step = "authorize"
    end
end

-- ---- main state again ---------------------------------------------------------------------
function done(summary, latency, requests)
    local all, f, e = {}, 0, 0
    for _, t in ipairs(threads) do
        f = f + t:get("flows")
        e = e + t:get("errors")
        for _, v in ipairs(t:get("lat")) do
            all[#all + 1] = v
        end
    end
    table.sort(all)
    local secs = summary.duration / 1e6
    io.write(string.format(
        "flows mode=%s threads=%d flows=%d errors=%d seconds=%.2f flows_per_s=%.1f " ..
        "p50_ms=%.1f p99_ms=%.1f\n", mode, #threads, f, e, secs, f / secs,
        C.percentile(all, 50), C.percentile(all, 99)))
end
