-- apisix.core.schema: validation by the C# validator (Apisix.Core/Core/Schema.cs). The handle of
-- each schema table's converted tree is kept here, keyed by the table (weakly), as upstream keeps
-- one generated validator per schema table.
local schema = __bridge("apisix.core.schema")
local schema_def = require("apisix.schema_def")
local error, setmetatable = error, setmetatable

local handles = setmetatable({}, { __mode = "k" })

local _M = { version = 0.3, TYPE_CONSUMER = 1, TYPE_METADATA = 2 }

local function get_validator(s)
    local h = handles[s]
    if h then
        return h
    end
    local err
    h, err = schema:Compile(s)
    if not h then
        return nil, err
    end
    handles[s] = h
    return h
end

function _M.check(s, json)
    local h, err = get_validator(s)
    if not h then
        return false, err
    end
    local ok, check_err = schema:Check(h, json)
    if not ok then
        return false, check_err
    end
    return true
end

-- valid(schema): a validator function for the schema
function _M.valid(s)
    local h, err = get_validator(s)
    if not h then
        return nil, err
    end
    return function(json)
        local ok, check_err = schema:Check(h, json)
        if not ok then
            return false, check_err
        end
        return true
    end
end

return setmetatable(_M, {
    __index = schema_def,
    __newindex = function() error("no modification allowed") end,
})
