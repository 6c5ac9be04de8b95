-- apisix.plugins.ai-protocols.anthropic-messages, implemented in C#
-- (Apisix.Plugins.AiProxy.AiProtocols.AnthropicMessages): matches and parse_sse_event so far.
local core = require("apisix.core")
local impl = __bridge("apisix.plugins.ai-protocols")
local error = error

local _M = {}


function _M.matches(body, ctx)
    local uri = ctx.var and ctx.var.uri
    return impl:Matches("anthropic-messages", body, uri)
end


function _M.parse_sse_event(event, ctx, state)
    local uri = type(ctx) == "table" and ctx.var and ctx.var.uri or nil
    local res, logs, err = impl:AnthropicParseSseEvent(event, uri)
    if res == nil then error(err, 2) end
    for i = 1, #logs do
        core.log[logs[i][1]](logs[i][2])
    end
    return res
end


return _M
