-- apisix.plugins.ai-aliyun-content-moderation for Lua callers (the plugin itself is C#):
-- the module fields, check_schema, and lua_body_filter, which runs the C# filter for the
-- request being served with the caller's conf and ctx tables.
local _M = require("apisix.bridge.plugin")("apisix.plugins.ai-aliyun-content-moderation")
local impl = __bridge("apisix.plugins.ai-aliyun-content-moderation.functions")
local await = __rt.await
local error = error


function _M.lua_body_filter(conf, ctx, headers, body)
    local op, err = impl:LuaBodyFilter(conf, ctx, headers, body)
    if not op then
        error(err, 2)
    end
    local ok, code, new_body, session_id, cache, last_time, risk_level, ferr = await(op)
    if not ok then
        error(ferr, 2)
    end
    -- the ctx fields the filter keeps between chunks, back on the caller's table
    if type(ctx) == "table" then
        ctx.session_id = session_id
        ctx.content_moderation_cache = cache
        ctx.last_moderate_time = last_time
        if risk_level ~= nil and type(ctx.var) == "table" then
            ctx.var.llm_content_risk_level = risk_level
        end
    end
    return code, new_body
end


return _M
