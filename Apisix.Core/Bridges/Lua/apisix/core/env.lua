-- apisix.core.env: forwards to the C# twin (Apisix.Core/Core/Env.cs).
local env = __bridge("apisix.core.env")

local _M = { PREFIX = "$ENV://" }

function _M.init()
    env:Init()
end

function _M.fetch_by_uri(env_uri)
    return env:FetchByUri(env_uri)
end

return _M
