-- apisix.balancer for Lua callers, backed by the C# port (Apisix.Core/Upstream/Balancer.cs);
-- the gateway's own balancer phase runs in C# (Apisix.Core/Upstream/UpstreamProxy.cs).
local impl = __bridge("apisix.balancer")

local _M = {
    version = 0.2,
    name = "balancer",
}

function _M.pick_server(route, ctx)
    local host, port, domain, upstream_host, err = impl:PickServer(ctx)
    if not host then
        return nil, err
    end
    return {host = host, port = port, domain = domain, upstream_host = upstream_host}
end

function _M.init_worker()
end

return _M
