-- apisix.core.id: forwards to the C# twin (Apisix.Core/Core/Id.cs); init runs with the gateway's init.
local id = __bridge("apisix.core.id")

local _M = { version = 0.1 }

function _M.init()
end

function _M.get()
    return id:Get()
end

function _M.gen_uuid_v4()
    return id:GenUuidV4()
end

return _M
