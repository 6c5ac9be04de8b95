-- lua-resty-websocket's resty.websocket.protocol, written for this port: RFC 6455 frames over
-- a cosocket (Lua 5.4 integer operators in place of LuaJIT's bit module).
local char, byte, sub, concat = string.char, string.byte, string.sub, table.concat
local random = math.random

local _M = { _VERSION = "0.10" }

local types = {
    [0x0] = "continuation",
    [0x1] = "text",
    [0x2] = "binary",
    [0x8] = "close",
    [0x9] = "ping",
    [0xa] = "pong",
}
local opcodes = {}
for code, name in pairs(types) do opcodes[name] = code end
_M.opcodes = opcodes

local function xor_mask(data, key)
    local k1, k2, k3, k4 = byte(key, 1, 4)
    local keys = { k1, k2, k3, k4 }
    local out = {}
    for i = 1, #data do
        out[i] = char(byte(data, i) ~ keys[(i - 1) % 4 + 1])
    end
    return concat(out)
end

-- data, type, err; for a close frame: reason, "close", status code
function _M.recv_frame(sock, max_payload_len, force_masking)
    local head, err = sock:receive(2)
    if not head then
        return nil, nil, "failed to receive the first 2 bytes: " .. err
    end
    local b1, b2 = byte(head, 1, 2)
    local fin = b1 & 0x80 ~= 0
    if b1 & 0x70 ~= 0 then
        return nil, nil, "bad RSV1, RSV2, or RSV3 bits"
    end
    local opcode = b1 & 0x0f
    if opcode >= 0x3 and opcode <= 0x7 then
        return nil, nil, "reserved non-control frames"
    end
    if opcode >= 0xb and opcode <= 0xf then
        return nil, nil, "reserved control frames"
    end
    local masked = b2 & 0x80 ~= 0
    if force_masking and not masked then
        return nil, nil, "frame unmasked"
    end
    local len = b2 & 0x7f
    if len == 126 then
        local ext, e = sock:receive(2)
        if not ext then
            return nil, nil, "failed to receive the 2 byte payload length: " .. (e or "unknown")
        end
        local h, l = byte(ext, 1, 2)
        len = (h << 8) | l
    elseif len == 127 then
        local ext, e = sock:receive(8)
        if not ext then
            return nil, nil, "failed to receive the 8 byte payload length: " .. (e or "unknown")
        end
        len = 0
        for i = 1, 8 do len = (len << 8) | byte(ext, i) end
    end
    if opcode & 0x8 ~= 0 then
        if len > 125 then
            return nil, nil, "too long payload for control frame"
        end
        if not fin then
            return nil, nil, "fragmented control frame"
        end
    end
    if max_payload_len and len > max_payload_len then
        return nil, nil, "exceeding max payload len"
    end
    local key
    if masked then
        key, err = sock:receive(4)
        if not key then
            return nil, nil, "failed to receive the 4 byte masking key: " .. err
        end
    end
    local payload = ""
    if len > 0 then
        payload, err = sock:receive(len)
        if not payload then
            return nil, nil, "failed to read payload: " .. err
        end
        if masked then payload = xor_mask(payload, key) end
    end
    local typ = types[opcode]
    if opcode == 0x8 then
        if len == 0 then
            return "", typ, nil
        end
        if len == 1 then
            return nil, nil, "payload len too small for close frame"
        end
        local h, l = byte(payload, 1, 2)
        return sub(payload, 3), typ, (h << 8) | l
    end
    return payload, typ, not fin and "again" or nil
end

local function build_frame(fin, opcode, len, payload, masking)
    local b1 = opcode
    if fin then b1 = b1 | 0x80 end
    local mask_bit = masking and 0x80 or 0
    local head
    if len <= 125 then
        head = char(b1, len | mask_bit)
    elseif len <= 65535 then
        head = char(b1, 126 | mask_bit, (len >> 8) & 0xff, len & 0xff)
    else
        local bytes = {}
        for i = 8, 1, -1 do bytes[i] = char(len & 0xff) len = len >> 8 end
        head = char(b1, 127 | mask_bit) .. concat(bytes)
    end
    if not masking then
        return head .. payload
    end
    local key = char(random(0, 255), random(0, 255), random(0, 255), random(0, 255))
    return head .. key .. xor_mask(payload, key)
end
_M.build_frame = build_frame

function _M.send_frame(sock, fin, opcode, payload, max_payload_len, masking)
    payload = payload ~= nil and tostring(payload) or ""
    local len = #payload
    if max_payload_len and len > max_payload_len then
        return nil, "payload too big"
    end
    if opcode & 0x8 ~= 0 then
        if len > 125 then
            return nil, "too much payload for control frame"
        end
        if not fin then
            return nil, "fragmented control frame"
        end
    end
    local frame = build_frame(fin, opcode, len, payload, masking)
    local bytes, err = sock:send(frame)
    if not bytes then
        return nil, "failed to send frame: " .. err
    end
    return bytes
end

return _M
