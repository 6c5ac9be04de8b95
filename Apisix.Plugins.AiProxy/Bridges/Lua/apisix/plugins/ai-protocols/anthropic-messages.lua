-- apisix.plugins.ai-protocols.anthropic-messages, implemented in C#
-- (Apisix.Plugins.AiProxy.AiProtocols.AnthropicMessages). Tables cross as JSON copies;
-- the functions that change the body write the new messages list back into it.
local core = require("apisix.core")
local impl = __bridge("apisix.plugins.ai-protocols")
local error = error
local type = type

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


function _M.is_streaming(body)
    return call("is_streaming", body).r1
end


function _M.parse_sse_event(event, ctx, state)
    local uri = type(ctx) == "table" and ctx.var and ctx.var.uri or nil
    local res, logs, err = impl:AnthropicParseSseEvent(event, uri)
    if res == nil then error(err, 2) end
    flush(logs)
    return res
end


function _M.extract_response_text(res_body)
    return call("extract_response_text", res_body).r1
end


function _M.build_simple_request(system_prompt, user_content, opts)
    return call("build_simple_request", system_prompt, user_content, opts).r1
end


function _M.extract_usage(res_body)
    local out = call("extract_usage", res_body)
    return out.r1, out.r2
end


function _M.has_tool_call(res_body)
    return call("has_tool_call", res_body).r1
end


function _M.extract_end_user_id(body)
    return call("extract_end_user_id", body).r1
end


function _M.extract_request_content(body)
    return call("extract_request_content", body).r1
end


function _M.get_messages(body)
    return call("get_messages", body).r1
end


function _M.prepend_messages(body, msgs)
    if not msgs or #msgs == 0 then return end
    body.messages = call("prepend_messages", body, msgs).body.messages
end


function _M.append_messages(body, msgs)
    if not msgs or #msgs == 0 then return end
    body.messages = call("append_messages", body, msgs).body.messages
end


function _M.get_request_content(body)
    return call("get_request_content", body).r1
end


function _M.build_deny_response(opts)
    return call("build_deny_response", opts).r1
end


function _M.empty_usage()
    return call("empty_usage").r1
end


function _M.is_data_event(event)
    return call("is_data_event", event).r1
end


function _M.is_done_event(event)
    return call("is_done_event", event).r1
end


function _M.build_done_event()
    return call("build_done_event").r1
end


return _M
