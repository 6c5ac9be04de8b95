-- lua-resty-string's resty.sha512: new / update / final / reset; the digest is computed in C#.
local digest = __bridge("crypto").digest
local concat, setmetatable = table.concat, setmetatable

local _M = { _VERSION = "0.16" }
local mt = { __index = _M }

function _M.new(_)
    return setmetatable({ parts = {} }, mt)
end

function _M.update(self, s)
    local parts = self.parts
    parts[#parts + 1] = s
    return true
end

function _M.final(self)
    return (digest("sha512", concat(self.parts)))
end

function _M.reset(self)
    self.parts = {}
    return true
end

return _M
