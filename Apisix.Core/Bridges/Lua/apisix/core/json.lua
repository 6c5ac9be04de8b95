-- apisix.core.json: the C# twin (Apisix.Core/Core/Json.cs) over the worker's cjson.safe, set up
-- with APISIX's settings.
local cjson = require("cjson.safe")
cjson.encode_escape_forward_slash(false)
cjson.decode_array_with_array_mt(true)

return require("apisix.core.native")("apisix.core.json", {
    version = 0.1,
    array_mt = cjson.array_mt,
    null = cjson.null,
    empty_array = cjson.empty_array,
})
