-- apisix.core.ctx: ctx.var's table, cache and metatable. Request variables come from the C#
-- twin (Apisix.Core/Core/Ctx.cs); what stays here reads Lua state (the ctx's own fields,
-- getters registered as Lua functions, uri params) or calls functions that yield (the body).
local bridge = __bridge("apisix.core.ctx")
local core_str = require("apisix.core.string")
local request = require("apisix.core.request")
local log = require("apisix.core.log")
local tablepool = require("tablepool")
local ngx = ngx
local sub_str, type, error, setmetatable, ipairs = string.sub, type, error, setmetatable, ipairs

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

-- names registered with register_var (also in apisix_var_names)
local registered_var_names = {}

-- The variables computed on the Lua side: registered getters, and the prefixes that read Lua
-- caches or the body. Returns true and the value when the name is one of them.
local function lua_var(ctx, key)
    local getter = registered_var_names[key]
    if getter then
        return true, getter(ctx)
    end
    if core_str.has_prefix(key, "arg_") then
        return true, first(request.get_uri_args(ctx)[sub_str(key, 5)])
    end
    if core_str.has_prefix(key, "post_arg_") then
        local content_type = request.header(ctx, "Content-Type")
        if content_type and core_str.has_prefix(content_type, "application/x-www-form-urlencoded") then
            return true, first(request.get_post_args(ctx)[sub_str(key, 10)])
        end
        return true, nil
    end
    if core_str.has_prefix(key, "uri_param_") then
        return true, ctx.curr_req_matched and ctx.curr_req_matched[sub_str(key, 11)]
    end
    if core_str.has_prefix(key, "post_arg.") then
        local arg_key = sub_str(key, 10)
        local body, err = request.get_request_body_table(ctx)
        if not body then
            log.warn("failed to fetch post args value by key: ", arg_key, " error: ", err)
            return true, nil
        end
        local current = body
        for part in arg_key:gmatch("[^.]+") do
            if type(current) ~= "table" then
                return true, nil
            end
            current = current[part]
        end
        return true, current
    end
    return false
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

        local ctx = t._ctx
        local found, val = lua_var(ctx, key)
        if not found then
            local getter = apisix_var_names[key]
            if getter == true then
                val = ctx and ctx[key]
            elseif getter then
                val = getter(ctx)
            else
                val = bridge:Var(key)
            end
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

-- arg_* stays with the gateway, which reads the args nginx holds now (plugins rewrite them)
local lua_var_prefixes = { "post_arg_", "uri_param_", "post_arg." }

local function lua_var_name(key)
    if registered_var_names[key] then
        return true
    end
    for _, prefix in ipairs(lua_var_prefixes) do
        if core_str.has_prefix(key, prefix) then
            return true
        end
    end
    return false
end

-- ctx.var for a ctx the C# gateway runs (serverless functions): the variables computed here
-- are cached in `_cache` as above; every other name reads and writes the gateway's ctx.var
-- (`vars`, Apisix.Core/Core/CtxVar.cs), which keeps its own cache.
function _M.gateway_vars(ctx, vars)
    local var = { _cache = {}, _ctx = ctx }
    return setmetatable(var, {
        __index = function(t, key)
            local cached = t._cache[key]
            if cached ~= nil then
                return cached
            end
            if type(key) ~= "string" then
                error("invalid argument, expect string value", 2)
            end
            if not lua_var_name(key) then
                return vars:Get(key)
            end
            local _, val = lua_var(ctx, key)
            if val ~= nil and not no_cacheable_var_names[key] then
                t._cache[key] = val
            end
            return val
        end,
        __newindex = function(t, key, val)
            if type(key) == "string" and lua_var_name(key) then
                t._cache[key] = val
            end
            vars:Set(key, val)
        end,
    })
end

function _M.register_var(name, getter, opts)
    if type(getter) ~= "function" then
        error("the getter of registered var should be a function")
    end
    apisix_var_names[name] = getter
    registered_var_names[name] = getter
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
