-- apisix.core.utils: the C# twin (Apisix.Core/Core/Utils.cs), plus what stays Lua: dns_parse asks
-- the worker's network (Apisix.Core.Bridges.DnsBridge) and tests may replace it on this table, so
-- the resolver calls through it; sleep yields to the worker loop.
local dns = __bridge("apisix.core.dns")
local ngx = ngx

local _M = require("apisix.core.native")("apisix.core.utils")
local resolver_conf

-- dns_parse(host, selector): one record {address = ip}, or a list of them for RETURN_ALL
function _M.dns_parse(domain, selector)
    local ip, err = dns:Resolve(domain)
    if not ip then
        return nil, "failed to query the DNS server: " .. err
    end
    local record = { address = ip, class = 1, type = 1, ttl = 0 }
    if selector == require("apisix.core.dns.client").RETURN_ALL then
        return { record }
    end
    return record
end

function _M.set_resolver(conf)
    resolver_conf = conf
end

function _M.get_resolver()
    return resolver_conf
end

function _M.split_uri(uri)
    return require("ngx.re").split(uri, "/")
end

-- sleep(sec) in steps, stopping early when the worker exits
local max_sleep_interval = 1
local function sleep(sec)
    if sec <= max_sleep_interval then
        return ngx.sleep(sec)
    end
    ngx.sleep(max_sleep_interval)
    if ngx.worker.exiting() then
        return
    end
    return sleep(sec - max_sleep_interval)
end
_M.sleep = sleep

return _M
