-- apisix.core.config_local for Lua callers: the configuration comes from the C# port
-- (Apisix.Core/Core/ConfigLocal.cs); this worker keeps its table until clear_cache.
local impl = __bridge("apisix.core.config_local")

local _M = {}
local config_data

function _M.clear_cache()
    config_data = nil
end

function _M.local_conf(force)
    if not force and config_data then
        return config_data
    end
    config_data = impl:LocalConf()
    return config_data
end

return _M
