-- Glue between a C# twin (a table of C functions, Apisix.Core/Core/CoreLib.cs) and the Lua
-- module: each function is wrapped so that a returned raise marker becomes a Lua error at the
-- caller, since C# cannot raise through its own frames. Other fields are copied as they are.
local error, pairs, type = error, pairs, type

return function(name, into)
    local native = __bridge(name)
    if not native then
        error("no C# module registered as " .. name)
    end
    local raise = native.__raise
    local function check(first, ...)
        if first == raise then
            error((...), 2)
        end
        return first, ...
    end
    local m = into or {}
    for k, v in pairs(native) do
        if k ~= "__raise" then
            if type(v) == "function" then
                m[k] = function(...) return check(v(...)) end
            else
                m[k] = v
            end
        end
    end
    return m
end
