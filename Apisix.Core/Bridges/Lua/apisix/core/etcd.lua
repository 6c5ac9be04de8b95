-- apisix.core.etcd for Lua callers: forwards to the C# port (Apisix.Core/Core/Etcd.cs) over the
-- file's store. Only glue lives here: the answer's node.value is the caller's own value (as the
-- Lua sets it), and get_format writes into the caller's table.
local impl = __bridge("apisix.core.etcd")
local client = require("resty.etcd")
local type = type

local _M = {}

function _M.new()
    local cli, prefix = impl:New()
    return client.wrap(cli), prefix
end
_M.new_without_proxy = _M.new
_M.get_etcd_syncer = _M.new

-- exported so tests can replace it, as upstream
function _M.get_etcd_cli()
    local cli, prefix = impl:GetEtcdCli()
    return client.wrap(cli), prefix
end

function _M.kvs_to_node(kvs)
    return impl:KvsToNode(kvs)
end

function _M.get_format(res, real_key, is_dir, formatter)
    local ok, err = impl:GetFormat(res, real_key, is_dir, formatter ~= nil)
    if not ok then
        return nil, err
    end
    if formatter and res.status ~= 404 then
        return formatter(res)
    end
    return res
end

function _M.watch_format(v3res)
    return impl:WatchFormat(v3res)
end

function _M.get(key, is_dir)
    return impl:Get(key, is_dir)
end

function _M.set(key, value, ttl)
    local res, err = impl:Set(key, value, ttl)
    if res and type(res.body) == "table" and type(res.body.node) == "table" then
        res.body.node.value = value
    end
    return res, err
end

function _M.atomic_set(key, value, ttl, mod_revision)
    local res, err = impl:AtomicSet(key, value, ttl, mod_revision)
    if res and type(res.body) == "table" and type(res.body.node) == "table" then
        res.body.node.value = value
    end
    return res, err
end

function _M.push(key, value, ttl)
    local res, err = impl:Push(key, value, ttl)
    if res and type(value) == "table" and type(res.body) == "table" and type(res.body.node) == "table" then
        value.id = res.body.node.value.id
        res.body.node.value = value
    end
    return res, err
end

function _M.delete(key)
    return impl:Delete(key)
end

function _M.rmdir(key, opts)
    return impl:Rmdir(key)
end

function _M.server_version()
    return impl:ServerVersion()
end

function _M.keepalive(id)
    return impl:Keepalive(id)
end

return _M
