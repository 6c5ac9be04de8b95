-- resty.etcd (the v3 protocol) for Lua callers: each method forwards to the C# client
-- (Apisix.Core/Store/EtcdClient.cs) over the file's store; watches wait on the worker's loop.
local impl = __bridge("apisix.core.etcd")
local await = __rt.await
local setmetatable = setmetatable

local cli_mt = {}
cli_mt.__index = cli_mt

function cli_mt:get(key, opts) return impl:CliGet(self._cli, key) end
function cli_mt:readdir(key, opts) return impl:CliReaddir(self._cli, key) end
function cli_mt:set(key, val, opts) return impl:CliSet(self._cli, key, val, opts) end
function cli_mt:setnx(key, val, opts) return impl:CliSetnx(self._cli, key, val) end
function cli_mt:setx(key, val, opts) return impl:CliSetx(self._cli, key, val) end
function cli_mt:delete(key, opts) return impl:CliDelete(self._cli, key) end
function cli_mt:rmdir(key, opts) return impl:CliRmdir(self._cli, key) end
function cli_mt:txn(compare, success, failure, opts) return impl:CliTxn(self._cli, compare, success, failure) end
function cli_mt:grant(ttl, id) return impl:CliGrant(self._cli, ttl) end
function cli_mt:revoke(id) return impl:CliRevoke(self._cli, id) end
function cli_mt:keepalive(id) return impl:CliKeepalive(self._cli, id) end
function cli_mt:version() return impl:CliVersion(self._cli) end
function cli_mt:close() return true end

local function watch(self, key, dir, opts)
    local w = impl:CliWatch(self._cli, key, dir, opts)
    local function read()
        return await(impl:WatchRead(w))
    end
    if opts and opts.need_cancel then
        return read, nil, w
    end
    return read
end

function cli_mt:watch(key, opts) return watch(self, key, false, opts) end
function cli_mt:watchdir(key, opts) return watch(self, key, true, opts) end
function cli_mt:watchcancel(w) return impl:WatchCancel(w) end

local _M = {}

-- a Lua client table around a C# client
function _M.wrap(cli)
    return setmetatable({ _cli = cli }, cli_mt)
end

function _M.new(opts)
    local cli, err = impl:NewClient(opts)
    if not cli then
        return nil, err
    end
    return _M.wrap(cli)
end

return _M
