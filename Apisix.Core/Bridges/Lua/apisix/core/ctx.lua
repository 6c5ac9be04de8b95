-- apisix.core.ctx: ctx.var's table, cache and metatable. Request variables come from the C#
-- twin (Apisix.Core/Core/Ctx.cs); what stays here reads Lua state (the ctx's own fields,
-- getters registered as Lua functions, uri params) or calls functions that yield (the body).
local bridge = __bridge("apisix.core.ctx")
local core_str = require("apisix.core.string")
local request = require("apisix.core.request")
local log = require("apisix.core.log")
local tablepool = require("tablepool")
local ngx = ngx
local sub_str, type, error, setmetatable = string.sub, type, error, setmetatable

local _M = { version = 0.2 }

local no_cacheable_var_names = { args = true, is_args = true }

-- variables kept on the ctx itself (true) or computed from it
local apisix_var_names = {
    balancer_ip = true, balancer_port = true, consumer_group_id = true, consumer_name = true,
    route_id = true, route_name = true, service_id = true, service_name = true,
    resp_body = function(ctx) return ctx.resp_body or "" end,
}

local function first(v)
    if type(v) == "table" then return v[1] end
    return v
end

local mt = {
    __index = function(t, key)
        local cached = t._cache[key]
        if cached ~= nil then
            log.debug("serving ctx value from cache for key: ", key)
            return cached
        end
        if type(key) ~= "string" then
            error("invalid argument, expect string value", 2)
        end

        local val
        local getter = apisix_var_names[key]
        if getter then
            local ctx = t._ctx
            if getter == true then
                val = ctx and ctx[key]
            else
                val = getter(ctx)
            end
        elseif core_str.has_prefix(key, "arg_") then
            val = first(request.get_uri_args(t._ctx)[sub_str(key, 5)])
        elseif core_str.has_prefix(key, "post_arg_") then
            local content_type = request.header(t._ctx, "Content-Type")
            if content_type and core_str.has_prefix(content_type, "application/x-www-form-urlencoded") then
                val = first(request.get_post_args(t._ctx)[sub_str(key, 10)])
            end
        elseif core_str.has_prefix(key, "uri_param_") then
            if t._ctx.curr_req_matched then
                val = t._ctx.curr_req_matched[sub_str(key, 11)]
            end
        elseif core_str.has_prefix(key, "post_arg.") then
            local arg_key = sub_str(key, 10)
            local body, err = request.get_request_body_table(t._ctx)
            if not body then
                log.warn("failed to fetch post args value by key: ", arg_key, " error: ", err)
                return nil
            end
            local current = body
            for part in arg_key:gmatch("[^.]+") do
                if type(current) ~= "table" then
                    current = nil
                    break
                end
                current = current[part]
            end
            val = current
        else
            val = bridge:Var(key)
        end

        if val ~= nil and not no_cacheable_var_names[key] then
            t._cache[key] = val
        end
        return val
    end,
    __newindex = function(t, key, val)
        if bridge:IsNgxVar(key) then
            ngx.var[key] = val
        end
        t._cache[key] = val
    end,
}

function _M.register_var(name, getter, opts)
    if type(getter) ~= "function" then
        error("the getter of registered var should be a function")
    end
    apisix_var_names[name] = getter
    if opts and opts.no_cacheable then
        no_cacheable_var_names[name] = true
    end
end

function _M.set_vars_meta(ctx)
    local var = tablepool.fetch("ctx_var", 0, 32)
    if not var._cache then
        var._cache = {}
    end
    var._ctx = ctx
    setmetatable(var, mt)
    ctx.var = var
end

function _M.release_vars(ctx)
    if ctx.var == nil then
        return
    end
    require("table.clear")(ctx.var._cache)
    tablepool.release("ctx_var", ctx.var, true)
    ctx.var = nil
end

return _M
