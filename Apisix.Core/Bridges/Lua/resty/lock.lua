-- lua-resty-lock over a shared dict: a lock is a key added to the dict; waiting sleeps (yields to
-- the worker loop) with a growing step until the key can be added or the timeout passes.
local ngx = ngx
local shared = ngx.shared
local setmetatable, min = setmetatable, math.min

local _M = {}
local mt = { __index = _M }

function _M.new(_, dict_name, opts)
    local dict = shared[dict_name]
    if not dict then
        return nil, "dictionary not found"
    end
    opts = opts or {}
    return setmetatable({
        dict = dict,
        exptime = opts.exptime or 30,
        timeout = opts.timeout or 5,
        step = opts.step or 0.001,
        ratio = opts.ratio or 2,
        max_step = opts.max_step or 0.5,
    }, mt)
end

function _M.lock(self, key)
    if not key then
        return nil, "nil key"
    end
    if self.key then
        return nil, "locked"
    end
    local ok, err = self.dict:add(key, true, self.exptime)
    if ok then
        self.key = key
        return 0
    end
    if err ~= "exists" then
        return nil, err
    end
    local elapsed, step, timeout = 0, self.step, self.timeout
    while timeout > 0 do
        step = min(step, timeout)
        ngx.sleep(step)
        elapsed = elapsed + step
        timeout = timeout - step
        ok, err = self.dict:add(key, true, self.exptime)
        if ok then
            self.key = key
            return elapsed
        end
        if err ~= "exists" then
            return nil, err
        end
        step = min(step * self.ratio, self.max_step)
    end
    return nil, "timeout"
end

function _M.unlock(self)
    if not self.key then
        return nil, "unlocked"
    end
    local ok, err = self.dict:delete(self.key)
    self.key = nil
    if not ok then
        return nil, err
    end
    return 1
end

function _M.expire(self, time)
    if not self.key then
        return nil, "unlocked"
    end
    return self.dict:replace(self.key, true, time or self.exptime)
end

return _M
