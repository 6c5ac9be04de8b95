-- xml2lua for Lua callers: the parser is C# (Apisix.Core/OpenResty/Libs/Xml2Lua.cs). A parser
-- made for a tree handler fills handler.root; any other handler gets no events.
local impl = __bridge("xml2lua")

local _M = { _VERSION = "1.6-2" }

function _M.parser(handler)
    if handler == _M then
        error("You must call xml2lua.parse(handler) instead of xml2lua:parse(handler)")
    end
    local parser = {}
    function parser.parse(self, xml)
        local root, err = impl:Parse(xml)
        if not root then
            error(err, 2)
        end
        handler.root = root
    end
    return parser
end

return _M
