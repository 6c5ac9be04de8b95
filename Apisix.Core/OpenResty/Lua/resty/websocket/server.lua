-- lua-resty-websocket's resty.websocket.server, written for this port: the handshake answered
-- with a 101, then frames over the raw request socket (ngx.req.socket(true)).
local common = require("resty.websocket.common")
local sha1_bin = ngx.sha1_bin
local encode_base64 = ngx.encode_base64
local lower, find, concat = string.lower, string.find, table.concat

local _M = { _VERSION = "0.10" }
local mt = { __index = _M }
common.install(_M, false)

local function first(v)
    if type(v) == "table" then return v[1] end
    return v
end

function _M.new(self, opts)
    if ngx.headers_sent then
        return nil, "response header already sent"
    end
    ngx.req.read_body()
    local headers = ngx.req.get_headers()

    local upgrade = first(headers.upgrade)
    if not upgrade or lower(upgrade) ~= "websocket" then
        return nil, "bad \"upgrade\" request header: " .. tostring(upgrade)
    end
    local connection = headers.connection
    if type(connection) == "table" then connection = concat(connection, ",") end
    if not connection or not find(lower(connection), "upgrade", 1, true) then
        return nil, "bad \"connection\" request header"
    end
    local key = first(headers["sec-websocket-key"])
    if not key then
        return nil, "bad \"sec-websocket-key\" request header"
    end
    local version = first(headers["sec-websocket-version"])
    if version ~= "13" then
        return nil, "bad \"sec-websock-version\" request header"
    end
    local protocols = first(headers["sec-websocket-protocol"])
    if protocols then
        ngx.header["Sec-WebSocket-Protocol"] = protocols
    end
    ngx.header["Upgrade"] = "websocket"
    ngx.header["Sec-WebSocket-Accept"] = encode_base64(sha1_bin(key .. "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
    ngx.header["Content-Type"] = nil

    ngx.status = 101
    local ok, err = ngx.send_headers()
    if not ok then
        return nil, "failed to send response header: " .. (err or "unknown")
    end
    ok, err = ngx.flush(true)
    if not ok then
        return nil, "failed to flush response header: " .. (err or "unknown")
    end

    local sock
    sock, err = ngx.req.socket(true)
    if not sock then
        return nil, err
    end
    opts = opts or {}
    if opts.timeout then sock:settimeout(opts.timeout) end
    return setmetatable({
        sock = sock,
        max_payload_len = opts.max_payload_len or 65535,
        send_masked = opts.send_masked,
    }, mt)
end

return _M
