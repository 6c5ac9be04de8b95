-- apisix.core: the core modules under one table, as upstream's apisix/core.lua gathers them.
-- Each is a C# twin (Apisix.Core/Core/*.cs) made reachable by its own apisix/core/<m>.lua.
local core = {
    version = require("apisix.core.version"),
    log = require("apisix.core.log"),
    json = require("apisix.core.json"),
    table = require("apisix.core.table"),
    string = require("apisix.core.string"),
    config_util = require("apisix.core.config_util"),
    env = require("apisix.core.env"),
    os = require("apisix.core.os"),
    id = require("apisix.core.id"),
    tablepool = require("tablepool"),
    request = require("apisix.core.request"),
    response = require("apisix.core.response"),
    ctx = require("apisix.core.ctx"),
    lrucache = require("apisix.core.lrucache"),
    schema = require("apisix.core.schema"),
    timer = require("apisix.core.timer"),
    math = require("apisix.core.math"),
    io = require("apisix.core.io"),
}
core.sleep = require("apisix.core.utils").sleep

-- modules loaded on first use (the resolver and utils stand on pieces tests replace)
setmetatable(core, { __index = function(t, k)
    if k == "resolver" or k == "utils" or k == "etcd" then
        local m = require("apisix.core." .. k)
        rawset(t, k, m)
        return m
    end
    if k == "config" then
        -- core.config is the module of the configured provider (config_etcd or config_yaml)
        local conf = require("apisix.core.config_local").local_conf()
        local provider = conf and conf.deployment and conf.deployment.config_provider or "etcd"
        local m = require("apisix.core.config_" .. provider)
        m.type = provider
        rawset(t, k, m)
        return m
    end
end })

return core
