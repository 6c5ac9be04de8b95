-- apisix (apisix/init.lua) for Lua callers: the gateway itself runs in C# (Apisix.Core.Http.ApisixHttp),
-- set up by its host before any Lua runs, so the phase entry points a test's init code calls are
-- already done. The request phases are not callable from Lua: they say so.
local error = error

local _M = { version = require("apisix.core").version }

-- the C# gateway was initialised by its host (config, plugins, store, router)
function _M.http_init(args)
end

function _M.http_init_worker()
end

-- plugin.exit_worker: the destroy function of each loaded plugin's module, if it has one;
-- the host passes the names of the enabled plugins
function _M.http_exit_worker(plugin_names)
    for _, name in ipairs(plugin_names or {}) do
        local mod = package.loaded["apisix.plugins." .. name]
        if type(mod) == "table" and type(mod.destroy) == "function" then
            mod.destroy()
        end
    end
end

local function not_here(name)
    return function()
        error("apisix." .. name .. " runs in C# (Apisix.Core.Http.ApisixHttp), not from Lua", 2)
    end
end

_M.http_access_phase = not_here("http_access_phase")
_M.http_header_filter_phase = not_here("http_header_filter_phase")
_M.http_body_filter_phase = not_here("http_body_filter_phase")
_M.http_log_phase = not_here("http_log_phase")
_M.http_balancer_phase = not_here("http_balancer_phase")
_M.http_admin = not_here("http_admin")

return _M
