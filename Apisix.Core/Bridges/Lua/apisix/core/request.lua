-- apisix.core.request: the request as Lua code sees it. The header edits and checks are C#
-- (Apisix.Core/Core/Request.cs; ngx.req is C# too); what stays here caches on the Lua ctx or
-- reads the body (ngx.req.read_body yields to the worker loop, which a C# call cannot).
local bridge = __bridge("apisix.core.request")
local log = require("apisix.core.log")
local core_str = require("apisix.core.string")
local json = require("apisix.core.json")
local ngx = ngx
local type, error, tonumber, str_lower = type, error, tonumber, string.lower

local CONTENT_TYPE_JSON = "application/json"
local CONTENT_TYPE_FORM_URLENCODED = "application/x-www-form-urlencoded"
local CONTENT_TYPE_MULTIPART_FORM = "multipart/form-data"

local _M = {}

-- apisix/patch.lua's wrapper of ngx.req.set_body_data (patch.lua is not ported; the wrapper is
-- installed with this module): a new body drops the parsed body and the post_arg.* values cached
-- on the request's api_ctx.
do
    local orig_set_body_data = ngx.req.set_body_data
    ngx.req.set_body_data = function(data)
        local api_ctx = ngx.ctx.api_ctx
        if api_ctx and api_ctx._request_body_table then
            api_ctx._request_body_table = nil
            api_ctx._request_body_type = nil
            local cache = api_ctx.var and api_ctx.var._cache
            if cache then
                local stale = {}
                for key in pairs(cache) do
                    if type(key) == "string" and key:sub(1, 9) == "post_arg." then
                        stale[#stale + 1] = key
                    end
                end
                for _, key in ipairs(stale) do
                    cache[key] = nil
                end
            end
        end
        return orig_set_body_data(data)
    end
end

local function _headers(ctx)
    ctx = ctx or ngx.ctx.api_ctx
    if not ctx then
        return ngx.req.get_headers()
    end
    local headers = ctx.headers
    if not headers then
        headers = ngx.req.get_headers()
        ctx.headers = headers
    end
    return headers
end
_M.headers = _headers

function _M.header(ctx, name)
    local value = _headers(ctx)[name]
    return type(value) == "table" and value[1] or value
end

local function modify_header(ctx, header_name, header_value, override)
    if type(ctx) == "string" then
        header_value = header_name
        header_name = ctx
        ctx = nil
        if override then
            log.warn("DEPRECATED: use set_header(ctx, header_name, header_value) instead")
        else
            log.warn("DEPRECATED: use add_header(ctx, header_name, header_value) instead")
        end
    end
    local err = bridge:ValidateHeaderName(header_name)
    if err then
        error(err)
    end
    if override then
        ngx.req.set_header(header_name, header_value)
    else
        bridge:AddHeader(header_name, header_value)
    end
    if ctx and ctx.var then
        ctx.var["http_" .. str_lower(header_name)] = nil
    end
    if ctx and ctx.headers then
        local key = str_lower(header_name)
        if override or not ctx.headers[key] then
            ctx.headers[key] = header_value
        else
            local values = ctx.headers[key]
            if type(values) == "table" then
                values[#values + 1] = header_value
            else
                ctx.headers[key] = { values, header_value }
            end
        end
    end
end

function _M.set_header(ctx, header_name, header_value)
    modify_header(ctx, header_name, header_value, true)
end

function _M.add_header(ctx, header_name, header_value)
    modify_header(ctx, header_name, header_value, false)
end

function _M.get_ip(ctx)
    ctx = ctx or ngx.ctx.api_ctx
    return ctx.var.realip_remote_addr or ctx.var.remote_addr or ""
end

function _M.get_remote_client_ip(ctx)
    ctx = ctx or ngx.ctx.api_ctx
    return ctx.var.remote_addr or ""
end

function _M.get_remote_client_port(ctx)
    ctx = ctx or ngx.ctx.api_ctx
    return tonumber(ctx.var.remote_port)
end

function _M.get_uri_args(ctx)
    ctx = ctx or ngx.ctx.api_ctx
    if not ctx then
        return ngx.req.get_uri_args(0)
    end
    if not ctx.req_uri_args then
        ctx.req_uri_args = ngx.req.get_uri_args(0)
    end
    return ctx.req_uri_args
end

function _M.set_uri_args(ctx, args)
    ctx = ctx or ngx.ctx.api_ctx
    if ctx then
        ctx.req_uri_args = nil
    end
    return ngx.req.set_uri_args(args)
end

function _M.get_post_args(ctx)
    ctx = ctx or ngx.ctx.api_ctx
    if ctx and ctx.req_post_args then
        return ctx.req_post_args
    end
    ngx.req.read_body()
    local args, err = ngx.req.get_post_args(0)
    if not args then
        log.error("the post form is too large: ", err)
        args = {}
    end
    if ctx then
        ctx.req_post_args = args
    end
    return args
end

function _M.get_body(max_size, ctx)
    if max_size then
        local var = ctx and ctx.var or ngx.var
        local content_length = tonumber(var.http_content_length)
        if content_length then
            local err = bridge:CheckSize(content_length, max_size)
            if err then
                local expect = var.http_expect
                if expect and str_lower(expect) == "100-continue" then
                    ngx.req.clear_header("expect")
                end
                return nil, err
            end
        end
    end
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if body then
        local err = bridge:CheckSize(#body, max_size)
        if err then
            return nil, err
        end
        return body
    end

    -- a body nginx kept in a temp file
    local file_name = ngx.req.get_body_file()
    if not file_name then
        return nil
    end
    log.info("attempt to read body from file: ", file_name)
    local file_body, err = require("apisix.core.io").get_file(file_name)
    if not file_body then
        return nil, err
    end
    if max_size then
        local size_err = bridge:CheckSize(#file_body, max_size)
        if size_err then
            return nil, size_err
        end
    end
    return file_body
end

local function get_request_body_table(ctx, content_type, max_size)
    ctx = ctx or ngx.ctx.api_ctx
    if ctx._request_body_table ~= nil then
        if content_type and ctx._request_body_type ~= content_type then
            return nil, "request body type mismatch: cached type is "
                        .. (ctx._request_body_type or "unknown") .. ", expected " .. content_type
        end
        log.debug("reuse parsed request body from ctx cache")
        return ctx._request_body_table
    end
    local ct = content_type or _M.header(ctx, "Content-Type") or ""
    local result, err, detected
    if core_str.find(ct, CONTENT_TYPE_JSON) then
        local body, body_err = _M.get_body(max_size, ctx)
        if not body then
            return nil, "could not get body: " .. (body_err or "request body is empty")
        end
        result, err = json.decode(body)
        if not result then
            return nil, "could not parse JSON request body: " .. (err or "invalid JSON")
        end
        detected = CONTENT_TYPE_JSON
    elseif core_str.find(ct, CONTENT_TYPE_FORM_URLENCODED) then
        result = _M.get_post_args()
        detected = CONTENT_TYPE_FORM_URLENCODED
    elseif core_str.find(ct, CONTENT_TYPE_MULTIPART_FORM) then
        local body, body_err = _M.get_body(max_size, ctx)
        if not body then
            return nil, "could not get body: " .. (body_err or "request body is empty")
        end
        local all = bridge:ParseMultipart(body, ct)
        if not all then
            return nil, "failed to parse multipart form data"
        end
        result = json.decode(all)
        detected = CONTENT_TYPE_MULTIPART_FORM
    else
        return nil, "unsupported content-type: " .. ct .. ", supported types are: "
                    .. CONTENT_TYPE_JSON .. ", " .. CONTENT_TYPE_FORM_URLENCODED .. ", "
                    .. CONTENT_TYPE_MULTIPART_FORM
    end
    ctx._request_body_table = result
    ctx._request_body_type = detected
    return result
end
_M.get_request_body_table = get_request_body_table

function _M.get_json_request_body_table(max_size)
    local body, err = get_request_body_table(ngx.ctx.api_ctx, CONTENT_TYPE_JSON, max_size)
    if not body then
        return nil, { message = err }
    end
    return body
end

function _M.get_scheme(ctx)
    ctx = ctx or ngx.ctx.api_ctx
    return ctx.var.scheme or ""
end

function _M.get_host(ctx)
    ctx = ctx or ngx.ctx.api_ctx
    return ctx.var.host or ""
end

function _M.get_port(ctx)
    ctx = ctx or ngx.ctx.api_ctx
    return tonumber(ctx.var.server_port)
end

_M.get_http_version = ngx.req.http_version
_M.get_method = ngx.req.get_method

return _M
