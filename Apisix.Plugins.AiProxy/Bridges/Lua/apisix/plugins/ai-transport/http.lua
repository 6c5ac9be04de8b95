-- apisix.plugins.ai-transport.http for Lua callers. The gateway's own transport is C#
-- (Apisix.Plugins.AiProxy.AiTransport.Http); this face drives whatever `resty.http` and
-- `rapidjson` modules are loaded when it is required (tests swap them for doubles), in the
-- same steps as the C# one: connect, encode the body (rapidjson with sorted keys, cjson when
-- that fails), send, and note where the request went.
local core = require("apisix.core")
local http = require("resty.http")
local rapidjson = require("rapidjson")
local impl = __bridge("apisix.plugins.ai-transport.http")
local getmetatable = getmetatable
local ngx_now = ngx.now
local pairs = pairs
local ipairs = ipairs
local pcall = pcall
local type = type
local tostring = tostring

local _M = {}


function _M.handle_error(err)
    return impl:HandleError(err)
end


function _M.construct_forward_headers(ext_opts_headers, ctx)
    return impl:ForwardHeaders(core.request.headers(ctx) or {}, ext_opts_headers or {})
end


-- the body's tables as rapidjson values: cjson's null and arrays become rapidjson's
local function as_rapidjson(data)
    if data == core.json.null then
        return rapidjson.null
    end
    if type(data) ~= "table" then
        return data
    end
    local copy = {}
    if getmetatable(data) == core.json.array_mt then
        for i, v in ipairs(data) do
            copy[i] = as_rapidjson(v)
        end
        return rapidjson.array(copy)
    end
    for k, v in pairs(data) do
        copy[k] = as_rapidjson(v)
    end
    return copy
end


local function encode_body(body)
    local ok, encoded = pcall(function()
        return rapidjson.encode(as_rapidjson(body), {sort_keys = true})
    end)
    if ok and encoded then
        return encoded
    end
    core.log.error("failed to encode AI request body with rapidjson: ",
                   ok and "unknown" or tostring(encoded),
                   ", fallback to cjson; LLM cache hit rate may decrease")
    return core.json.encode(body)
end


function _M.request(params, timeout)
    local httpc, err = http.new()
    if not httpc then
        return nil, "failed to create http client: " .. (err or "unknown")
    end
    httpc:set_timeout(timeout)

    local meta = {
        upstream_addr = (params.host or "") .. ":" .. (params.port or ""),
        upstream_host = params.host or "",
        upstream_scheme = params.scheme or "http",
        upstream_uri = params.path,
        t0 = ngx_now(),
    }

    local ok, conn_err = httpc:connect(params)
    if not ok then
        return nil, "connect: " .. (conn_err or "unknown"), meta
    end
    meta.connect_time = (ngx_now() - meta.t0) * 1000

    local req_json = params.body
    if type(req_json) ~= "string" then
        local enc_err
        req_json, enc_err = encode_body(params.body)
        if not req_json then
            httpc:close()
            return nil, "encode body: " .. (enc_err or "unknown"), meta
        end
    end
    params.body = req_json

    local res, req_err = httpc:request(params)
    if not res then
        httpc:close()
        return nil, "request: " .. (req_err or "unknown"), meta
    end

    res._httpc = httpc
    res._upstream_addr = meta.upstream_addr
    res._upstream_host = meta.upstream_host
    res._upstream_scheme = meta.upstream_scheme
    res._upstream_uri = params.path
    res._connect_time = meta.connect_time
    res._header_time = (ngx_now() - meta.t0) * 1000
    res._t0 = meta.t0
    return res
end


function _M.set_keepalive(res, keepalive_timeout, keepalive_pool)
    if not res or not res._httpc then
        return
    end
    local ok, err = res._httpc:set_keepalive(keepalive_timeout, keepalive_pool)
    if not ok then
        core.log.warn("failed to keepalive connection: ", err)
    end
end


return _M
