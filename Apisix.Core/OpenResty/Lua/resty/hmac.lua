-- lua-resty-hmac (api7's, which APISIX depends on): hmac:new(key, hmac.ALGOS.X), update, final,
-- reset. The MAC is computed in C# (the crypto bridge); parts are kept until final.
local mac = __bridge("crypto").hmac
local concat, setmetatable, error = table.concat, setmetatable, error
local to_hex = require("resty.string").to_hex

local _M = { _VERSION = "0.06" }
local mt = { __index = _M }

_M.ALGOS = { MD5 = "md5", SHA1 = "sha1", SHA256 = "sha256", SHA384 = "sha384", SHA512 = "sha512" }

function _M.new(_, key, algorithm)
    if type(key) ~= "string" then
        return nil
    end
    algorithm = algorithm or _M.ALGOS.MD5
    return setmetatable({ key = key, algorithm = algorithm, parts = {} }, mt)
end

function _M.update(self, s)
    local parts = self.parts
    parts[#parts + 1] = s
    return true
end

function _M.final(self, s, hex_output)
    if s ~= nil then
        self:update(s)
    end
    local out, err = mac(self.algorithm, self.key, concat(self.parts))
    if not out then
        error(err, 2)
    end
    if hex_output then
        return to_hex(out)
    end
    return out
end

function _M.reset(self)
    self.parts = {}
    return true
end

return _M
