-- An HTTP/1.1 client over ngx.socket.tcp with lua-resty-http 0.17's public API, written for the
-- emulated OpenResty. Body readers are plain closures: a chunked body gives one HTTP chunk per
-- call, a Content-Length body everything (or up to the buffer size asked for), a body without
-- length reads to EOF; each returns nil once the body is done.
local http_headers = require("resty.http_headers")

local ngx = ngx
local tcp = ngx.socket.tcp
local type, tostring, tonumber, pairs, ipairs, setmetatable, select, error =
    type, tostring, tonumber, pairs, ipairs, setmetatable, select, error
local lower, upper, sub, find, match = string.lower, string.upper, string.sub, string.find, string.match
local concat = table.concat

local _M = { _VERSION = "0.17.2" }
_M._USER_AGENT = "lua-resty-http/" .. _M._VERSION .. " (Lua) ngx_lua/" .. ngx.config.ngx_lua_version

local mt = { __index = _M }

local HOP_BY_HOP = {
    ["connection"] = true, ["keep-alive"] = true, ["proxy-authenticate"] = true,
    ["proxy-authorization"] = true, ["te"] = true, ["trailers"] = true,
    ["transfer-encoding"] = true, ["upgrade"] = true, ["content-length"] = true,
}
local EXPECTING_BODY = { POST = true, PUT = true, PATCH = true }
local VAR_PHASES = { set = true, rewrite = true, server_rewrite = true, access = true, content = true,
                     header_filter = true, body_filter = true, log = true, precontent = true }

local function deep_copy(v)
    if type(v) ~= "table" then return v end
    local c = {}
    for k, x in pairs(v) do c[deep_copy(k)] = deep_copy(x) end
    return c
end

function _M.new(_)
    local sock, err = tcp()
    if not sock then return nil, err end
    return setmetatable({ sock = sock, keepalive = true }, mt)
end

function _M.debug() end

function _M.set_timeout(self, timeout)
    if not self.sock then return nil, "not initialized" end
    return self.sock:settimeout(timeout)
end

function _M.set_timeouts(self, connect_timeout, send_timeout, read_timeout)
    if not self.sock then return nil, "not initialized" end
    return self.sock:settimeouts(connect_timeout, send_timeout, read_timeout)
end

function _M.tcp_only_connect(self, host, port, ...)
    local sock = self.sock
    if not sock then return nil, "not initialized" end
    self.host = host
    self.port = type(port) == "number" and port or nil
    self.keepalive = true
    self.ssl = false
    return sock:connect(host, port, ...)
end

local function connect_table(self, opts)
    local sock = self.sock
    if not sock then return nil, "not initialized" end
    local scheme, host, port = opts.scheme, opts.host, opts.port
    if scheme and not port then
        port = scheme == "https" and 443 or 80
    elseif port and not scheme then
        return nil, "'scheme' is required when providing a port"
    end
    local ssl = scheme == "https"

    local proxy = opts.proxy_opts or self.proxy_opts
    local proxy_uri, path_prefix
    if proxy and not (proxy.no_proxy and self:_no_proxy(proxy.no_proxy, host)) then
        proxy_uri = ssl and proxy.https_proxy or proxy.http_proxy
        if proxy_uri and not ssl then
            path_prefix = "http://" .. host .. (port == 80 and "" or (":" .. port))
        end
    end

    local ok, err
    local tcp_opts = { pool = opts.pool, pool_size = opts.pool_size, backlog = opts.backlog }
    if proxy_uri then
        local p, perr = self:parse_uri(proxy_uri)
        if not p then return nil, "uri parse error: " .. perr end
        if p[1] ~= "http" then
            return nil, "protocol " .. tostring(p[1]) .. " not supported for proxy connections"
        end
        ok, err = sock:connect(p[2], p[3], tcp_opts)
        if not ok then
            return nil, "failed to connect to: " .. (p[2] or "") .. ":" .. (p[3] or "") .. ": " .. err
        end
        if ssl and sock:getreusedtimes() == 0 then
            local dest = host .. ":" .. port
            local res, rerr = self:request({ method = "CONNECT", path = dest,
                headers = { ["Host"] = dest, ["Proxy-Authorization"] = proxy.https_proxy_authorization } })
            if not res then return nil, "failed to issue CONNECT to proxy: " .. rerr end
            if res.status < 200 or res.status > 299 then
                return nil, "failed to establish a tunnel through a proxy: " .. res.status
            end
        end
    elseif not port then
        ok, err = sock:connect(host, tcp_opts)
        if not ok then return nil, err end
    else
        ok, err = sock:connect(host, port, tcp_opts)
        if not ok then return nil, err end
    end

    local session
    if ssl and sock:getreusedtimes() == 0 then
        session, err = sock:sslhandshake(opts.ssl_reused_session, opts.ssl_server_name or host,
            opts.ssl_verify ~= false, opts.ssl_send_status_req)
        if not session then
            self:close()
            return nil, err
        end
    end

    self.host, self.port, self.ssl, self.keepalive = host, port, ssl, true
    self.http_proxy_auth = (not ssl and proxy_uri and proxy.http_proxy_authorization) or nil
    self.path_prefix = path_prefix
    return true, nil, session
