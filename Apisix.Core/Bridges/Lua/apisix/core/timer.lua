-- apisix.core.timer: a named job run again and again for each_ttl seconds, checked every
-- check_interval. Lua (see Apisix.Core/Core/Timer.cs): the job and the sleeps yield.
local log = require("apisix.core.log")
local sleep = require("apisix.core.utils").sleep
local ngx = ngx
local pcall = pcall

local _M = { version = 0.1 }

local function _internal(timer)
    timer.start_time = ngx.now()
    repeat
        local ok, err = pcall(timer.callback_fun)
        if not ok then
            log.error("failed to run the timer: ", timer.name, " err: ", err)
            if timer.sleep_fail > 0 then
                sleep(timer.sleep_fail)
            end
        elseif timer.sleep_succ > 0 then
            sleep(timer.sleep_succ)
        end
        ngx.update_time()
    until timer.each_ttl <= 0 or ngx.now() >= timer.start_time + timer.each_ttl
end

local function run_timer(premature, self)
    if self.running or premature then
        return
    end
    self.running = true
    local ok, err = pcall(_internal, self)
    if not ok then
        log.error("failed to run timer[", self.name, "] err: ", err)
    end
    self.running = false
end

function _M.new(name, callback_fun, opts)
    if not name then
        return nil, "missing argument: name"
    end
    if not callback_fun then
        return nil, "missing argument: callback_fun"
    end
    opts = opts or {}
    local timer = {
        name = name,
        each_ttl = opts.each_ttl or 1,
        sleep_succ = opts.sleep_succ or 1,
        sleep_fail = opts.sleep_fail or 5,
        start_time = 0,
        callback_fun = callback_fun,
        running = false,
    }
    local hdl, err = ngx.timer.every(opts.check_interval or 1, run_timer, timer)
    if not hdl then
        return nil, err
    end
    hdl, err = ngx.timer.at(0, run_timer, timer)
    if not hdl then
        return nil, err
    end
    return timer
end

return _M
