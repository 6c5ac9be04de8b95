-- resty.etcd.health_check (lua-resty-etcd) for this port. The etcd client here talks to the
-- in-memory store (Apisix.Core/Store), not to endpoints over the network, so no endpoint is ever
-- marked unhealthy by a failed request; the module keeps lua-resty-etcd's interface so code
-- that configures it or replaces its functions (as tests do) loads and runs. The mode lines
-- ("healthy check use ...") are written by the C# gateway when its clients start
-- (Apisix.Core/Http/ApisixHttp.cs, HttpInitWorker).
local ngx_time = ngx.time
local type = type

local _M = { conf = nil }

local failures = {}

-- opts: shm_name, fail_timeout, max_fails, retry, disabled
function _M.init(opts)
    if _M.conf ~= nil then
        return
    end
    opts = type(opts) == "table" and opts or {}
    _M.conf = {
        shm_name = opts.shm_name,
        fail_timeout = opts.fail_timeout or 10,
        max_fails = opts.max_fails or 1,
        retry = opts.retry,
        disabled = opts.disabled,
    }
end

function _M.report_failure(etcd_host)
    local conf = _M.conf
    if not conf or conf.disabled then
        return
    end
    local f = failures[etcd_host]
    local now = ngx_time()
    if not f or now - f.since >= conf.fail_timeout then
        f = { count = 0, since = now }
        failures[etcd_host] = f
    end
    f.count = f.count + 1
end

function _M.get_target_status(etcd_host)
    local conf = _M.conf
    if not conf or conf.disabled then
        return true
    end
    local f = failures[etcd_host]
    if not f or ngx_time() - f.since >= conf.fail_timeout then
        return true
    end
    return f.count < conf.max_fails
end

return _M
