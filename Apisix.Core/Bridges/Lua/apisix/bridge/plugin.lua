-- Builds the Lua face of a plugin written in C#: its module fields and check_schema, which
-- writes defaults into the caller's table. `require("apisix.bridge.plugin")("<module name>")`.
return function(module_name)
    local impl = __bridge(module_name)
    local _M = {
        version = impl:Version(),
        priority = impl:Priority(),
        name = impl:Name(),
        type = impl:Type(),
    }

    function _M.check_schema(conf, schema_type)
        local ok, err = impl:CheckAs(conf, schema_type or 0)
        if ok then return true end
        return false, err
    end

    return _M
end