end

function _M.connect(self, opts, ...)
    if type(opts) == "table" then return connect_table(self, opts) end
    return self:tcp_only_connect(opts, ...)
end

function _M.set_keepalive(self, ...)
    local sock = self.sock
    if not sock then return nil, "not initialized" end
    if self.keepalive == true then return sock:setkeepalive(...) end
    local ok, err = sock:close()
    if ok then return 2, "connection must be closed" end
    return ok, err
end

function _M.get_reused_times(self)
    if not self.sock then return nil, "not initialized" end
    return self.sock:getreusedtimes()
end

function _M.close(self)
    if not self.sock then return nil, "not initialized" end
    return self.sock:close()
end

function _M.parse_uri(_, uri, query_in_path)
    if query_in_path == nil then query_in_path = true end
    local m, err = ngx.re.match(uri,
        [[^(?:(http[s]?):)?//((?:[^\[\]:/\?]+)|(?:\[.+\]))(?::(\d+))?([^\?]*)\??(.*)]], "jo")
    if not m then
        if err then return nil, "failed to match the uri: " .. uri .. ", " .. err end
        return nil, "bad uri: " .. uri
    end
    if not m[1] then
        local scheme = VAR_PHASES[ngx.get_phase()] and ngx.var.scheme or nil
        if scheme == "http" or scheme == "https" then
            m[1] = scheme
        else
            return nil, "schemaless URIs require a request context: " .. uri
        end
    end
    if m[3] then
        m[3] = tonumber(m[3])
    else
        m[3] = m[1] == "https" and 443 or 80
    end
    if not m[4] or m[4] == "" then m[4] = "/" end
    if query_in_path and m[5] and m[5] ~= "" then
        m[4] = m[4] .. "?" .. m[5]
        m[5] = nil
    end
    return m, nil
end

local function is_chunked(headers)
    local te = headers["Transfer-Encoding"]
    if not te then return false end
    if type(te) ~= "string" then te = concat(te, ",") end
    return find(lower(te), "chunked", 1, true) ~= nil
end
_M.transfer_encoding_is_chunked = is_chunked

local function format_request(self, params)
    local query = params.query or ""
    if type(query) == "table" then query = ngx.encode_args(query) end
    if query ~= "" and sub(query, 1, 1) ~= "?" then query = "?" .. query end
    local out = {
        upper(params.method), " ", self.path_prefix or "", params.path, query,
        params.version == 1.0 and " HTTP/1.0\r\n" or " HTTP/1.1\r\n",
    }
    for name, values in pairs(params.headers) do
        name = tostring(name)
        if type(values) == "table" then
            for _, v in pairs(values) do out[#out + 1] = name .. ": " .. tostring(v) .. "\r\n" end
        else
            out[#out + 1] = name .. ": " .. tostring(values) .. "\r\n"
        end
    end
    out[#out + 1] = "\r\n"
    return concat(out)
end

local function send_body(sock, body)
    if type(body) == "function" then
        repeat
            local chunk, err, partial = body()
            if chunk then
                local ok, serr = sock:send(chunk)
                if not ok then return nil, serr end
            elseif err ~= nil then
                return nil, err, partial
            end
        until chunk == nil
    elseif body ~= nil then
        local bytes, err = sock:send(body)
        if not bytes then return nil, err end
    end
    return true
end

local function receive_status(sock)
    local line, err = sock:receive("*l")
    if not line then return nil, nil, nil, err end
    local version = tonumber(sub(line, 6, 8))
    if not version then
        return nil, nil, nil, "couldn't parse HTTP version from response status line: " .. line
    end
    local status = tonumber(sub(line, 10, 12))
    if not status then
        return nil, nil, nil, "couldn't parse status code from response status line: " .. line
    end
    return status, version, sub(line, 14)
end

local function receive_headers(sock)
    local headers = http_headers.new()
    while true do
        local line, err = sock:receive("*l")
        if not line then return nil, err end
        local name, value = match(line, "([^:%s]+):%s*(.*)")
        if not name then break end
        local old = headers[name]
        if old then
            if type(old) ~= "table" then
                old = { old }
                headers[name] = old
            end
            old[#old + 1] = value
        else
            headers[name] = value
        end
    end
    return headers
end

local function chunked_reader(sock, default_size, has_trailer)
    local remaining, done = 0, false
    return function(max)
        if done then return nil end
        max = max or default_size
        if remaining == 0 then
            local line, err = sock:receive("*l")
            if not line then
                done = true
                return nil, err
            end
            local size = tonumber(match(line, "^%s*(%x+)") or "", 16)
            if not size then
                done = true
                return nil, "unable to read chunksize"
            end
            if size == 0 then
                done = true
                if not has_trailer then
                    repeat
                        local l = sock:receive("*l")
                    until not l or l == ""
                end
                return nil
            end
            remaining = size
        end
        local n = remaining
        if max and n > max then n = max end
        local data, err = sock:receive(n)
        if not data then
            done = true
            return nil, err
        end
        remaining = remaining - n
        if remaining == 0 then sock:receive(2) end
        return data
    end
end

local function length_reader(sock, length, default_size)
    local received, done = 0, false
    return function(max)
        if done then return nil end
        max = tonumber(max or default_size)
        if max and max < 0 then max = nil end
        if not length then
            if not max then
                done = true
                return sock:receive("*a")
            end
            local data, err, partial = sock:receive(max)
            if not data then
                done = true
                if err == "closed" then
                    if partial and partial ~= "" then return partial end
                    return nil
                end
                return nil, err, partial
            end
            return data
        end
        if not max then
            done = true
            return sock:receive(length - received)
        end
        local left = length - received
        if left <= 0 then
            done = true
            return nil
        end
        local n = left < max and left or max
        local data, err = sock:receive(n)
        if not data then
            done = true
            return nil, err
        end
        received = received + n
        return data
    end
end

local function no_body_reader() return nil end

local function read_body(res)
    local reader = res.body_reader
    if not reader then return nil, "no body to be read" end
    local chunks = {}
    repeat
        local chunk, err = reader()
        if err then return nil, err, concat(chunks) end
        if chunk then chunks[#chunks + 1] = chunk end
    until not chunk
    return concat(chunks)
end

local function read_trailers(res)
    local reader = res.trailer_reader
    if not reader then return nil, "no trailers" end
    local trailers = reader()
    setmetatable(res.headers, { __index = trailers })
end

local function should_receive_body(method, code)
    if method == "HEAD" then return false end
    if code == 204 or code == 304 then return false end
    if code >= 100 and code < 200 then return false end
    return true
end

local DEFAULTS = { method = "GET", path = "/", version = 1.1 }

function _M.send_request(self, params)
    setmetatable(params, { __index = DEFAULTS })
    local sock = self.sock
    if not sock then return nil, "not initialized" end
    local body = params.body
    local headers = http_headers.new()
    for k, v in pairs(params.headers or {}) do headers[k] = v end
    if not headers["Proxy-Authorization"] then headers["Proxy-Authorization"] = self.http_proxy_auth end

    if is_chunked(headers) then
        headers["Content-Length"] = nil
    elseif not headers["Content-Length"] then
        local bt = type(body)
        if bt == "function" then
            return nil, "Request body is a function but a length or chunked encoding is not specified"
        elseif bt == "table" then
            local n = 0
            for _, v in ipairs(body) do n = n + #tostring(v) end
            headers["Content-Length"] = n
        elseif body == nil and EXPECTING_BODY[upper(params.method)] then
            -- as api7-lua-resty-http (the client APISIX ships): an empty body, Content-Length 0
            headers["Content-Length"] = 0
        elseif body ~= nil then
            headers["Content-Length"] = #tostring(body)
        end
    end

    if not headers["Host"] then
        local host = self.host or ""
        if sub(host, 1, 5) == "unix:" then
            return nil, "Unable to generate a useful Host header for a unix domain socket. Please provide one."
        end
        if self.port and ((self.ssl and self.port ~= 443) or (not self.ssl and self.port ~= 80)) then
            headers["Host"] = host .. ":" .. self.port
        else
            headers["Host"] = host
        end
    end
    if not headers["User-Agent"] then headers["User-Agent"] = _M._USER_AGENT end
    if params.version == 1.0 and not headers["Connection"] then headers["Connection"] = "Keep-Alive" end
    if VAR_PHASES[ngx.get_phase()] and not headers["traceparent"] then
        local tp = ngx.var.http_traceparent
        if tp then headers["traceparent"] = tp end
    end

    params.headers = headers
    local bytes, err = sock:send(format_request(self, params))
    if not bytes then return nil, err end
    if headers["Expect"] ~= "100-continue" then
        local ok, berr, partial = send_body(sock, body)
        if not ok then return nil, berr, partial end
    end
    return true
end

function _M.read_response(self, params)
    local sock = self.sock
    local status, version, reason, err

    if params.headers["Expect"] == "100-continue" then
        local s, v, r, e = receive_status(sock)
        if not s then return nil, e end
        if s == 100 then
            local _, herr = receive_headers(sock)
            if herr then return nil, herr end
            local ok, berr = send_body(sock, params.body)
            if not ok then return nil, berr end
        else
            status, version, reason = s, v, r
        end
    end

    if not status then
        status, version, reason, err = receive_status(sock)
        if not status then return nil, err end
    end

    local headers, herr = receive_headers(sock)
    if not headers then return nil, herr end

    local connection = headers["Connection"]
    if type(connection) ~= "string" then
        if version == 1.0 then self.keepalive = false end
    else
        connection = lower(connection)
        if (version == 1.1 and find(connection, "close", 1, true))
            or (version == 1.0 and not find(connection, "keep-alive", 1, true)) then
            self.keepalive = false
        end
    end

    local body_reader, has_body = no_body_reader, false
    local has_trailer = headers["Trailer"] ~= nil
    if should_receive_body(params.method, status) then
        has_body = true
        if version == 1.1 and is_chunked(headers) then
            body_reader = chunked_reader(sock, nil, has_trailer)
        else
            body_reader = length_reader(sock, tonumber(headers["Content-Length"]))
        end
    end

    local trailer_reader
    if has_trailer then
        local read = false
        trailer_reader = function()
            if read then return nil end
            read = true
            return receive_headers(sock)
        end
    end

    return {
        status = status,
        reason = reason,
        headers = headers,
        has_body = has_body,
        body_reader = body_reader,
        read_body = read_body,
        trailer_reader = trailer_reader,
        read_trailers = read_trailers,
    }
end

function _M.request(self, params)
    params = deep_copy(params)
    local ok, err = self:send_request(params)
    if not ok then return ok, err end
    return self:read_response(params)
end

function _M.request_pipeline(self, requests)
    requests = deep_copy(requests)
    for _, params in ipairs(requests) do
        if params.headers and params.headers["Expect"] == "100-continue" then
            return nil, "Cannot pipeline request specifying Expect: 100-continue"
        end
        local ok, err = self:send_request(params)
        if not ok then return ok, err end
    end
    local responses = {}
    for i, params in ipairs(requests) do
        responses[i] = setmetatable({ params = params, response_read = false }, {
            __index = function(t, k)
                if t.response_read == false then
                    t.response_read = true
                    local res, err = _M.read_response(self, t.params)
                    if not res then
                        ngx.log(ngx.ERR, err)
                    else
                        for rk, rv in pairs(res) do t[rk] = rv end
                    end
                end
                return rawget(t, k)
            end,
        })
    end
    return responses
end

function _M.request_uri(self, uri, params)
    params = deep_copy(params or {})
    if self.proxy_opts then params.proxy_opts = deep_copy(self.proxy_opts) end

    local parsed, err = self:parse_uri(uri, false)
    if not parsed then return nil, err end
    local path, query
    params.scheme, params.host, params.port, path, query = parsed[1], parsed[2], parsed[3], parsed[4], parsed[5]
    params.path = params.path or path
    params.query = params.query or query
    params.ssl_server_name = params.ssl_server_name or params.host

    local proxy_auth = (params.headers or {})["Proxy-Authorization"]
    if proxy_auth and params.proxy_opts then
        params.proxy_opts.https_proxy_authorization = proxy_auth
        params.proxy_opts.http_proxy_authorization = proxy_auth
    end

    local ok, cerr = self:connect(params)
    if not ok then return nil, cerr end

    local res, rerr = self:request(params)
    if not res then
        self:close()
        return nil, rerr
    end

    local body, berr = res:read_body()
    if not body then
        self:close()
        return nil, berr
    end
    res.body = body

    if params.keepalive == false then
        local cok, e = self:close()
        if not cok then ngx.log(ngx.ERR, e) end
    else
        local kok, e = self:set_keepalive(params.keepalive_timeout, params.keepalive_pool)
        if not kok then ngx.log(ngx.ERR, e) end
    end
    return res, nil
end

function _M.get_client_body_reader(_, chunksize, sock, headers)
    chunksize = chunksize or 65536
    if not sock then
        local ok, s, err = pcall(ngx.req.socket)
        if not ok then return nil, s end
        if not s then
            if err == "no body" then return nil end
            return nil, err
        end
        sock = s
    end
    headers = headers or ngx.req.get_headers()
    local length = headers["Content-Length"]
    if length then return length_reader(sock, tonumber(length), chunksize) end
    if is_chunked(headers) then return chunked_reader(sock, chunksize) end
    return nil
end

function _M.set_proxy_options(self, opts)
    self.proxy_opts = deep_copy(opts)
end

function _M._no_proxy(_, no_proxy, host)
    if no_proxy == "*" then return true end
    local set = {}
    for part in string.gmatch(no_proxy, "[^,]+") do
        part = match(part, "^%s*%.?(.-)%s*$")
        if part ~= "" then set[part] = true end
    end
    while host do
        if set[host] then return true end
        host = match(host, "^[^.]+%.(.+)$")
        if host and not find(host, ".", 1, true) then break end
    end
    return false
end

function _M.get_proxy_uri(self, scheme, host)
    local p = self.proxy_opts
    if not p then return nil end
    if p.no_proxy and self:_no_proxy(p.no_proxy, host) then return nil end
    if scheme == "http" and p.http_proxy then return p.http_proxy end
    if scheme == "https" and p.https_proxy then return p.https_proxy end
    return nil
end

function _M.ssl_handshake(self, ...)
    if not self.sock then return nil, "not initialized" end
    self.ssl = true
    return self.sock:sslhandshake(...)
end

function _M.proxy_request(self, chunksize)
    return self:request({
        method = ngx.req.get_method(),
        path = ngx.re.gsub(ngx.var.uri, "\\s", "%20", "jo") .. (ngx.var.is_args or "") .. (ngx.var.query_string or ""),
        body = self:get_client_body_reader(chunksize),
        headers = ngx.req.get_headers(),
    })
end

function _M.proxy_response(_, response, chunksize)
    if not response then
        ngx.log(ngx.ERR, "no response provided")
        return
    end
    ngx.status = response.status
    for k, v in pairs(response.headers) do
        if not HOP_BY_HOP[lower(k)] then ngx.header[k] = v end
    end
    local reader = response.body_reader
    repeat
        local chunk, rerr = reader(chunksize)
        if rerr then
            ngx.log(ngx.ERR, rerr)
            break
        end
        if chunk then
            local ok, perr = ngx.print(chunk)
            if not ok then
                ngx.log(ngx.ERR, perr)
                break
            end
        end
    until not chunk
end

return _M
