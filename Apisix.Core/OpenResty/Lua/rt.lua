-- The worker's coroutine scheduler, Lua half. C# owns the event loop and the ids; this file owns
-- the coroutines. A blocking ngx API yields (YIELD, op) up to here; C# resumes the coroutine
-- with the op's results when the op completes. ngx.exit yields EXIT to end the entry thread.

local raw_resume, co_create, co_status, co_yield = coroutine.resume, coroutine.create, coroutine.status, coroutine.yield
local pack, unpack, concat = table.pack, table.unpack, table.concat
local traceback = debug.traceback
local ipairs = ipairs

local rt = { YIELD = setmetatable({}, { __name = "ngx.yield" }), EXIT = setmetatable({}, { __name = "ngx.exit" }) }
local YIELD, EXIT = rt.YIELD, rt.EXIT
local cos = {}

-- Runtime errors as LuaJIT words them. Lua 5.4 puts the variable after the type
-- ("attempt to index a nil value (local 'x')", "field 'f' is not callable (a nil value)");
-- LuaJIT puts it first ("attempt to index local 'x' (a nil value)", "attempt to call field 'f'
-- (a nil value)"), and names no constant or for iterator.
local function luajit_wording(msg)
    if type(msg) ~= "string" or not msg:find(" value", 1, true) then return msg end
    msg = msg:gsub("(%a[%a ]-) '([^']*)' is not callable %(a (%a+) value%)", function(kind, name, typ)
        if kind == "constant" or kind == "for iterator" then return "attempt to call a " .. typ .. " value" end
        return "attempt to call " .. kind .. " '" .. name .. "' (a " .. typ .. " value)"
    end)
    msg = msg:gsub("attempt to (%a[%a ]-) a (%a+) value %((%a[%a ]-) '([^']*)'%)", function(what, typ, kind, name)
        if kind == "constant" or kind == "for iterator" then return "attempt to " .. what .. " a " .. typ .. " value" end
        return "attempt to " .. what .. " " .. kind .. " '" .. name .. "' (a " .. typ .. " value)"
    end)
    return msg
end
rt.luajit_wording = luajit_wording

local raw_pcall, raw_xpcall, select = pcall, xpcall, select
local function reword(ok, ...)
    if ok then return ok, ... end
    return false, luajit_wording((...)), select(2, ...)
end
function pcall(f, ...) return reword(raw_pcall(f, ...)) end
function xpcall(f, handler, ...)
    if handler == traceback then -- the traceback starts where the error was raised, not here
        return raw_xpcall(f, function(e) return traceback(luajit_wording(e), 2) end, ...)
    end
    return raw_xpcall(f, function(e) return handler(luajit_wording(e)) end, ...)
end

-- lua-nginx-module prints a failed thread's traceback coroutine by coroutine, innermost first
-- ("coroutine 0:", "coroutine 1:", ...). coroutine.wrap hands its child's frames up with the error.
local wrapped_err, wrapped_frames

-- LuaJIT names every called function "function 'name'", whatever it was reached through
local function frames(co)
    return (traceback(co):gsub("^stack traceback:\n?", "")
        :gsub(" in (%a+) '([^'?]+)'", function(kind, name)
            if kind == "local" or kind == "upvalue" or kind == "field" or kind == "method" then
                return " in function '" .. name .. "'"
            end
        end))
end

local function thread_traceback(co, err)
    local parts, n = { "stack traceback:" }, 0
    if wrapped_frames and rawequal(wrapped_err, err) then
        for _, f in ipairs(wrapped_frames) do
            parts[#parts + 1] = "coroutine " .. n .. ":\n" .. f
            n = n + 1
        end
    end
    wrapped_err, wrapped_frames = nil, nil
    parts[#parts + 1] = "coroutine " .. n .. ":\n" .. frames(co)
    return concat(parts, "\n")
end

function rt.new(id, fn)
    local co = co_create(fn)
    cos[id] = co
    return co
end

-- Resume coroutine `id`; returns "yield", op | "done", results... | "exit" | "error", msg, traceback | "dead".
local current -- the id of the scheduled coroutine running now (user threads run inside their spawner)
function rt.current() return current end

function rt.step(id, ...)
    local co = cos[id]
    if not co then return "dead" end
    local prev = current
    current = id
    local r = pack(raw_resume(co, ...))
    current = prev
    if not r[1] then
        cos[id] = nil
        return "error", luajit_wording(r[2]), thread_traceback(co, r[2])
    end
    if co_status(co) == "dead" then
        cos[id] = nil
        return "done", unpack(r, 2, r.n)
    end
    if r[2] == YIELD then return "yield", r[3] end
    if r[2] == EXIT then
        cos[id] = nil
        return "exit"
    end
    -- a bare coroutine.yield() in an entry thread gives way to others, as in OpenResty
    return "yield", 0
end

function rt.kill(id)
    cos[id] = nil
end

function rt.alive(id)
    return cos[id] ~= nil
end

-- lua-nginx-module's coroutine states beyond Lua's own: a coroutine waiting on nginx (I/O, a
-- sleep) is still "running", the one that resumed it "normal"; a user thread that ended but was
-- not waited for yet is a "zombie".
local co_running = coroutine.running
local co_state = setmetatable({}, { __mode = "k" })
rt.zombies = setmetatable({}, { __mode = "k" })
rt.sleeping = setmetatable({}, { __mode = "k" }) -- coroutines in ngx.sleep

-- Wait for op `op` (an id from C#) from any Lua code running in a scheduled coroutine.
-- op -1: the coroutine was already posted to run again (ngx.thread.spawn's parent).
function rt.await(op)
    local me = co_running()
    co_state[me] = "running"
    local r = pack(co_yield(YIELD, op))
    co_state[me] = nil
    return unpack(r, 1, r.n)
end

-- lua-nginx-module's own coroutine API serves requests; without one (init, init_worker) and in
-- the header and body filters, LuaJIT's own functions run.
local std_phases = { init = true, init_worker = true, exit_worker = true, header_filter = true, body_filter = true }
local function std()
    local cs = __cs
    return cs ~= nil and std_phases[cs:Phase()] == true
end

-- User coroutines must let the scheduler's yields through (OpenResty does the same).
local function resume(co, ...)
    if not std() and type(co) == "thread" then
        local st = coroutine.status(co)
        if st ~= "suspended" then return false, "cannot resume " .. st .. " coroutine" end
    end
    local r = pack(raw_resume(co, ...))
    while r[1] and co_status(co) == "suspended" and (r[2] == YIELD or r[2] == EXIT) do
        if r[2] == EXIT then return co_yield(EXIT) end
        local me = co_running()
        co_state[me] = "normal"
        local res = pack(co_yield(YIELD, r[3]))
        co_state[me] = nil
        r = pack(raw_resume(co, unpack(res, 1, res.n)))
    end
    if not r[1] then r[2] = luajit_wording(r[2]) end
    return unpack(r, 1, r.n)
end
coroutine.resume = resume

function coroutine.status(co)
    local st = co_status(co)
    if st == "suspended" then return co_state[co] or st end
    if st == "dead" and rt.zombies[co] then return "zombie" end
    return st
end

function coroutine.wrap(fn)
    local co = co_create(fn)
    return function(...)
        local r = pack(resume(co, ...))
        if not r[1] then
            -- LuaJIT's own wrap: a string error gains the position of the call
            if std() then error(r[2], type(r[2]) == "string" and 2 or 0) end
            local chain = (wrapped_frames and rawequal(wrapped_err, r[2])) and wrapped_frames or {}
            chain[#chain + 1] = frames(co)
            wrapped_err, wrapped_frames = r[2], chain
            error(r[2], 0)
        end
        return unpack(r, 2, r.n)
    end
end

return rt
