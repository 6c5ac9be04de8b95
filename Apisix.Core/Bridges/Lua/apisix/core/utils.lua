-- apisix.core.utils, the part the resolver and tests use: dns_parse asks the worker's network
-- (Apisix.Core.Bridges.DnsBridge). Tests may replace dns_parse on this table.
local dns = __bridge("apisix.core.dns")

local _M = {}
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

return _M
