-- bench/common.lua — helpers shared by bench/flow.lua and bench/refresh.lua (loaded with
-- dofile from $GH_BENCH_DIR). wrk runs one Lua state per thread plus one for setup()/done();
-- this file is loaded into each of them.
local C = {}

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } gh_timespec;
int clock_gettime(int clk, gh_timespec *ts);
]]
local ts = ffi.new("gh_timespec")

-- monotonic clock in milliseconds (CLOCK_MONOTONIC = 1)
function C.now_ms()
    ffi.C.clock_gettime(1, ts)
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

function C.env(name, default)
    local v = os.getenv(name)
    if v == nil or v == "" then
        if default == nil then
            error("bench: environment variable " .. name .. " is required")
        end
        return default
    end
    return v
end

-- application/x-www-form-urlencoded / query component
function C.urlencode(s)
    return (s:gsub("[^%w%-%._~]", function(ch)
        return string.format("%%%02X", string.byte(ch))
    end))
end

-- header lookup that does not depend on the case the server used
function C.header(headers, name)
    local v = headers[name]
    if v then
        return v
    end
    local lname = name:lower()
    for k, val in pairs(headers) do
        if k:lower() == lname then
            return val
        end
    end
    return nil
end

function C.read_lines(path)
    local t = {}
    local f = io.open(path, "r")
    if not f then
        error("bench: cannot open " .. path)
    end
    for line in f:lines() do
        if line ~= "" then
            t[#t + 1] = line
        end
    end
    f:close()
    return t
end

-- nearest-rank percentile of a sorted array
function C.percentile(sorted, p)
    if #sorted == 0 then
        return 0
    end
    local i = math.ceil(p / 100 * #sorted)
    if i < 1 then
        i = 1
    end
    return sorted[i]
end

-- say something about the first few failures only, so a broken run does not flood the terminal
local complaints = 0
function C.complain(tid, what, status, body)
    if complaints < 3 then
        complaints = complaints + 1
        io.stderr:write(string.format("bench: thread %s: %s: HTTP %s %s\n", tostring(tid), what,
            tostring(status), (body or ""):sub(1, 200):gsub("%s+", " ")))
    end
end

return C
