-- LuaJIT / Lua 5.1 compatibility for code written for OpenResty, on Lua 5.4.
-- Numbers print the LuaJIT way (%.14g: 10/2 is "5", not "5.0").

local fmt, mtype, tconcat, rawtostring = string.format, math.type, table.concat, tostring

local function num2str(n)
    if mtype(n) == "integer" then
        -- %.14g keeps 14 digits: 1e14 itself already prints as 1e+14 in LuaJIT
        if n > -1e14 and n < 1e14 then return fmt("%d", n) end
        return fmt("%.14g", n)
    end
    if n ~= n then return (fmt("%f", n):find("-", 1, true)) and "-nan" or "nan" end
    if n == math.huge then return "inf" end
    if n == -math.huge then return "-inf" end
    return fmt("%.14g", n)
end
__num2str = num2str

function tostring(v)
    if type(v) == "number" then return num2str(v) end
    return rawtostring(v)
end

-- string.format's %s and table.concat bypass tostring(); route numbers through it.
string.format = function(f, ...)
    local n = select("#", ...)
    if n == 0 then return fmt(f) end
    local args = { ... }
    local i = 0
    for spec in f:gmatch("%%[-+ #0]*%d*%.?%d*([%a%%])") do
        if spec ~= "%" then
            i = i + 1
            local a = args[i]
            if spec == "s" and type(a) == "number" then
                args[i] = num2str(a)
            elseif (spec == "d" or spec == "x" or spec == "X" or spec == "c" or spec == "o" or spec == "i")
                and type(a) == "number" and mtype(a) == "float" and a == a and a ~= math.huge and a ~= -math.huge then
                -- LuaJIT truncates where 5.4 refuses non-integral floats
                args[i] = a >= 0 and math.floor(a) or math.ceil(a)
            end
        end
    end
    return fmt(f, table.unpack(args, 1, n))
end

