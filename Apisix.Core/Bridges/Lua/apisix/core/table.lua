-- apisix.core.table: the C# twin (Apisix.Core/Core/Table.cs), with LuaJIT's table extensions
-- and Lua's table library behind it. setmt__gc stays Lua: it ties a finalizer to a Lua table.
local _M = require("apisix.core.native")("apisix.core.table", {
    version = 0.2,
    new = require("table.new"),
    clear = require("table.clear"),
    nkeys = require("table.nkeys"),
    insert = table.insert,
    concat = table.concat,
    sort = table.sort,
    clone = require("table.clone"),
    isarray = require("table.isarray"),
    isempty = require("table.isempty"),
})

function _M.setmt__gc(t, mt)
    -- Lua 5.4 calls __gc on tables, so no proxy object is needed
    return setmetatable(t, mt)
end

return setmetatable(_M, { __index = table })
