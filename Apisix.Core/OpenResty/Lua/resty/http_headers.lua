-- A headers table whose lookups ignore case; pairs() sees each name as first written.
local lower, rawget, rawset, setmetatable, tostring = string.lower, rawget, rawset, setmetatable, tostring

local _M = { _VERSION = "0.17.2" }

function _M.new()
    local first_case = {}
    local mt = {}
    mt.__index = function(t, k)
        local name = first_case[lower(tostring(k))]
        if name == nil then return nil end
        return rawget(t, name)
    end
    mt.__newindex = function(t, k, v)
        local key = lower(tostring(k))
        local name = first_case[key]
        if name == nil then
            first_case[key] = k
            name = k
        end
        rawset(t, name, v)
    end
    return setmetatable({}, mt)
end

return _M
