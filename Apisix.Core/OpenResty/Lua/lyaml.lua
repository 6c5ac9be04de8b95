-- lyaml for Lua callers: load() reads YAML in C# (Apisix.Core/Config/YamlLoader.cs). dump() is not ported.
local impl = __bridge("lyaml")

local _M = {}

function _M.load(text)
    local value, err = impl:Load(text)
    if err then
        error(err, 2)
    end
    return value
end

return _M
