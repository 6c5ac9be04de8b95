-- apisix.utils.batch-processor-manager for the C# port: the loggers (kafka-logger) call it from
-- their log phase through this module's table, so Lua that replaces add_entry or
-- add_entry_to_new_processor sees each entry. It carries its own small batch processor with
-- batch-processor.lua's behaviour: entries gather in a buffer, go out when batch_max_size is
-- reached or the buffer timer fires (inactive_timeout / buffer_duration), and a failed batch is
-- retried max_retry_count times, retry_delay seconds apart, before being dropped.
local core = require("apisix.core")
local timer_at = ngx.timer.at
local now = ngx.now
local setmetatable, pairs, ipairs, type, tostring = setmetatable, pairs, ipairs, type, tostring

-- the batch processor ---------------------------------------------------------------------

local processor = {}
local processor_mt = { __index = processor }

local defaults = {
    name = "log buffer", max_retry_count = 0, retry_delay = 1,
    buffer_duration = 60, inactive_timeout = 5, batch_max_size = 1000,
}
local minimums = {
    max_retry_count = 0, retry_delay = 0, buffer_duration = 1, inactive_timeout = 1, batch_max_size = 1,
}

local run_batch

-- the apisix_batch_process_entries gauge (prometheus exporter), once prometheus is initialized
local function set_metrics(self, count)
    if self.name and self.route_id and self.server_addr then
        local prom = __bridge("apisix.bridge.prometheus")
        if prom then
            prom:SetBatchEntries(tostring(self.name), tostring(self.route_id), tostring(self.server_addr), count)
        end
    end
end

local function schedule(self, delay, batch)
    local ok, err = timer_at(delay, run_batch, self, batch)
    if not ok then
        core.log.error("failed to create process timer: ", err)
    end
end

