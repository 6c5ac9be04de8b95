-- apisix.core.resolver: domain names to addresses through core.utils.dns_parse (so a test's
-- patch of either table takes effect). parse_domain_all returns every address, sorted.
local utils = require("apisix.core.utils")
local dns_client = require("apisix.core.dns.client")
local dns = __bridge("apisix.core.dns")
local json = require("cjson.safe")
local ngx = ngx
local ipairs, table_sort = ipairs, table.sort

local _M = {}

function _M.init_resolver(args)
    local dns_resolver = args and args.dns_resolver
    utils.set_resolver(dns_resolver)
    ngx.log(ngx.INFO, "dns resolver ", json.encode(dns_resolver))
end

function _M.parse_domain(host)
    local ip = dns:HostsLookup(host)
    if ip then
        ngx.log(ngx.INFO, "dns resolver domain: ", host, " to ", ip)
        return ip
    end
    local info, err = utils.dns_parse(host)
    if not info then
        ngx.log(ngx.ERR, "failed to parse domain: ", host, ", error: ", err)
        return nil, err
    end
    if info.address then
        ngx.log(ngx.INFO, "dns resolver domain: ", host, " to ", info.address)
        return info.address
    end
    return nil, "failed to parse domain"
end

function _M.parse_domain_all(host)
    -- the hosts file answers first; DNS only when it knows nothing
    local ip = dns:HostsLookup(host)
    if ip then
        ngx.log(ngx.INFO, "dns resolve ", host, ", result: ", json.encode({ ip }))
        return { ip }
    end
    local records, err = utils.dns_parse(host, dns_client.RETURN_ALL)
    if not records then
        ngx.log(ngx.ERR, "failed to parse domain: ", host, ", error: ", err)
        return nil, err
    end
    local ips, seen = {}, {}
    for _, record in ipairs(records) do
        local ip = record.address
        if ip and not seen[ip] then
            ips[#ips + 1] = ip
            seen[ip] = true
        end
    end
    if #ips == 0 then
        return nil, "failed to parse domain"
    end
    table_sort(ips)
    ngx.log(ngx.INFO, "dns resolve ", host, ", result: ", json.encode(ips))
    return ips
end

return _M
