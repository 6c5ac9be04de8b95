-- apisix.plugins.ai-protocols.anthropic-messages, implemented in C#
-- (Apisix.Plugins.AiProxy.AiProtocols.AnthropicMessages). Tables cross as JSON copies;
-- the functions that change the body write the new messages list back into it.
local core = require("apisix.core")
local impl = __bridge("apisix.plugins.ai-protocols")
local error = error
local type = type
local ipairs = ipairs

local _M = {}


local function flush(logs)
    for i = 1, #logs do
        core.log[logs[i][1]](logs[i][2])
    end
end


local function call(fn, a1, a2, a3)
    local out, logs, err = impl:Call("anthropic-messages", fn, a1, a2, a3, nil)
    if out == nil then error(err, 3) end
    flush(logs)
    return out
end


function _M.matches(body, ctx)
    local uri = ctx.var and ctx.var.uri
    return impl:Matches("anthropic-messages", body, uri)
end


function _M.parse_sse_event(event, ctx, state)
    local uri = type(ctx) == "table" and ctx.var and ctx.var.uri or nil
    local res, logs, err = impl:AnthropicParseSseEvent(event, uri)
    if res == nil then error(err, 2) end
    flush(logs)
    return res
end


function _M.extract_usage(res_body)
    local out = call("extract_usage", res_body)
    return out.r1, out.r2
end


function _M.prepend_messages(body, msgs)
    if not msgs or #msgs == 0 then return end
    body.messages = call("prepend_messages", body, msgs).body.messages
end


function _M.append_messages(body, msgs)
    if not msgs or #msgs == 0 then return end
    body.messages = call("append_messages", body, msgs).body.messages
end


-- the functions whose one result C# returns as is
for _, name in ipairs({
    "is_streaming", "extract_response_text", "build_simple_request", "has_tool_call",
    "extract_end_user_id", "extract_request_content", "get_messages", "get_request_content",
    "build_deny_response", "empty_usage", "is_data_event", "is_done_event", "build_done_event",
}) do
    _M[name] = function(a1, a2, a3)
        return call(name, a1, a2, a3).r1
    end
end


return _M
