-- A small stand-in for the `inspect` library: a readable, stable rendering of Lua values
-- (sorted keys, nested indentation, <metatable> entries, <table n> for repeats).
local type, tostring, pairs, ipairs, getmetatable, setmetatable, math_huge =
    type, tostring, pairs, ipairs, getmetatable, setmetatable, math.huge
local format, gsub, rep, match, concat, sort = string.format, string.gsub, string.rep, string.match,
    table.concat, table.sort

local inspect = { _VERSION = "inspect.lua 3.1.0" }
inspect.KEY = setmetatable({}, { __tostring = function() return "inspect.KEY" end })
inspect.METATABLE = setmetatable({}, { __tostring = function() return "inspect.METATABLE" end })

local CONTROL = { ["\a"] = "\\a", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r",
                  ["\t"] = "\\t", ["\v"] = "\\v", ["\127"] = "\\127" }

local function escape(s)
    s = gsub(s, "\\", "\\\\")
    s = gsub(s, "[%c\127]", function(c) return CONTROL[c] or ("\\" .. c:byte()) end)
    return s
end

local function quote(s)
    if s:find('"', 1, true) and not s:find("'", 1, true) then return "'" .. escape(s) .. "'" end
    return '"' .. gsub(escape(s), '"', '\\"') .. '"'
end

local function is_identifier(k)
    return type(k) == "string" and match(k, "^[_%a][_%a%d]*$") ~= nil
end

local TYPE_ORDER = { number = 1, boolean = 2, string = 3, table = 4, ["function"] = 5, userdata = 6, thread = 7 }

local function key_less(a, b)
    local ta, tb = type(a), type(b)
    if ta == tb and (ta == "string" or ta == "number") then return a < b end
    local oa, ob = TYPE_ORDER[ta] or 8, TYPE_ORDER[tb] or 8
    if oa == ob then return tostring(a) < tostring(b) end
    return oa < ob
end

local function render(root, options)
    options = options or {}
    local depth = options.depth or math_huge
    local nl = options.newline or "\n"
    local indent = options.indent or "  "
    local process = options.process
    local ids, counts, next_id = {}, {}, {}

    local function count(v)
        if type(v) ~= "table" then return end
        counts[v] = (counts[v] or 0) + 1
        if counts[v] > 1 then return end
        for k, x in pairs(v) do
            count(k)
            count(x)
        end
        count(getmetatable(v))
    end
    count(root)

    local function id_of(v)
        local t = type(v)
        next_id[t] = next_id[t] or 0
        if not ids[v] then
            next_id[t] = next_id[t] + 1
            ids[v] = next_id[t]
        end
        return ids[v]
    end

    local buf = {}
    local seen = {}
    local put

    local function newline(level) buf[#buf + 1] = nl .. rep(indent, level) end

    put = function(v, level)
        if process then
            v = process(v, {})
            if v == nil then return end
        end
        local t = type(v)
        if t == "string" then buf[#buf + 1] = quote(v)
        elseif t == "number" or t == "boolean" or t == "nil" then buf[#buf + 1] = tostring(v)
        elseif t == "table" then
            if seen[v] then
                buf[#buf + 1] = "<table " .. id_of(v) .. ">"
                return
            end
            if (counts[v] or 0) > 1 then buf[#buf + 1] = "<" .. id_of(v) .. ">" end
            if level >= depth then
                buf[#buf + 1] = "{...}"
                return
            end
            seen[v] = true
            local n = #v
            local keys = {}
            for k in pairs(v) do
                if not (type(k) == "number" and k >= 1 and k <= n and k % 1 == 0) then keys[#keys + 1] = k end
            end
            sort(keys, key_less)
            local mt = getmetatable(v)
            if n == 0 and #keys == 0 and type(mt) ~= "table" then
                buf[#buf + 1] = "{}"
                seen[v] = nil
                return
            end
            buf[#buf + 1] = "{"
            for i = 1, n do
                buf[#buf + 1] = i == 1 and " " or ", "
                put(v[i], level + 1)
            end
            for i, k in ipairs(keys) do
                if i > 1 or n > 0 then buf[#buf + 1] = "," end
                newline(level + 1)
                if is_identifier(k) then buf[#buf + 1] = k
                else
                    buf[#buf + 1] = "["
                    put(k, level + 1)
                    buf[#buf + 1] = "]"
                end
                buf[#buf + 1] = " = "
                put(v[k], level + 1)
            end
            if type(mt) == "table" then
                if n > 0 or #keys > 0 then buf[#buf + 1] = "," end
                newline(level + 1)
                buf[#buf + 1] = "<metatable> = "
                put(mt, level + 1)
            end
            if #keys > 0 or type(mt) == "table" then newline(level)
            elseif n > 0 then buf[#buf + 1] = " " end
            buf[#buf + 1] = "}"
            seen[v] = nil
        else
            buf[#buf + 1] = "<" .. t .. " " .. id_of(v) .. ">"
        end
    end

    put(root, 0)
    return concat(buf)
end

inspect.inspect = render

return setmetatable(inspect, { __call = function(_, root, options) return render(root, options) end })
