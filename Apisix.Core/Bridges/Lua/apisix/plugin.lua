-- apisix.plugin for Lua callers: every function forwards to the C# plugin registry
-- (Apisix.Core/Plugins/PluginRegistry.cs, through Apisix.Core/Bridges/PluginBridge.cs).
-- enable_data_encryption and load_times are read from C# each time they are asked for.
local impl = __bridge("apisix.plugin")
local error, ipairs, setmetatable, type = error, ipairs, setmetatable, type

local _M = {}

-- the plugin objects handed out by get(), rebuilt after each load
local objects, objects_load = {}, -1

function _M.get(name)
    local times = impl:LoadTimes()
    if objects_load ~= times then
        objects, objects_load = {}, times
    end
    local obj = objects[name]
    if obj then
        return obj
    end
    obj = impl:Get(name)
    if not obj then
        return nil
    end
    function obj.check_schema(conf, schema_type)
        local ok, err = impl:CheckPlugin(name, conf, schema_type or 0)
        if ok then return true end
        return false, err
    end
    objects[name] = obj
    return obj
end

function _M.get_stream(name)
    return nil
end

function _M.get_all(attrs)
    return impl:GetAll(attrs)
end

function _M.plugin_attr(name)
    return impl:PluginAttr(name)
end

-- returns the loaded plugins (as get() gives them), highest priority first
function _M.load()
    local names = impl:Load()
    local list = {}
    for i, name in ipairs(names) do
        list[i] = _M.get(name)
    end
    return list
end

function _M.enable_gde()
    return impl:EnableGde()
end

function _M.conf_version(conf)
    return impl:ConfVersion(conf)
end

function _M.check_schema(plugins_conf, schema_type, skip_disabled_plugin)
    local ok, err = impl:CheckSchema(plugins_conf, schema_type or 0, skip_disabled_plugin and true or false)
    if ok then return true end
    return false, err
end

function _M.plugin_checker(item, schema_type)
    local ok, err = impl:PluginChecker(item, schema_type or 0)
    if ok then return true end
    return false, err
end

function _M.encrypt_conf(name, conf, schema_type)
    impl:CryptConf(name, conf, schema_type or 0, true)
end

function _M.decrypt_conf(name, conf, schema_type)
    impl:CryptConf(name, conf, schema_type or 0, false)
end

function _M.process_encrypt_field(conf, key_path, operation, plugin_name, op_name)
    if type(operation) ~= "function" then
        error("process_encrypt_field: operation must be a function", 2)
    end
    impl:ProcessEncryptField(conf, key_path, operation, plugin_name, op_name)
end

local dynamic = {
    enable_data_encryption = function() return impl:EnableDataEncryption() end,
    load_times = function() return impl:LoadTimes() end,
}

return setmetatable(_M, {
    __index = function(_, k)
        local f = dynamic[k]
        if f then return f() end
    end,
})
