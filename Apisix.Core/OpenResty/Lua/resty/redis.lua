-- resty.redis for the emulated OpenResty: a Redis client speaking RESP over ngx.socket.tcp, with
-- lua-resty-redis's calling convention. Every Redis command is a method (red:get(k),
-- red:config("set", ...)); a reply comes back as Lua values: a status or bulk string, an integer,
-- ngx.null for a nil bulk, a table for an array, and false plus the message for an error reply.
-- Pipelines (init_pipeline / commit_pipeline / cancel_pipeline) queue commands and return every
-- reply in order.
local tcp = ngx.socket.tcp
local null = ngx.null
local concat = table.concat
local sub, byte = string.sub, string.byte
local tonumber, tostring, type, select, setmetatable, rawget = tonumber, tostring, type, select, setmetatable, rawget

local _M = { _VERSION = "0.31" }
local mt = { __index = _M }

function _M.new()
    local sock, err = tcp()
    if not sock then
        return nil, err
    end
    return setmetatable({ _sock = sock }, mt)
end

function _M.set_timeout(self, ms)
    return self._sock:settimeout(ms)
end

function _M.set_timeouts(self, connect, send, read)
    return self._sock:settimeouts(connect, send, read)
end

function _M.connect(self, host, port, opts)
    if type(port) == "table" then
        opts, port = port, nil
    end
    return self._sock:connect(host, port or 6379, opts)
end

function _M.set_keepalive(self, ...)
    return self._sock:setkeepalive(...)
end

function _M.get_reused_times(self)
    return self._sock:getreusedtimes()
end

function _M.close(self)
    return self._sock:close()
end

-- a command as a RESP array of bulk strings
local function encode(args)
    local out = { "*", #args, "\r\n" }
    for i = 1, #args do
        local a = args[i]
        if type(a) ~= "string" then
            a = tostring(a)
        end
        out[#out + 1] = "$" .. #a .. "\r\n"
        out[#out + 1] = a
        out[#out + 1] = "\r\n"
    end
    return concat(out)
end

local function read_reply(sock)
    local line, err = sock:receive()
    if not line then
        return nil, err
    end
    local kind = byte(line)
    local rest = sub(line, 2)
    if kind == 43 then -- "+"
        return rest
    elseif kind == 45 then -- "-"
        return false, rest
    elseif kind == 58 then -- ":"
        return tonumber(rest)
    elseif kind == 36 then -- "$"
        local size = tonumber(rest)
        if size < 0 then
            return null
        end
        local data, rerr = sock:receive(size + 2)
        if not data then
            return nil, rerr
        end
        return sub(data, 1, size)
    elseif kind == 42 then -- "*"
        local n = tonumber(rest)
        if n < 0 then
            return null
        end
        local vals = {}
        for i = 1, n do
            local v, verr = read_reply(sock)
            if v == nil then
                return nil, verr
            end
            -- an error inside an array stays in it as {false, message}
            if v == false then
                v = { false, verr }
            end
            vals[i] = v
        end
        return vals
    end
    return nil, "bad reply"
end

local function do_cmd(self, ...)
    local args = { ... }
    local reqs = rawget(self, "_reqs")
    if reqs then
        reqs[#reqs + 1] = encode(args)
        return true
    end
    local sock = self._sock
    local ok, err = sock:send(encode(args))
    if not ok then
        return nil, err
    end
    return read_reply(sock)
end

function _M.init_pipeline(self)
    self._reqs = {}
end

function _M.cancel_pipeline(self)
    self._reqs = nil
end

function _M.commit_pipeline(self)
    local reqs = rawget(self, "_reqs")
    if not reqs then
        return nil, "no pipeline"
    end
    self._reqs = nil
    local sock = self._sock
    local ok, err = sock:send(concat(reqs))
    if not ok then
        return nil, err
    end
    local vals = {}
    for i = 1, #reqs do
        local v, rerr = read_reply(sock)
        if v == nil then
            return nil, rerr
        end
        if v == false then
            v = { false, rerr }
        end
        vals[i] = v
    end
    return vals
end

-- hmset also takes a table of field/value pairs
function _M.hmset(self, key, ...)
    if select("#", ...) == 1 and type((...)) == "table" then
        local args = {}
        for k, v in pairs((...)) do
            args[#args + 1] = k
            args[#args + 1] = v
        end
        return do_cmd(self, "hmset", key, unpack(args))
    end
    return do_cmd(self, "hmset", key, ...)
end

function _M.array_to_hash(_, t)
    local h = {}
    for i = 1, #t, 2 do
        h[t[i]] = t[i + 1]
    end
    return h
end

-- any other method name is the Redis command of that name
setmetatable(_M, { __index = function(t, cmd)
    local f = function(self, ...)
        return do_cmd(self, cmd, ...)
    end
    rawset(t, cmd, f)
    return f
end })

function _M.add_commands() end

return _M
