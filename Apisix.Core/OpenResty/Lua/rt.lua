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
    if not r[1] then r[2] = luajit_wording(r[2]) end
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
