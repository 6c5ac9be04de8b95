-- xmlhandler.tree for Lua callers: a handler whose root the C# parser fills (see xml2lua.lua).
local tree = {}
tree.__index = tree

function tree:new()
    return setmetatable({ root = {}, options = { noreduce = {} } }, self)
end

return tree
