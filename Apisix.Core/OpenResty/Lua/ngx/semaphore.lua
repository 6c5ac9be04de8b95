-- lua-resty-core's ngx.semaphore, on the emulated scheduler: a waiting coroutine waits on a C# op
-- that post() wakes (from a handler run on a later turn of the loop, as nginx posts an event) or
-- that times out.
local cs, rt = __cs, __rt
local type, tonumber, setmetatable, format, remove = type, tonumber, setmetatable, string.format, table.remove

local _M = { version = "0.1.28" }
local mt = { __index = _M }

-- the semaphore's memory goes with its Lua object
mt.__gc = function(self)
    if rawget(_G, "__closing") then return end -- the Lua state is going: C# is no longer reachable
    cs:Log(8, "in lua gc, semaphore " .. self.addr)
end

local function check(self)
    if type(self) ~= "table" or getmetatable(self) ~= mt then
        error("not a semaphore instance", 3)
    end
end

function _M.new(n)
    n = tonumber(n) or 0
    if n < 0 then return nil, "no negative number" end
    local sem = setmetatable({ resources = n, wait_count = 0, queue = {} }, mt)
    sem.addr = format("%p", sem):gsub("^0x", "")
    return sem
end

-- wake waiters while resources last (ngx_http_lua_sema_handler)
local function handler(self)
    self.posted = false
    while self.resources > 0 and #self.queue > 0 do
        local w = remove(self.queue, 1)
        w.removed = true
        self.wait_count = self.wait_count - 1
        self.resources = self.resources - 1
        if not cs:WakeOp(w.op) then self.resources = self.resources + 1 end
    end
end

local wait_contexts = { rewrite = true, server_rewrite = true, access = true, content = true, timer = true, ssl_cert = true }

function _M.wait(self, seconds)
    check(self)
    seconds = tonumber(seconds)
    if not seconds then error("bad argument #2 to 'wait' (number expected)", 2) end
    if seconds < 0 then error("time out value is negative", 2) end
    if self.resources > 0 and #self.queue == 0 then
        self.resources = self.resources - 1
        return true
    end
    if seconds == 0 then return false, "timeout" end
    rt.check_context(wait_contexts, 2)
    local w = { op = cs:WaitOp(seconds) }
    self.queue[#self.queue + 1] = w
    self.wait_count = self.wait_count + 1
    local ok, err = rt.await(w.op)
    if ok then return true end
    if not w.removed then
        for i, x in ipairs(self.queue) do
            if x == w then remove(self.queue, i) break end
        end
        self.wait_count = self.wait_count - 1
    end
    return false, err or "timeout"
end

function _M.post(self, n)
    check(self)
    n = tonumber(n) or 1
    if n < 1 then return nil, "n should be larger than 0" end
    self.resources = self.resources + n
    if #self.queue > 0 and not self.posted then
        self.posted = true
        cs:Defer(function() handler(self) end)
    end
    return true
end

function _M.count(self)
    check(self)
    return self.resources - self.wait_count
end

return _M
