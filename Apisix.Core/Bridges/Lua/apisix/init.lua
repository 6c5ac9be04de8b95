-- apisix (apisix/init.lua) as tests' init_by_lua_block uses it. The gateway's phases run in C#
-- (Apisix.Core/Http/ApisixHttp.cs), set up by the world when nginx starts, so the init entry
-- points a block calls itself have nothing left to do.
local _M = {version = 0.4}

function _M.http_init(args)
end

function _M.http_init_worker()
end

return _M
