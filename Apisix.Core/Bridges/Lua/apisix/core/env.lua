-- apisix.core.env: forwards to the C# twin (Apisix.Core/Core/Env.cs).
local env = __bridge("apisix.core.env")

local _M = { PREFIX = "$ENV://" }

function _M.init()
    env:Init()
end

function _M.fetch_by_uri(env_uri)
    local value, err = env:FetchByUri(env_uri)
    if err then
        return nil, err
    end
    return value
end

return _M
