-- resty.core's "ngx.re" module: split and opt, over the emulated ngx.re.
local impl = require("ngx.re_impl")
local compile, all = impl._compile, impl._all
local type, tostring, sub, byte = type, tostring, string.sub, string.byte

local _M = { version = "0.1.28" }

local function is_utf8(opts)
    return opts and (opts:find("u", 1, true) or opts:find("U", 1, true))
end

function _M.split(subj, regex, opts, ctx, max, res)
    if type(subj) ~= "string" then
        if type(subj) == "number" then subj = tostring(subj)
        else error("bad argument #1 to 'split' (string expected, got " .. type(subj) .. ")", 2) end
    end
    if max and max <= 0 then max = nil end
    local len = #subj
    local start = 0
    if ctx and ctx.pos and ctx.pos > 0 then start = ctx.pos - 1 end
    res = res or {}
    local n = 0
    if start >= len then
        res[1] = nil
        return res
    end
    local id, err = compile(regex, opts, 2)
    if not id then return nil, err end
    local caps, pos, count = all(id, subj, start, true, true)
    if not caps then return nil, pos end

    local fields = 0
    local seg = start
    for k = 1, count do
        if max and fields >= max - 1 then break end
        local from, to = pos[2 * k - 1], pos[2 * k]
        -- an empty match where a field starts, or at the end, splits nothing
        if not (to == from and (from == seg or from >= len)) then
            n = n + 1
            res[n] = sub(subj, seg + 1, from)
            fields = fields + 1
            local c1 = caps[k][1]
            if c1 then
                n = n + 1
                res[n] = c1
            end
            seg = to
        end
    end
    n = n + 1
    res[n] = sub(subj, seg + 1)
    if not max then
        -- trailing empty fields go, as with Perl's split
        while n > 0 and res[n] == "" do
            res[n] = nil
            n = n - 1
        end
    end
    res[n + 1] = nil
    return res
end

function _M.opt(option, value)
    if option ~= "jit_stack_size" then error("unrecognized option name", 2) end
    if type(value) ~= "number" then error("bad argument #2 to 'opt' (number expected)", 2) end
end

return _M
