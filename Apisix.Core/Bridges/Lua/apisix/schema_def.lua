-- apisix.schema_def: the resource schemas from C# (Apisix.Core/Admin/SchemaDefs.cs via
-- Apisix.Core/Core/Schema.cs), each built once on first use and then shared, as upstream's
-- module-level tables are.
local defs = __bridge("apisix.schema_def")

return setmetatable({}, { __index = function(t, name)
    if type(name) ~= "string" then
        return nil
    end
    local v = defs:Get(name)
    if v ~= nil then
        rawset(t, name, v)
    end
    return v
end })
