-- apisix.core.os: forwards to the C# twin (Apisix.Core/Core/Os.cs).
local os_ = __bridge("apisix.core.os")
local error, type = error, type

local _M = {}

function _M.setenv(name, value)
    local ok, err = os_:Setenv(name, value)
    if not ok then
        return false, err
    end
    return true
end

function _M.usleep(us)
    if type(us) ~= "number" then
        error("bad microseconds: " .. tostring(us), 2)
    end
    local err = os_:Usleep(us)
    if err then
        error(err, 2)
    end
end

function _M.waitpid(pid, timeout)
    return os_:Waitpid(pid, timeout)
end

return _M
