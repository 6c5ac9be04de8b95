-- Shared machinery of the emulated `cjson` and `cjson.safe` modules: each instance keeps its
-- own settings; the text work is done in C# (bridge "cjson"). The null sentinel is ngx.null and
-- the array metatables are shared by every instance (and by core.json).
local native = __bridge("cjson")
local null, array_mt, empty_array_mt = native.shared()
local n_encode, n_decode = native.encode, native.decode
local select, type, error, tostring, tonumber = select, type, error, tostring, tonumber

local empty_array = setmetatable({}, empty_array_mt)

local M = {}

local function onoff(v, what, name)
    if v == nil then return nil end
    if v == true or v == "on" then return true end
    if v == false or v == "off" then return false end
    error("bad argument #1 to '" .. name .. "' (invalid option '" .. tostring(v) .. "')", 3)
end

function M.new_instance(safe)
    local cfg = {
        escape_slash = true, empty_table_as_object = true,
        sparse_convert = false, sparse_ratio = 2, sparse_safe = 10,
        max_depth = 1000, decode_max_depth = 1000, precision = 14,
        invalid_numbers_null = false, skip_unsupported = false, array_mt = false,
        keep_buffer = true, encode_invalid = false, decode_invalid = true,
    }
    local m = {
        _NAME = "cjson", _VERSION = "2.1.0.14",
        null = null, array_mt = array_mt, empty_array_mt = empty_array_mt, empty_array = empty_array,
    }

    function m.encode(...)
        if select("#", ...) ~= 1 then
            error("bad argument #1 to 'encode' (expected 1 argument)", 2)
        end
        local s, err = n_encode((...), cfg)
        if s == nil then
            if not safe then error(err, 0) end
            return nil, err
        end
        return s
    end

    function m.decode(...)
        if select("#", ...) ~= 1 then
            error("bad argument #1 to 'decode' (expected 1 argument)", 2)
        end
        local v, err = n_decode((...), cfg)
        if v == nil then
            if not safe then error(err, 0) end
            return nil, err
        end
        return v
    end

    function m.encode_sparse_array(convert, ratio, safe_n)
        local c = onoff(convert, "convert", "encode_sparse_array")
        if c ~= nil then cfg.sparse_convert = c end
        if ratio ~= nil then cfg.sparse_ratio = tonumber(ratio) end
        if safe_n ~= nil then cfg.sparse_safe = tonumber(safe_n) end
        return cfg.sparse_convert, cfg.sparse_ratio, cfg.sparse_safe
    end

    function m.encode_max_depth(n)
        if n ~= nil then cfg.max_depth = tonumber(n) end
        return cfg.max_depth
    end

    function m.decode_max_depth(n)
        if n ~= nil then cfg.decode_max_depth = tonumber(n) end
        return cfg.decode_max_depth
    end

    function m.encode_number_precision(n)
        if n ~= nil then
            n = tonumber(n)
            if not n or n < 1 or n > 16 then
                error("bad argument #1 to 'encode_number_precision' (expected integer between 1 and 16)", 2)
            end
            cfg.precision = n
        end
        return cfg.precision
    end

    function m.encode_keep_buffer(v)
        local b = onoff(v, "keep", "encode_keep_buffer")
        if b ~= nil then cfg.keep_buffer = b end
        return cfg.keep_buffer
    end

    function m.encode_invalid_numbers(v)
        if v == "null" then
            cfg.invalid_numbers_null, cfg.encode_invalid = true, "null"
        elseif v ~= nil then
            cfg.encode_invalid = onoff(v, "setting", "encode_invalid_numbers")
            cfg.invalid_numbers_null = false
        end
        return cfg.encode_invalid
    end

    function m.decode_invalid_numbers(v)
        local b = onoff(v, "setting", "decode_invalid_numbers")
        if b ~= nil then cfg.decode_invalid = b end
        return cfg.decode_invalid
    end

    function m.encode_escape_forward_slash(v)
        local b = onoff(v, "setting", "encode_escape_forward_slash")
        if b ~= nil then cfg.escape_slash = b end
        return cfg.escape_slash
    end

    function m.encode_empty_table_as_object(v)
        local b = onoff(v, "setting", "encode_empty_table_as_object")
        if b ~= nil then cfg.empty_table_as_object = b end
        return cfg.empty_table_as_object
    end

    function m.decode_array_with_array_mt(v)
        local b = onoff(v, "setting", "decode_array_with_array_mt")
        if b ~= nil then cfg.array_mt = b end
        return cfg.array_mt
    end

    function m.encode_skip_unsupported_value_types(v)
        local b = onoff(v, "setting", "encode_skip_unsupported_value_types")
        if b ~= nil then cfg.skip_unsupported = b end
        return cfg.skip_unsupported
    end

    function m.new() return M.new_instance(safe) end

    return m
end

return M
