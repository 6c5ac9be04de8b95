-- The methods resty.websocket.server and resty.websocket.client objects share (our own glue
-- over resty.websocket.protocol).
local proto = require("resty.websocket.protocol")
local char = string.char

local _M = {}

function _M.install(mt, masked_by_default)
    local function masking(self)
        if self.send_masked == nil then return masked_by_default end
        return self.send_masked
    end

    function mt.set_timeout(self, ms)
        local sock = self.sock
        if not sock then return nil, "not initialized yet" end
        return sock:settimeout(ms)
    end

    function mt.recv_frame(self)
        if self.fatal then return nil, nil, "fatal error already happened" end
        local sock = self.sock
        if not sock then return nil, nil, "not initialized yet" end
        local data, typ, err = proto.recv_frame(sock, self.max_payload_len, self.force_masking)
        if not data and err and not err:find(": timeout", 1, true) then
            self.fatal = true
        end
        return data, typ, err
    end

    local function send(self, fin, opcode, payload)
        if self.fatal then return nil, "fatal error already happened" end
        if self.closed then return nil, "already closed" end
        local sock = self.sock
        if not sock then return nil, "not initialized yet" end
        local bytes, err = proto.send_frame(sock, fin, opcode, payload, self.max_payload_len, masking(self))
        if not bytes then self.fatal = true end
        return bytes, err
    end
    mt.send_frame = function(self, fin, opcode, payload) return send(self, fin, opcode, payload) end
    function mt.send_text(self, data) return send(self, true, 0x1, data) end
    function mt.send_binary(self, data) return send(self, true, 0x2, data) end
    function mt.send_ping(self, data) return send(self, true, 0x9, data) end
    function mt.send_pong(self, data) return send(self, true, 0xa, data) end
    function mt.send_close(self, code, msg)
        local payload = ""
        if code then
            if type(code) ~= "number" or code > 0x7fff then
                return nil, "bad status code"
            end
            payload = char((code >> 8) & 0xff, code & 0xff) .. (msg or "")
        end
        local bytes, err = send(self, true, 0x8, payload)
        if not bytes then self.fatal = true end
        self.closed = true
        return bytes, err
    end
end

return _M
