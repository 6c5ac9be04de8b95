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

-- lua-nginx-module prints a failed thread's traceback coroutine by coroutine, innermost first
-- ("coroutine 0:", "coroutine 1:", ...). coroutine.wrap hands its child's frames up with the error.
local wrapped_err, wrapped_frames

local function frames(co)
    return (traceback(co):gsub("^stack traceback:\n?", ""))
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

-- LuaJIT words a runtime error on a named value differently from Lua 5.4:
-- "attempt to call field 'x' (a nil value)" for "field 'x' is not callable (a nil value)", and
-- "attempt to index local 'x' (a nil value)" for "attempt to index a nil value (local 'x')"
local function luajit_msg(msg)
    if type(msg) ~= "string" then return msg end
    msg = msg:gsub("(%a+) '([^']*)' is not callable %(a (%a+) value%)", "attempt to call %1 '%2' (a %3 value)")
    return (msg:gsub("attempt to (%a[%a ]-) a (%a+) value %((%a+) '([^']*)'%)", "attempt to %1 %3 '%4' (a %2 value)"))
end
rt.luajit_msg = luajit_msg

function rt.new(id, fn)
    cos[id] = co_create(fn)
end

-- Resume coroutine `id`; returns "yield", op | "done", results... | "exit" | "error", msg, traceback | "dead".
function rt.step(id, ...)
    local co = cos[id]
    if not co then return "dead" end
    local r = pack(raw_resume(co, ...))
    if not r[1] then
        cos[id] = nil
        return "error", luajit_msg(r[2]), thread_traceback(co, r[2])
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

-- Wait for op `op` (an id from C#) from any Lua code running in a scheduled coroutine.
function rt.await(op)
    return co_yield(YIELD, op)
end

-- User coroutines must let the scheduler's yields through (OpenResty does the same).
local function resume(co, ...)
    local r = pack(raw_resume(co, ...))
    while r[1] and co_status(co) == "suspended" and (r[2] == YIELD or r[2] == EXIT) do
        if r[2] == EXIT then return co_yield(EXIT) end
        local res = pack(co_yield(YIELD, r[3]))
        r = pack(raw_resume(co, unpack(res, 1, res.n)))
    end
    return unpack(r, 1, r.n)
end
coroutine.resume = resume

function coroutine.wrap(fn)
    local co = co_create(fn)
    return function(...)
        local r = pack(resume(co, ...))
        if not r[1] then
            local chain = (wrapped_frames and rawequal(wrapped_err, r[2])) and wrapped_frames or {}
            chain[#chain + 1] = frames(co)
            wrapped_err, wrapped_frames = r[2], chain
            error(r[2], 0)
        end
        return unpack(r, 2, r.n)
    end
end

return rt