function run_batch(premature, self, batch)
    local ok, err, first_fail = self.func(batch.entries, self.batch_max_size)
    if ok then
        self.processed_entries = self.processed_entries + #batch.entries
        core.log.debug("Batch Processor[", self.name, "] successfully processed the entries")
        return
    end
    if first_fail then
        core.log.error("Batch Processor[", self.name, "] failed to process entries [",
                       #batch.entries + 1 - first_fail, "/", #batch.entries, "]: ", err)
        local rest = {}
        for i = first_fail, #batch.entries do rest[#rest + 1] = batch.entries[i] end
        batch.entries = rest
        self.processed_entries = self.processed_entries + first_fail - 1
    else
        core.log.error("Batch Processor[", self.name, "] failed to process entries: ", err)
    end
    batch.retry_count = batch.retry_count + 1
    if batch.retry_count <= self.max_retry_count and #batch.entries > 0 then
        schedule(self, self.retry_delay, batch)
        return
    end
    self.processed_entries = self.processed_entries + #batch.entries
    core.log.error("Batch Processor[", self.name, "] exceeded the max_retry_count[",
                   batch.retry_count, "] dropping the entries")
end

local start_buffer_timer

local function on_buffer_timer(premature, self)
    local t = now()
    if premature or t - self.last_entry_t >= self.inactive_timeout
       or t - self.first_entry_t >= self.buffer_duration then
        self:process_buffer()
        self.is_timer_running = false
        return
    end
    start_buffer_timer(self)
end

function start_buffer_timer(self)
    local ok, err = timer_at(self.inactive_timeout, on_buffer_timer, self)
    if not ok then
        core.log.error("failed to create buffer timer: ", err)
        return
    end
    self.is_timer_running = true
end

local function new_processor(func, config)
    if type(func) ~= "function" then
        return nil, "Invalid argument, arg #1 must be a function"
    end
    local self = {
        func = func,
        route_id = config.route_id,
        server_addr = config.server_addr,
        batch_to_process = {},
        entry_buffer = { entries = {}, retry_count = 0 },
        is_timer_running = false,
        first_entry_t = 0,
        last_entry_t = 0,
        processed_entries = 0,
    }
    for k, default in pairs(defaults) do
        local v = config[k]
        if v == nil then v = default end
        if minimums[k] then
            if type(v) ~= "number" or v % 1 ~= 0 then
                return nil, "property \"" .. k .. "\" validation failed: wrong type: expected integer, got "
                            .. type(v)
            end
            if v < minimums[k] then
                return nil, "property \"" .. k .. "\" validation failed: expected " .. tostring(v)
                            .. " to be at least " .. minimums[k]
            end
        elseif type(v) ~= "string" then
            return nil, "property \"" .. k .. "\" validation failed: wrong type: expected string, got "
                        .. type(v)
        end
        self[k] = v
    end
    return setmetatable(self, processor_mt)
end

function processor:push(entry)
    if self.batch_max_size == 1 then
        schedule(self, 0, { entries = { entry }, retry_count = 0 })
        return
    end
    local entries = self.entry_buffer.entries
    entries[#entries + 1] = entry
    set_metrics(self, #entries)
    if #entries == 1 then
        self.first_entry_t = now()
    end
    self.last_entry_t = now()
    if #entries >= self.batch_max_size then
        core.log.debug("Batch Processor[", self.name, "] batch max size has exceeded")
        self:process_buffer()
    end
    if not self.is_timer_running then
        start_buffer_timer(self)
    end
end

function processor:process_buffer()
    if #self.entry_buffer.entries > 0 then
        core.log.debug("transferring buffer entries to processing pipe line, ",
                       "buffercount[", #self.entry_buffer.entries, "]")
        self.batch_to_process[#self.batch_to_process + 1] = self.entry_buffer
        self.entry_buffer = { entries = {}, retry_count = 0 }
        set_metrics(self, 0)
    end
    for _, batch in ipairs(self.batch_to_process) do
        schedule(self, 0, batch)
    end
    self.batch_to_process = {}
end

-- the manager ------------------------------------------------------------------------------

local _M = { new_processor = new_processor }
local mt = { __index = _M }

function _M.new(name)
    return setmetatable({
        stale_timer_running = false,
        buffers = {},
        total_pushed_entries = 0,
        total_stale_processed_entries = 0,
        name = name,
    }, mt)
end

-- which processor a conf feeds: the C# side stamps the conf's version as _bp_key; a conf
-- without one (Lua calling the manager itself) is its own key
local function buffer_key(conf)
    return rawget(conf, "_bp_key") or conf
end

local stale_interval = 1800

function _M.set_check_stale_interval(seconds)
    stale_interval = seconds
end

local function drop_idle_processors(premature, self)
    if premature then
        return
    end
    for key, p in pairs(self.buffers) do
        if #p.entry_buffer.entries == 0 and #p.batch_to_process == 0 then
            core.log.info("removing batch processor stale object, conf: ", tostring(key))
            self.total_stale_processed_entries =
                self.total_stale_processed_entries + p.processed_entries
            self.buffers[key] = nil
        end
    end
    self.stale_timer_running = false
end

local function check_stale(self)
    if not self.stale_timer_running then
        timer_at(stale_interval, drop_idle_processors, self)
        self.stale_timer_running = true
    end
end

local function over_limit(self, max_pending_entries)
    if not max_pending_entries then
        return false
    end
    local processed = self.total_stale_processed_entries
    for _, p in pairs(self.buffers) do
        processed = processed + p.processed_entries
    end
    if self.total_pushed_entries - processed > max_pending_entries then
        core.log.error("max pending entries limit exceeded. discarding entry.",
                       " total_pushed_entries: ", self.total_pushed_entries,
                       " total_processed_entries: ", processed,
                       " max_pending_entries: ", max_pending_entries)
        return true
    end
    return false
end

-- true when a processor for this conf exists and took the entry; false when the caller must
-- create one; nil when the entry was discarded
function _M:add_entry(conf, entry, max_pending_entries)
    if over_limit(self, max_pending_entries) then
        return nil
    end
    check_stale(self)
    local p = self.buffers[buffer_key(conf)]
    if not p then
        return false
    end
    p:push(entry)
    self.total_pushed_entries = self.total_pushed_entries + 1
    return true
end

function _M:add_entry_to_new_processor(conf, entry, ctx, func, max_pending_entries)
    if over_limit(self, max_pending_entries) then
        return nil
    end
    check_stale(self)
    local var = ctx and ctx.var or {}
    local p, err = new_processor(func, {
        name = conf.name,
        batch_max_size = conf.batch_max_size,
        max_retry_count = conf.max_retry_count,
        retry_delay = conf.retry_delay,
        buffer_duration = conf.buffer_duration,
        inactive_timeout = conf.inactive_timeout,
        route_id = var.route_id,
        server_addr = var.server_addr,
    })
    if not p then
        core.log.error("error when creating the batch processor: ", err)
        return false
    end
    p:push(entry)
    self.buffers[buffer_key(conf)] = p
    self.total_pushed_entries = self.total_pushed_entries + 1
    return true
end

return _M
