-- Bridge: the converter is implemented in C#
-- (Apisix.Plugins.AiProxy/ai-protocols/converters/AnthropicMessagesToOpenAiChat.cs).
-- Tables are handed over as JSON; the C# side returns one result table, and
-- whatever it changed in ctx / state / headers is written back here.
local impl = __bridge("apisix.plugins.ai-protocols.converters.anthropic-messages-to-openai-chat")
local type = type
local pairs = pairs
local error = error

local _M = {
    from = "anthropic-messages",
    to = "openai-chat",
}

local function view_of(ctx)
    if type(ctx) ~= "table" then
        return nil
    end
    local var = ctx.var
    local model
    if type(var) == "table" then
        model = var.llm_model
    end
    return {
        var = { llm_model = model },
        anthropic_tool_name_map = ctx.anthropic_tool_name_map,
    }
end

local function replace_contents(target, source)
    local keys = {}
    for k in pairs(target) do
        keys[#keys + 1] = k
    end
    for _, k in ipairs(keys) do
        target[k] = nil
    end
    if type(source) == "table" then
        for k, v in pairs(source) do
            target[k] = v
        end
    end
end

function _M.convert_request(request_table, ctx)
    local out = impl:ConvertRequest(request_table, view_of(ctx))
    if out.err then
        return nil, out.err
    end
    if out.tool_name_map then
        ctx.anthropic_tool_name_map = out.tool_name_map
    end
    return out.body
end

function _M.convert_response(res_body, ctx)
    local out = impl:ConvertResponse(res_body, view_of(ctx))
    if out.err then
        return nil, out.err
    end
    return out.body
end

function _M.convert_sse_events(parsed, ctx, state)
    local out = impl:ConvertSseEvents(parsed, view_of(ctx), state)
    if out.err then
        error(out.err)
    end
    if type(state) == "table" then
        replace_contents(state, out.state)
    end
    return out.events
end

function _M.convert_headers(headers)
    if type(headers) ~= "table" then
        return
    end
    local out = impl:ConvertHeaders(headers)
    if out.err then
        error(out.err)
    end
    replace_contents(headers, out.headers)
end

return _M
