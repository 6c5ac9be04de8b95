-- Stand-in for api7's test-toolkit json module (a dkjson variant), used when the checkout lacks
-- t/toolkit/json.lua: encode sorts object keys by default, tables whose keys are 1..n (holes
-- allowed within reason) and empty tables are arrays, json.null and ngx.null are null; decode
-- builds plain tables tagged with __jsontype metatables.
local type, pairs, tostring, tonumber, error, setmetatable, getmetatable, rawget =
    type, pairs, tostring, tonumber, error, setmetatable, getmetatable, rawget
local concat, sort = table.concat, table.sort
local byte, char, sub, find, format, gsub, rep = string.byte, string.char, string.sub, string.find,
    string.format, string.gsub, string.rep
local floor, huge = math.floor, math.huge

local json = { version = "dkjson 2.5" }

json.null = setmetatable({}, { __tojson = function() return "null" end })

local ngx_null = ngx and ngx.null

local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
                  ["\r"] = "\\r", ["\t"] = "\\t" }

local function escape_byte(c)
    return ESCAPES[c] or format("\\u%.4x", byte(c))
end

-- UTF-8 sequences dkjson writes as \u escapes (invisible or line-breaking code points)
local function escape_utf8(seq)
    local a, b, c = byte(seq, 1, 3)
    local cp
    if #seq == 2 then cp = (a - 0xC0) * 64 + (b - 0x80)
    else cp = ((a - 0xE0) * 64 + (b - 0x80)) * 64 + (c - 0x80) end
    return format("\\u%.4x", cp)
end

local function quote(s)
    s = gsub(s, '[%z\1-\31"\\\127]', escape_byte)
    if find(s, "[\194\216\220\225\226\239]") then
        s = gsub(s, "\194\173", escape_utf8)
        s = gsub(s, "\216[\128-\132]", escape_utf8)
        s = gsub(s, "\220\143", escape_utf8)
        s = gsub(s, "\225\158[\180\181]", escape_utf8)
        s = gsub(s, "\226\128[\140-\143\168-\175]", escape_utf8)
        s = gsub(s, "\226\129[\160-\175]", escape_utf8)
        s = gsub(s, "\239\187\191", escape_utf8)
        s = gsub(s, "\239\191[\176-\191]", escape_utf8)
    end
    return '"' .. s .. '"'
end
json.quotestring = quote

local function array_length(t)
    local max, n, arraylen = 0, 0, 0
    for k, v in pairs(t) do
        if k == "n" and type(v) == "number" then
            arraylen = v
            if v > max then max = v end
        else
            if type(k) ~= "number" or k < 1 or floor(k) ~= k then return nil end
            if k > max then max = k end
            n = n + 1
        end
    end
    if max > 10 and max > arraylen and max > n * 2 then return nil end
    return max
end

local function key_less(a, b)
    local ta, tb = type(a), type(b)
    if ta == tb and (ta == "string" or ta == "number") then return a < b end
    if ta ~= tb then return ta < tb end
    return tostring(a) < tostring(b)
end

local encode_value

