-- apisix.upstream: the upstream checks of Apisix.Core/Upstream/UpstreamLua.cs for Lua callers.
local bridge = __bridge("apisix.upstream")

local _M = {
    scheme_to_port = { http = 80, https = 443, grpc = 80, grpcs = 443 },
}

function _M.check_schema(conf)
    local ok, err = bridge:CheckSchema(conf)
    if not ok then
        return false, err
    end
    return true
end

function _M.check_upstream_conf(conf)
    local ok, err = bridge:CheckUpstreamConf(conf)
    if not ok then
        return false, err
    end
    return true
end

return _M
