-- lua-resty-string's resty.aes: AES in the usual modes, the key either raw (hash = {iv = ...})
-- or derived from a passphrase the way OpenSSL's EVP_BytesToKey does (md5, one round, by default).
-- The cipher work is done in C# (bridge "crypto").
local native = __bridge("crypto")
local n_aes, n_bytes_to_key = native.aes, native.bytes_to_key
local type, setmetatable = type, setmetatable

local _M = { _VERSION = "0.16" }
local mt = { __index = _M }

local MODES = { ecb = true, cbc = true, cfb1 = true, cfb8 = true, cfb128 = true, ofb = true, ctr = true, gcm = true }

_M.hash = { md5 = "md5", sha1 = "sha1", sha224 = "sha224", sha256 = "sha256", sha384 = "sha384", sha512 = "sha512" }

function _M.cipher(size, mode)
    size = size or 128
    mode = mode or "cbc"
    if size ~= 128 and size ~= 192 and size ~= 256 then return nil end
    if not MODES[mode] then return nil end
    return { size = size, cipher = mode, method = "aes-" .. size .. "-" .. mode }
end

function _M.new(_, key, salt, cipher, hash, hash_rounds, iv_len, enable_padding)
    cipher = cipher or _M.cipher(128, "cbc")
    if type(cipher) ~= "table" or not cipher.size then return nil, "bad cipher" end
    local size, mode = cipher.size, cipher.cipher
    if enable_padding == nil then enable_padding = true end
    iv_len = iv_len or (mode == "gcm" and 12 or 16)
    local raw_key, iv
    if type(hash) == "table" then
        if #key ~= size / 8 then return nil, "bad key length" end
        if mode ~= "ecb" and hash.iv and #hash.iv ~= iv_len then return nil, "bad iv length" end
        raw_key, iv = key, hash.iv or ""
    else
        if salt and #salt ~= 8 then return nil, "salt must be 8 characters or nil" end
        local h = hash or "md5"
        local k, i = n_bytes_to_key(h, salt, key, hash_rounds or 1, size / 8, iv_len)
        if not k then return nil, i end
        raw_key, iv = k, i
    end
    return setmetatable({ _key = raw_key, _iv = iv, _mode = mode, _cipher = mode, _padding = enable_padding }, mt)
end

function _M.encrypt(self, s)
    local out, tag = n_aes(true, self._mode, self._key, self._iv, s, self._padding)
    if out == nil then return nil, tag end
    if self._mode == "gcm" then return { out, tag } end
    return out
end

function _M.decrypt(self, s, tag)
    local out, err = n_aes(false, self._mode, self._key, self._iv, s, self._padding, tag)
    if out == nil then return nil, err end
    return out
end

return _M
