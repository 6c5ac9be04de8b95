-- resty.healthcheck for Lua callers, backed by the C# port (Apisix.Core.Healthcheck.Healthchecker).
local impl = __bridge("resty.healthcheck")
local setmetatable = setmetatable

local checker_mt = {}
checker_mt.__index = checker_mt

function checker_mt:add_target(ip, port, hostname, is_healthy, host_header)
    local ok, err = impl:AddTarget(self._impl, ip, port, hostname, is_healthy ~= false, host_header)
    if not ok then
        return nil, err
    end
    return true
end

function checker_mt:get_target_status(ip, port, hostname)
    local status, err = impl:GetTargetStatus(self._impl, ip, port, hostname)
    if status == nil then
        return nil, err
    end
    return status
end

function checker_mt:stop()
    impl:Stop(self._impl)
    return true
end

local _M = {}

function _M.new(opts)
    local checker, err = impl:New(opts.name, opts.shm_name, opts.checks)
    if not checker then
        return nil, err
    end
    return setmetatable({ _impl = checker, name = opts.name }, checker_mt)
end

return _M