local function newline(buf, indent, level)
    buf[#buf + 1] = "\n" .. rep("  ", level)
end

local function encode_table(t, buf, state, level, seen)
    if seen[t] then error("reference cycle", 0) end
    seen[t] = true
    local mt = getmetatable(t)
    local n = array_length(t)
    if n == 0 and type(mt) == "table" and rawget(mt, "__jsontype") == "object" then n = nil end
    if n then
        buf[#buf + 1] = "["
        for i = 1, n do
            if i > 1 then buf[#buf + 1] = "," end
            encode_value(t[i], buf, state, level + 1, seen)
        end
        buf[#buf + 1] = "]"
    else
        buf[#buf + 1] = "{"
        local order = type(mt) == "table" and rawget(mt, "__jsonorder") or state.keyorder
        local keys, used = {}, {}
        if type(order) == "table" then
            for _, k in ipairs(order) do
                if t[k] ~= nil and not used[k] then
                    keys[#keys + 1] = k
                    used[k] = true
                end
            end
        end
        local rest = {}
        for k in pairs(t) do
            if not used[k] then rest[#rest + 1] = k end
        end
        if state.sortkey or order == true then sort(rest, key_less) end
        for _, k in ipairs(rest) do keys[#keys + 1] = k end
        for i, k in ipairs(keys) do
            local kt = type(k)
            if kt ~= "string" and kt ~= "number" then
                error("type '" .. kt .. "' is not supported as a key by JSON.", 0)
            end
            if i > 1 then buf[#buf + 1] = "," end
            if state.indent then newline(buf, state.indent, level + 1) end
            buf[#buf + 1] = quote(tostring(k))
            buf[#buf + 1] = ":"
            encode_value(t[k], buf, state, level + 1, seen)
        end
        if state.indent and #keys > 0 then newline(buf, state.indent, level) end
        buf[#buf + 1] = "}"
    end
    seen[t] = nil
end

encode_value = function(v, buf, state, level, seen)
    local mt = getmetatable(v)
    local tojson = type(mt) == "table" and rawget(mt, "__tojson")
    if tojson then
        buf[#buf + 1] = tojson(v, state)
        return
    end
    local t = type(v)
    if v == nil or (ngx_null ~= nil and v == ngx_null) then
        buf[#buf + 1] = "null"
    elseif t == "number" then
        if v ~= v or v >= huge or -v >= huge then buf[#buf + 1] = "null"
        else buf[#buf + 1] = tostring(v) end
    elseif t == "boolean" then
        buf[#buf + 1] = v and "true" or "false"
    elseif t == "string" then
        buf[#buf + 1] = quote(v)
    elseif t == "table" then
        encode_table(v, buf, state, level, seen)
    else
        error("type '" .. t .. "' is not supported by JSON.", 0)
    end
end

function json.encode(value, state)
    state = state or { sortkey = true }
    local buf = {}
    local ok, err = pcall(encode_value, value, buf, state, state.level or 0, {})
    if not ok then error(err, 2) end
    return concat(buf)
end

function json.addnewline(state)
    if state.indent then return "\n" .. rep("  ", state.level or 0) end
    return ""
end

function json.encodeexception(reason, value, state, defaultmessage)
    return quote("<" .. defaultmessage .. ">")
end

-- Decoding -------------------------------------------------------------------------------------

local function location(str, pos)
    local line, col = 1, 1
    local i = 1
    while true do
        local nl = find(str, "\n", i, true)
        if not nl or nl >= pos then break end
        line = line + 1
        i = nl + 1
    end
    col = pos - i + 1
    return "line " .. line .. ", column " .. col
end

local function utf8_char(cp)
    if cp < 0x80 then return char(cp) end
    if cp < 0x800 then return char(0xC0 + floor(cp / 64), 0x80 + cp % 64) end
    if cp < 0x10000 then
        return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
    end
    return char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64, 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
end

local UNESCAPE = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

local function decoder(str, nullval, objectmeta, arraymeta)
    local parse_value

    local function fail(msg, pos)
        error({ msg = msg .. " at " .. location(str, pos), pos = pos }, 0)
    end

    local function skip(pos)
        while true do
            local s, e = find(str, "^[ \n\r\t]+", pos)
            if s then pos = e + 1 end
            if sub(str, pos, pos + 1) == "/*" then
                local c = find(str, "*/", pos + 2, true)
                if not c then fail("unterminated comment", pos) end
                pos = c + 2
            elseif sub(str, pos, pos + 1) == "//" then
                local c = find(str, "\n", pos + 2, true)
                pos = c and c + 1 or #str + 1
            elseif not s then
                return pos
            end
        end
    end

    local function parse_string(pos)
        local out, i = {}, pos + 1
        while true do
            local s, e = find(str, '["\\]', i)
            if not s then fail("unterminated string", pos) end
            out[#out + 1] = sub(str, i, s - 1)
            if sub(str, s, s) == '"' then return concat(out), s + 1 end
            local c = sub(str, s + 1, s + 1)
            if c == "u" then
                local hex = sub(str, s + 2, s + 5)
                local cp = tonumber(hex, 16)
                if not cp or #hex ~= 4 then fail("invalid unicode escape", s) end
                i = s + 6
                if cp >= 0xD800 and cp <= 0xDBFF and sub(str, i, i + 1) == "\\u" then
                    local lo = tonumber(sub(str, i + 2, i + 5), 16)
                    if lo and lo >= 0xDC00 and lo <= 0xDFFF then
                        cp = 0x10000 + (cp - 0xD800) * 1024 + (lo - 0xDC00)
                        i = i + 6
                    end
                end
                out[#out + 1] = utf8_char(cp)
            else
                local r = UNESCAPE[c]
                out[#out + 1] = r or c
                i = s + 2
            end
        end
    end

    function parse_value(pos)
        pos = skip(pos)
        local c = sub(str, pos, pos)
        if c == "{" then
            local obj = setmetatable({}, objectmeta)
            pos = skip(pos + 1)
            if sub(str, pos, pos) == "}" then return obj, pos + 1 end
            while true do
                pos = skip(pos)
                if sub(str, pos, pos) ~= '"' then fail("expected string as key", pos) end
                local k
                k, pos = parse_string(pos)
                pos = skip(pos)
                if sub(str, pos, pos) ~= ":" then fail("no valid JSON value (missing ':')", pos) end
                local v
                v, pos = parse_value(pos + 1)
                obj[k] = v
                pos = skip(pos)
                local d = sub(str, pos, pos)
                if d == "}" then return obj, pos + 1 end
                if d ~= "," then fail("'}' expected", pos) end
                pos = pos + 1
            end
        elseif c == "[" then
            local arr, n = setmetatable({}, arraymeta), 0
            pos = skip(pos + 1)
            if sub(str, pos, pos) == "]" then return arr, pos + 1 end
            while true do
                local v
                v, pos = parse_value(pos)
                n = n + 1
                arr[n] = v
                pos = skip(pos)
                local d = sub(str, pos, pos)
                if d == "]" then return arr, pos + 1 end
                if d ~= "," then fail("']' expected", pos) end
                pos = pos + 1
            end
        elseif c == '"' then
            return parse_string(pos)
        end
        local s, e = find(str, "^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
        if s then
            local num = tonumber(sub(str, s, e))
            if num then return num, e + 1 end
        end
        if sub(str, pos, pos + 3) == "true" then return true, pos + 4 end
        if sub(str, pos, pos + 4) == "false" then return false, pos + 5 end
        if sub(str, pos, pos + 3) == "null" then return nullval, pos + 4 end
        fail("no valid JSON value", pos)
    end

    return parse_value
end

function json.decode(str, pos, nullval, objectmeta, arraymeta)
    objectmeta = objectmeta or { __jsontype = "object" }
    arraymeta = arraymeta or { __jsontype = "array" }
    if type(str) ~= "string" then return nil, 1, "no valid JSON value at line 1, column 1" end
    local parse = decoder(str, nullval, objectmeta, arraymeta)
    local ok, v, npos = pcall(parse, pos or 1)
    if not ok then
        if type(v) == "table" then return nil, v.pos, v.msg end
        error(v, 2)
    end
    return v, npos
end

json.using_lpeg = false
function json.use_lpeg() return json end

return json
