-- apisix.ssl for Lua callers: the key encryption functions, forwarded to C#
-- (Apisix.Core/Bridges/SslBridge.cs). The certificate functions are not ported here.
local impl = __bridge("apisix.ssl")

local _M = {}

function _M.aes_encrypt_pkey(origin, field)
    return impl:AesEncryptPkey(origin, field)
end

function _M.aes_decrypt_pkey(origin, field)
    local plain, err = impl:AesDecryptPkey(origin, field)
    if plain == nil then
        return nil, err
    end
    return plain
end

return _M
