-- apisix.constants as tests read it: the home directory is set by the world at init.
local home = __bridge("apisix.home")
return {
    apisix_lua_home = home and home:Value() or ".",
    HTTP_ETCD_DIRECTORY = {},
}
