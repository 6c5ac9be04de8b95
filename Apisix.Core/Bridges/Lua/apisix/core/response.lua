-- apisix.core.response: headers, the upstream token and the source are C#
-- (Apisix.Core/Core/Response.cs). exit/say stay here: they end in ngx.print and ngx.exit, which
-- yield to the worker loop; the exit callbacks and the held body chunks are Lua values on the ctx.
local bridge = __bridge("apisix.core.response")
local encode_json = require("cjson.safe").encode
local ngx = ngx
local error, select, type, pairs, next = error, select, type, pairs, next

local _M = { version = 0.1 }

function _M.exit_insert_callback(func, conf)
    local funcs = ngx.ctx.apisix_exit_callback_funcs or {}
    funcs[#funcs + 1] = func
    funcs[#funcs + 1] = conf
    ngx.ctx.apisix_exit_callback_funcs = funcs
end

local function finish(code)
    if code then
        local ctx = ngx.ctx.api_ctx
        if ctx and not ctx._resp_source then
            ctx._resp_source = "apisix"
        end
        return ngx.exit(code)
    end
end

local function resp_exit(code, ...)
    local t, idx = {}, 0
    if code and type(code) ~= "number" then
        idx = idx + 1
        t[idx] = code
        code = nil
    end

    local callbacks = ngx.ctx.apisix_exit_callback_funcs
    if callbacks then
        local body
        for i = 1, select("#", ...) do
            local v = select(i, ...)
            if v ~= nil then
                body = v
                break
            end
        end
        if body == nil and idx > 0 then
            body = t[1]
        end
        local headers = {}
        for i = 1, #callbacks, 2 do
            code, body, headers = callbacks[i](code, body, headers, callbacks[i + 1])
        end
        if code then
            ngx.status = code
        end
        if headers and next(headers) then
            for k, v in pairs(headers) do
                ngx.header[k] = v
            end
        end
        if body ~= nil then
            if type(body) == "table" then
                local encoded, err = encode_json(body)
                if err then
                    error("failed to encode data: " .. err, -2)
                end
                ngx.print(encoded, "\n")
            else
                ngx.print(body)
            end
        end
        return finish(code)
    end

    if code then
        ngx.status = code
    end
    for i = 1, select("#", ...) do
        local v = select(i, ...)
        if type(v) == "table" then
            local body, err = encode_json(v)
            if err then
                error("failed to encode data: " .. err, -2)
            end
            t[idx + 1] = body
            t[idx + 2] = "\n"
            idx = idx + 2
        elseif v ~= nil then
            idx = idx + 1
            t[idx] = v
        end
    end
    if idx > 0 then
        ngx.print(t)
    end
    return finish(code)
end
_M.exit = resp_exit

function _M.say(...)
    resp_exit(nil, ...)
end

local function set_header(append, ...)
    if bridge:HeadersSent() then
        error("headers have already been sent", 3)
    end
    local count = select("#", ...)
    if count == 1 then
        local headers = select(1, ...)
        if type(headers) ~= "table" then
            ngx.header[headers] = nil
            return
        end
        for k, v in pairs(headers) do
            if append then
                bridge:AddHeader(k, v)
            else
                ngx.header[k] = v
            end
        end
        return
    end
    for i = 1, count, 2 do
        local k, v = select(i, ...)
        if append then
            bridge:AddHeader(k, v)
        else
            ngx.header[k] = v
        end
    end
end

function _M.set_header(...)
    set_header(false, ...)
end

function _M.add_header(...)
    set_header(true, ...)
end

function _M.get_upstream_status(ctx)
    return bridge:UpstreamStatus(ctx.var.upstream_status)
end

function _M.set_response_source(ctx, source)
    if ctx then
        ctx._resp_source = source
    end
end

function _M.get_last_upstream_token(s)
    return bridge:LastUpstreamToken(s)
end

function _M.get_response_source(ctx)
    if not ctx then
        return "apisix"
    end
    if ctx._resp_source then
        return ctx._resp_source
    end
    if ctx._apisix_proxied then
        local last = bridge:LastUpstreamToken(ngx.var.upstream_header_time)
        if last and last ~= "-" then
            ctx._resp_source = "upstream"
            return "upstream"
        end
        ctx._resp_source = "nginx"
        return "nginx"
    end
    return "apisix"
end

function _M.clear_header_as_body_modified()
    ngx.header.content_length = nil
    ngx.header.content_encoding = nil
    ngx.header.last_modified = nil
    ngx.header.etag = nil
end

function _M.hold_body_chunk(ctx, hold_the_copy, max_resp_body_bytes, body_buffer_key)
    local chunk, eof = ngx.arg[1], ngx.arg[2]
    local key = body_buffer_key or ctx._plugin_name
    ctx._body_buffer = ctx._body_buffer or {}
    local buffer
    if type(chunk) == "string" and chunk ~= "" then
        buffer = ctx._body_buffer[key]
        if buffer and buffer.done then
            return nil
        end
        if not buffer then
            buffer = { chunk, n = 1, bytes = #chunk }
            ctx._body_buffer[key] = buffer
        else
            buffer.n = buffer.n + 1
            buffer[buffer.n] = chunk
            buffer.bytes = buffer.bytes + #chunk
        end
        if max_resp_body_bytes and buffer.bytes >= max_resp_body_bytes then
            buffer.done = true
            return table.concat(buffer, "", 1, buffer.n):sub(1, max_resp_body_bytes)
        end
    end
    if eof then
        buffer = ctx._body_buffer[key]
        if not buffer then
            if max_resp_body_bytes and #chunk >= max_resp_body_bytes then
                chunk = chunk:sub(1, max_resp_body_bytes)
            end
            return chunk
        end
        if buffer.done then
            return nil
        end
        ctx._body_buffer[key] = nil
        return table.concat(buffer, "", 1, buffer.n)
    end
    if not hold_the_copy then
        ngx.arg[1] = nil
    end
end

return _M
