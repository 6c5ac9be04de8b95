-- apisix.core.config_etcd (core.config with etcd) for Lua callers, over the C# port
-- (Apisix.Core/Core/ConfigEtcd.cs and Etcd.cs). The gateway itself reads the store from C#, so
-- the automatic watch of a directory from Lua is not ported: asking for it says so.
local config_local = require("apisix.core.config_local")
local etcd_apisix = require("apisix.core.etcd")
local impl = __bridge("apisix.core.etcd")
local setmetatable = setmetatable

local created_obj = {}

local _M = {
    version = 0.3,
    local_conf = config_local.local_conf,
    clear_local_cache = config_local.clear_cache,
}

local mt = {
    __index = _M,
    __tostring = function(self)
        return " etcd key: " .. self.key
    end
}

function _M.new(key, opts)
    local local_conf, err = config_local.local_conf()
    if not local_conf then
        return nil, err
    end
    if opts and opts.automatic then
        return nil, "core.config.new with automatic sync is not ported to Lua "
                    .. "(the C# gateway reads the store directly)"
    end

    local prefix = local_conf.etcd.prefix
    local etcd_cli = etcd_apisix.get_etcd_syncer()
    local obj = setmetatable({
        etcd_cli = etcd_cli,
        key = key and prefix .. key,
        running = true,
        conf_version = 0,
        values = {},
        prev_index = 0,
        single_item = opts and opts.single_item,
    }, mt)
    if key then
        created_obj[key] = obj
    end
    return obj
end

function _M.getkey(self, key)
    if not self.running then
        return nil, "stopped"
    end
    local local_conf = config_local.local_conf()
    if local_conf and local_conf.etcd and local_conf.etcd.prefix then
        key = local_conf.etcd.prefix .. key
    end
    if not self.etcd_cli then
        return nil, "not inited"
    end
    return impl:ConfigGetkey(self.etcd_cli._cli, key)
end

function _M.get(self, key)
    if not self.values_hash then
        return
    end
    local arr_idx = self.values_hash[tostring(key)]
    if not arr_idx then
        return nil
    end
    return self.values[arr_idx]
end

function _M.close(self)
    self.running = false
end

function _M.fetch_created_obj(key)
    return created_obj[key]
end

function _M.server_version(self)
    if not self.running then
        return nil, "stopped"
    end
    local res, err = etcd_apisix.server_version()
    if not res then
        return nil, err
    end
    return res.body
end

function _M.init()
    return true
end

function _M.init_worker()
    return true
end

return _M
