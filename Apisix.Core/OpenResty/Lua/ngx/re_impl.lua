-- ngx.re (match, find, gmatch, sub, gsub) for the emulated OpenResty. PCRE patterns run on .NET
-- regexes through the "ngx.re" bridge; this file handles options, ctx.pos and the 1-based
-- results. Compile errors come back as nil + message; bad option letters raise.
local native = __bridge("ngx.re")
local n_compile, n_match, n_find, n_all, n_gsub = native.compile, native.match, native.find, native.all, native.gsub
local type, tostring, error, byte, sub, concat = type, tostring, error, string.byte, string.sub, table.concat
local fmt = string.format

local VALID_FLAGS = { a = true, d = true, D = true, i = true, j = true, J = true, m = true, o = true,
                      s = true, u = true, U = true, x = true }
local cache = {}

local function compile(regex, opts, level)
    if opts == nil then opts = "" end
    if type(regex) ~= "string" then
        if type(regex) == "number" then regex = tostring(regex)
        else error("bad argument #2 (string expected, got " .. type(regex) .. ")", level + 1) end
    end
    opts = tostring(opts)
    local key = regex .. "\0" .. opts
    local id = cache[key]
    if id then return id end
    for i = 1, #opts do
        local c = sub(opts, i, i)
        if not VALID_FLAGS[c] then
            error(fmt('unknown flag "%s" (flags "%s")', c, opts), level + 1)
        end
    end
    local err
    id, err = n_compile(regex, opts)
    if not id then return nil, err end
    cache[key] = id
    return id
end

local function start_of(ctx)
    if not ctx then return 0 end
    local pos = ctx.pos
    if not pos or pos <= 0 then return 0 end
    return pos - 1
end

local re = {}

function re.match(subj, regex, opts, ctx, res)
    subj = tostring(subj)
    local id, err = compile(regex, opts, 2)
    if not id then return nil, err end
    local caps, from, to = n_match(id, subj, start_of(ctx), type(res) == "table" and res or nil)
    if caps == nil then
        if from ~= nil then return nil, from end
        return nil
    end
    if ctx then ctx.pos = to + 1 end
    return caps
end

function re.find(subj, regex, opts, ctx, nth)
    subj = tostring(subj)
    local id, err = compile(regex, opts, 2)
    if not id then return nil, nil, err end
    local from, to, mend = n_find(id, subj, start_of(ctx), nth or 0)
    if from == nil then
        if mend == nil then
            if to ~= nil then return nil, nil, to end -- an error
            return nil
        end
        if ctx then ctx.pos = mend + 1 end
        return nil
    end
    if ctx then ctx.pos = mend + 1 end
    return from + 1, to
end

function re.gmatch(subj, regex, opts)
    subj = tostring(subj)
    local id, err = compile(regex, opts, 2)
    if not id then return nil, err end
    local list, i, failed
    return function()
        if failed then return nil end
        if not list then
            local caps, e = n_all(id, subj, 0, true, true)
            if not caps then
                failed = true
                return nil, e
            end
            list, i = caps, 0
        end
        i = i + 1
        local m = list[i]
        if m == nil then list = {} end
        return m
    end
end

local function sub_helper(subj, regex, replace, opts, global, name)
    subj = tostring(subj)
    local id, err = compile(regex, opts, 3)
    if not id then return nil, nil, err end
    local rt = type(replace)
    if rt == "string" or rt == "number" then
        local s, n, why = n_gsub(id, subj, tostring(replace), global)
        if s == nil then
            if why and why ~= "" then ngx.log(ngx.ERR, why) end
            return nil, nil, n
        end
        return s, n
    end
    if rt ~= "function" then
        error("bad argument #3 to '" .. name .. "' (string, number, or function expected, got " .. rt .. ")", 3)
    end
    local caps, pos, count = n_all(id, subj, 0, global, true)
    if not caps then return nil, nil, pos end
    if count == 0 then return subj, 0 end
    local out, o, copied = {}, 0, 0
    for k = 1, count do
        local from, to = pos[2 * k - 1], pos[2 * k]
        if from > copied then
            o = o + 1
            out[o] = sub(subj, copied + 1, from)
        end
        o = o + 1
        out[o] = tostring(replace(caps[k]))
        copied = to
    end
    if copied < #subj then
        o = o + 1
        out[o] = sub(subj, copied + 1)
    end
    return concat(out), count
end

function re.sub(subj, regex, replace, opts)
    return sub_helper(subj, regex, replace, opts, false, "sub")
end

function re.gsub(subj, regex, replace, opts)
    return sub_helper(subj, regex, replace, opts, true, "gsub")
end

-- for ngx.re.split (module "ngx.re")
re._compile = compile
re._all = n_all

return re
