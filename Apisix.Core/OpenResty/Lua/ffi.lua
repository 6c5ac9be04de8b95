-- The ffi module as far as this port provides it: LuaJIT's C FFI is not in this runtime, so
-- ffi.new gives an opaque value that prints as a cdata does ("cdata<T>: 0x..."), enough for code
-- that only carries or prints it. Every other field raises an error naming what is missing.
local native = __bridge("ffi")
local error, tostring, setmetatable = error, tostring, setmetatable

local _M = {}

local function new(ct)
    local mt = { __name = "cdata" }
    local value = native.userdata(mt)
    local text = "cdata<" .. tostring(ct) .. ">: " .. native.address(value)
    mt.__tostring = function() return text end
    mt.__metatable = false
    return value
end

_M.new = new

return setmetatable(_M, {
    __index = function(_, name)
        error("ffi." .. tostring(name) .. " is not supported by this port (no LuaJIT FFI)", 2)
    end,
})
