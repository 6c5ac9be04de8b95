-- Penlight's pl.stringx, the part APISIX uses (rfind, strip and kin), written for this port.
local find, sub, gsub = string.find, string.sub, string.gsub

local _M = {}

local function check_string(s, n)
    if type(s) ~= "string" then
        error(("argument %d expected a 'string', got a '%s'"):format(n, type(s)), 3)
    end
end

-- the index where the last occurrence of `target` (plain text) starts, within s[first..last]
function _M.rfind(s, target, first, last)
    check_string(s, 1)
    check_string(target, 2)
    first = first or 1
    last = last or #s
    if last < 0 then last = #s + last + 1 end
    local found
    local pos = first
    while true do
        local i, j = find(s, target, pos, true)
        if not i or j > last then break end
        found = i
        pos = i + 1
    end
    return found
end

-- the index of the first occurrence (plain text), as string.find with plain = true
function _M.lfind(s, target, first, last)
    check_string(s, 1)
    check_string(target, 2)
    local i, j = find(s, target, first or 1, true)
    if i and last and j > last then return nil end
    return i
end

local function chars_class(chars)
    if not chars then return "%s" end
    return "[" .. gsub(chars, "[%]%%%^%-]", "%%%0") .. "]"
end

function _M.lstrip(s, chars)
    check_string(s, 1)
    return (gsub(s, "^" .. chars_class(chars) .. "+", ""))
end

function _M.rstrip(s, chars)
    check_string(s, 1)
    return (gsub(s, chars_class(chars) .. "+$", ""))
end

function _M.strip(s, chars)
    return _M.rstrip(_M.lstrip(s, chars), chars)
end

function _M.startswith(s, prefix)
    check_string(s, 1)
    return sub(s, 1, #prefix) == prefix
end

function _M.endswith(s, suffix)
    check_string(s, 1)
    return #suffix == 0 or sub(s, -#suffix) == suffix
end

return _M
