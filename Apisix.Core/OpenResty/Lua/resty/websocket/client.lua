-- lua-resty-websocket's resty.websocket.client, written for this port: the opening handshake
-- over a cosocket, then masked frames (resty.websocket.protocol).
local common = require("resty.websocket.common")
local encode_base64 = ngx.encode_base64
local char, random, concat = string.char, math.random, table.concat

local _M = { _VERSION = "0.10" }
local mt = { __index = _M }
common.install(_M, true)

function _M.new(self, opts)
    local sock, err = ngx.socket.tcp()
    if not sock then return nil, err end
    opts = opts or {}
    if opts.timeout then sock:settimeout(opts.timeout) end
    return setmetatable({
        sock = sock,
        max_payload_len = opts.max_payload_len or 65535,
        send_masked = not opts.send_unmasked,
    }, mt)
end

function _M.connect(self, uri, opts)
    local sock = self.sock
    if not sock then return nil, "not initialized" end
    local scheme, host, port, path = uri:match("^(wss?)://([^:/]+):?(%d*)(.*)$")
    if not scheme then
        return nil, "bad websocket uri: " .. uri
    end
    local ssl = scheme == "wss"
    port = tonumber(port) or (ssl and 443 or 80)
    if path == "" then path = "/" end
    opts = opts or {}

    local ok, err = sock:connect(host, port, opts.pool and { pool = opts.pool } or nil)
    if not ok then
        return nil, "failed to connect: " .. err
    end
    if ssl then
        ok, err = sock:sslhandshake(false, opts.server_name or host, opts.ssl_verify)
        if not ok then
            return nil, "ssl handshake failed: " .. err
        end
    end

    local bytes = {}
    for i = 1, 16 do bytes[i] = char(random(0, 255)) end
    local key = encode_base64(concat(bytes))
    local lines = {
        "GET " .. path .. " HTTP/1.1",
        "Upgrade: websocket",
        "Host: " .. (opts.host or (host .. ":" .. port)),
        "Sec-WebSocket-Key: " .. key,
    }
    local protocols = opts.protocols
    if type(protocols) == "table" then protocols = concat(protocols, ",") end
    if protocols then lines[#lines + 1] = "Sec-WebSocket-Protocol: " .. protocols end
    if opts.origin then lines[#lines + 1] = "Origin: " .. opts.origin end
    lines[#lines + 1] = "Sec-WebSocket-Version: 13"
    lines[#lines + 1] = "Connection: Upgrade"
    for _, h in ipairs(opts.headers or {}) do lines[#lines + 1] = h end
    local req = concat(lines, "\r\n") .. "\r\n\r\n"

    bytes, err = sock:send(req)
    if not bytes then
        return nil, "failed to send the handshake request: " .. err
    end
    local reader = sock:receiveuntil("\r\n\r\n")
    local header, rerr = reader()
    if not header then
        return nil, "failed to receive response header: " .. rerr
    end
    if not header:find("^HTTP/1%.1 101 ") then
        return nil, "bad HTTP response status line: " .. (header:match("^[^\r\n]*") or header)
    end
    return 1
end

function _M.close(self)
    if self.fatal then return nil, "fatal error already happened" end
    local sock = self.sock
    if not sock then return nil, "not initialized" end
    if not self.closed then
        self:send_close()
    end
    return sock:close()
end

function _M.set_keepalive(self, ...)
    local sock = self.sock
    if not sock then return nil, "not initialized" end
    return sock:setkeepalive(...)
end

return _M
