-- The shape lua-resty-string gives resty.md5, resty.sha1, resty.sha256...: new / update / final /
-- reset. `digest.module(name)` builds one of those modules; the hash is computed in C#.
local hash = __bridge("crypto").digest
local concat, setmetatable = table.concat, setmetatable

local _D = {}

function _D.module(algorithm)
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
        return (hash(algorithm, concat(self.parts)))
    end

    function _M.reset(self)
        self.parts = {}
        return true
    end

    return _M
end

return _D