table.concat = function(t, sep, i, j)
    i = i or 1
    j = j or #t
    local needs = false
    for k = i, j do
        if type(t[k]) == "number" then needs = true break end
    end
    if not needs then return tconcat(t, sep, i, j) end
    local copy = {}
    for k = i, j do
        local v = t[k]
        copy[#copy + 1] = type(v) == "number" and num2str(v) or v
    end
    return tconcat(copy, sep)
end

-- LuaJIT truncates a non-integral count or position (lua_Number cast to int); 5.4 raises
-- "number has no integer representation". string.rep("a", 1024 * 1024 * 1.6) is common in tests.
local function trunc(n)
    if mtype(n) == "float" and n == n and n ~= math.huge and n ~= -math.huge then
        return n >= 0 and math.floor(n) or math.ceil(n)
    end
    return n
end
local srep, ssub = string.rep, string.sub
string.rep = function(s, n, sep) return srep(s, trunc(n), sep) end
string.sub = function(s, i, j)
    if mtype(i) == "float" or mtype(j) == "float" then return ssub(s, trunc(i), j and trunc(j)) end
    return ssub(s, i, j)
end

unpack = table.unpack
loadstring = load
table.getn = function(t) return #t end
table.maxn = function(t)
    local m = 0
    for k in pairs(t) do
        if type(k) == "number" and k > m then m = k end
    end
    return m
end
math.pow = function(a, b) return a ^ b end
math.mod = math.fmod
math.ldexp = function(m, e) return m * 2.0 ^ e end
math.frexp = function(x)
    if x == 0 then return 0.0, 0 end
    local e = math.floor(math.log(math.abs(x), 2)) + 1
    return x / 2 ^ e, e
end
string.gfind = string.gmatch
function setfenv(f, env) return f end
function getfenv() return _G end

-- Lua 5.1's module(name, ...): the module's table (found or made along the dotted name in _G and
-- kept in package.loaded) becomes the calling chunk's global environment, its _ENV upvalue here;
-- each extra argument is applied to it (package.seeall: read the old globals through it)
function module(name, ...)
    if type(name) ~= "string" then
        error("bad argument #1 to 'module' (string expected, got " .. (name == nil and "no value" or type(name)) .. ")", 2)
    end
    local m = package.loaded[name]
    if type(m) ~= "table" then
        m = _G
        for part in name:gmatch("[^%.]+") do
            local t = rawget(m, part)
            if t == nil then t = {} rawset(m, part, t)
            elseif type(t) ~= "table" then error("name conflict for module '" .. name .. "'", 2) end
            m = t
        end
        package.loaded[name] = m
    end
    if m._NAME == nil then
        m._M, m._NAME, m._PACKAGE = m, name, name:match("^(.*%.)") or ""
    end
    local caller = debug.getinfo(2, "f")
    if caller and caller.func then
        for i = 1, math.huge do
            local up = debug.getupvalue(caller.func, i)
            if up == nil then break end
            if up == "_ENV" then debug.setupvalue(caller.func, i, m) break end
        end
    end
    for i = 1, select("#", ...) do (select(i, ...))(m) end
end
function package.seeall(m)
    local mt = getmetatable(m)
    if not mt then mt = {} setmetatable(m, mt) end
    mt.__index = _G
end

local function new_tab() return {} end
package.loaded["table.new"] = function(narr, nrec) return {} end
package.loaded["table.clear"] = function(t)
    for k in pairs(t) do t[k] = nil end
end
package.loaded["table.nkeys"] = function(t)
    local n = 0
    for _ in pairs(t) do n = n + 1 end
    return n
end
package.loaded["table.isempty"] = function(t) return next(t) == nil end
package.loaded["table.isarray"] = function(t)
    local n = 0
    for k in pairs(t) do
        if type(k) ~= "number" or k < 1 or mtype(k) == "float" and k ~= math.floor(k) then return false end
        n = n + 1
    end
    return n == #t
end
package.loaded["table.clone"] = function(t)
    local c = {}
    for k, v in pairs(t) do c[k] = v end
    return c
end
package.loaded["jit.util"] = {}
jit = { version = "LuaJIT 2.1.0-beta3", version_num = 20100, os = "Linux", arch = "x64",
        on = function() end, off = function() end, flush = function() end, status = function() return true end }
package.loaded.jit = jit

-- LuaJIT's "bit" module: 32-bit two's complement results.
local function tobit(x)
    x = math.floor(x) & 0xffffffff
    if x >= 0x80000000 then x = x - 0x100000000 end
    return x
end
local function u32(x) return math.floor(x) & 0xffffffff end
bit = {
    tobit = tobit,
    tohex = function(x, n)
        n = n or 8
        local up = n < 0
        n = math.abs(n)
        local s = fmt(up and "%X" or "%x", u32(x))
        if #s < n then s = string.rep("0", n - #s) .. s end
        return s:sub(-n)
    end,
    bnot = function(x) return tobit(~u32(x)) end,
    band = function(a, ...) local r = u32(a) for _, v in ipairs({ ... }) do r = r & u32(v) end return tobit(r) end,
    bor = function(a, ...) local r = u32(a) for _, v in ipairs({ ... }) do r = r | u32(v) end return tobit(r) end,
    bxor = function(a, ...) local r = u32(a) for _, v in ipairs({ ... }) do r = r ~ u32(v) end return tobit(r) end,
    lshift = function(x, n) return tobit(u32(x) << (n & 31)) end,
    rshift = function(x, n) return tobit(u32(x) >> (n & 31)) end,
    arshift = function(x, n)
        local v = tobit(x)
        n = n & 31
        if v >= 0 then return tobit(v >> n) end
        return tobit(~((~u32(v) & 0xffffffff) >> n))
    end,
    rol = function(x, n) n = n & 31 x = u32(x) return tobit((x << n) | (x >> (32 - n))) end,
    ror = function(x, n) n = n & 31 x = u32(x) return tobit((x >> n) | (x << (32 - n))) end,
    bswap = function(x)
        x = u32(x)
        return tobit(((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >> 8) & 0xff00) | (x >> 24))
    end,
}
package.loaded.bit = bit
