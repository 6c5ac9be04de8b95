-- apisix.core.config_etcd (core.config with etcd) for Lua callers, over the C# port
-- (Apisix.Core/Core/ConfigEtcd.cs and Etcd.cs). Reading a directory, formatting it and waiting
-- for its next change run in C#; what stays here is the bookkeeping of the Lua-side object
-- (its values, values_hash, prev_index, conf_version and the caller's filter/checker
-- callbacks), which holds Lua tables the caller reads directly.
local config_local = require("apisix.core.config_local")
local etcd_apisix = require("apisix.core.etcd")
local impl = __bridge("apisix.core.etcd")
local await = __rt.await
local json = require("apisix.core").json
local log = require("apisix.core").log
local setmetatable = setmetatable
local ipairs = ipairs
local type = type
local tonumber = tonumber
local tostring = tostring
local xpcall = xpcall
local insert_tab = table.insert
local sub_str = string.sub
local find = string.find
local ngx_sleep = ngx.sleep
local ngx_timer_at = ngx.timer.at
local ngx_time = ngx.time
local rand = math.random
local exiting = ngx.worker.exiting

local created_obj = {}
-- directories read before the workers start (none: the C# gateway reads the store itself)
local loaded_configuration = {}

local err_etcd_unhealthy_all = "has no healthy etcd endpoint available"
local err_etcd_grpc_engine_timeout = "context deadline exceeded"
local err_etcd_grpc_ngx_timeout = "timeout"

local _M = {
    version = 0.3,
    local_conf = config_local.local_conf,
    clear_local_cache = config_local.clear_cache,
}

local mt = {
    __index = _M,
    __tostring = function(self)
        return " etcd key: " .. self.key
    end
}

local function check_schema(schema, value)
    return require("apisix.core").schema.check(schema, value)
end

local function fire_all_clean_handlers(item)
    local ok, config_util = pcall(require, "apisix.core.config_util")
    if ok and config_util.fire_all_clean_handlers then
        return config_util.fire_all_clean_handlers(item)
    end
    if type(item) ~= "table" or not item.clean_handlers then
        return
    end
    for _, f in ipairs(item.clean_handlers) do
        f(item)
    end
    item.clean_handlers = {}
end

local function readdir(etcd_cli, key, formatter)
    if not etcd_cli then
        return nil, "not inited"
    end
    local res, err = etcd_cli:readdir(key)
    if not res then
        return nil, err
    end
    if type(res.body) ~= "table" then
        return nil, "failed to read etcd dir"
    end
    return etcd_apisix.get_format(res, key .. "/", true, formatter)
end

local function waitdir(self)
    local etcd_cli = self.etcd_cli
    if not etcd_cli then
        return nil, "not inited"
    end
    local timeout = self.timeout
    if not timeout then
        local conf = config_local.local_conf()
        timeout = conf and conf.etcd and conf.etcd.watch_timeout or 60
    end
    return await(impl:ConfigWaitdir(etcd_cli._cli, self.key, self.prev_index, timeout))
end

local function is_bulk_operation(dir_res)
    if not dir_res or not dir_res.body or not dir_res.body.node then
        return false
    end
    return #dir_res.body.node > 1
end

local function short_key(self, str)
    return sub_str(str, #self.key + 2)
end

-- the checks every loaded item goes through: an object, the item schema, the caller's checker
local function valid_item(self, key, value, full_key, need_object)
    if need_object and type(value) ~= "table" then
        log.error("invalid item data of [", self.key .. "/" .. key, "], val: ", value,
                  ", it should be an object")
        return false
    end
    local ok, err
    if self.item_schema then
        ok, err = check_schema(self.item_schema, value)
        if not ok then
            log.error("failed to check item data of [", self.key, "] err:", err,
                      " ,val: ", json.encode(value))
            return false
        end
    end
    if self.checker then
        ok, err = self.checker(value, full_key)
        if not ok then
            log.error("failed to check item data of [", self.key, "] err:", err,
                      " ,val: ", json.delay_encode(value))
            return false
        end
    end
    return true
end

local function load_full_data(self, dir_res, headers)
    local changed = false
    if self.single_item then
        self.values = {}
        self.values_hash = {}
        local item = dir_res
        if item.value ~= nil and valid_item(self, self.key, item.value, nil, false) then
            changed = true
            insert_tab(self.values, item)
            self.values_hash[self.key] = #self.values
            item.clean_handlers = {}
            if self.filter then
                self.filter(item)
            end
        end
        self:upgrade_version(item.modifiedIndex)
    else
        local values = (dir_res and dir_res.nodes) or dir_res or {}
        self.values = {}
        self.values_hash = {}
        for _, item in ipairs(values) do
            local key = short_key(self, item.key)
            if valid_item(self, key, item.value, item.key, true) then
                changed = true
                insert_tab(self.values, item)
                self.values_hash[key] = #self.values
                item.value.id = key
                item.clean_handlers = {}
                if self.filter then
                    self.filter(item)
                end
            end
            self:upgrade_version(item.modifiedIndex)
        end
    end

    if headers then
        self.prev_index = tonumber(headers["X-Etcd-Index"]) or 0
        self:upgrade_version(headers["X-Etcd-Index"])
    end
    if changed then
        self.conf_version = self.conf_version + 1
    end
    self.need_reload = false
end

function _M.upgrade_version(self, new_ver)
    new_ver = tonumber(new_ver)
    if not new_ver or new_ver <= self.prev_index then
        return
    end
    self.prev_index = new_ver
end

local function compact_values(self)
    local kept = {}
    for _, val in ipairs(self.values) do
        if val then
            insert_tab(kept, val)
        end
    end
    self.values = kept
    self.values_hash = {}
    for i, val in ipairs(kept) do
        self.values_hash[short_key(self, val.key)] = i
    end
    self.sync_times = 0
end

local function sync_data(self)
    if not self.key then
        return nil, "missing 'key' arguments"
    end

    if self.need_reload then
        local res, err = readdir(self.etcd_cli, self.key)
        if not res then
            return false, err
        end
        local dir_res, headers = res.body.list or res.body.node or {}, res.headers
        log.debug("readdir key: ", self.key, " res: ", json.delay_encode(dir_res))
        if self.values then
            for _, val in ipairs(self.values) do
                fire_all_clean_handlers(val)
            end
            self.values = nil
            self.values_hash = nil
        end
        load_full_data(self, dir_res, headers)
        return true
    end

    local dir_res, err = waitdir(self)
    log.info("waitdir key: ", self.key, " prev_index: ", self.prev_index + 1)
    if is_bulk_operation(dir_res) then
        log.info("etcd events sent in bulk")
    end
    if not dir_res then
        if err == "compacted" or err == "restarted" then
            self.need_reload = true
            log.error("waitdir [", self.key, "] err: ", err,
                      ", will read the configuration again via readdir")
            return false
        end
        return false, err
    end

    local items = dir_res.body.node
    if dir_res.body.message then
        return false, err
    end
    if not items then
        return false, err
    end

    for _, res in ipairs(items) do
        local key = self.single_item and self.key or short_key(self, res.key)
        local valid = true
        if res.value ~= nil then
            valid = valid_item(self, key, res.value, res.key, not self.single_item)
        end
        -- the revision moves on whether the item is valid or not
        self:upgrade_version(res.modifiedIndex)

        if valid then
            if res.dir then
                if res.value then
                    return false, "todo: support for parsing `dir` response structures. "
                                  .. json.encode(res)
                end
                return false
            end

            local pre_index = self.values_hash[key]
            if pre_index then
                fire_all_clean_handlers(self.values[pre_index])
                if res.value then
                    if not self.single_item then
                        res.value.id = key
                    end
                    self.values[pre_index] = res
                    res.clean_handlers = {}
                    log.info("update data by key: ", key)
                else
                    self.sync_times = self.sync_times + 1
                    self.values[pre_index] = false
                    self.values_hash[key] = nil
                    log.info("delete data by key: ", key)
                end
            elseif res.value then
                res.clean_handlers = {}
                insert_tab(self.values, res)
                self.values_hash[key] = #self.values
                if not self.single_item then
                    res.value.id = key
                end
                log.info("insert data by key: ", key)
            end

            if self.sync_times > 100 then
                compact_values(self)
                log.info("clear stale data in `values_hash` for key: ", key)
            end

            -- a filter (as /plugins') sees self.values already updated
            if self.filter then
                self.filter(res)
            end
            self.conf_version = self.conf_version + 1
        end
    end

    return self.values
end

local function get_etcd()
    return etcd_apisix.get_etcd_syncer()
end

local function _automatic_fetch(premature, self)
    if premature then
        return
    end

    local i = 0
    while not exiting() and self.running and i <= 32 do
        i = i + 1
        local ok, err = xpcall(function()
            if not self.etcd_cli then
                local etcd_cli, err = get_etcd()
                if not etcd_cli then
                    error("failed to create etcd instance for key [" .. self.key .. "]: "
                          .. (err or "unknown"))
                end
                self.etcd_cli = etcd_cli
            end

            local ok, err = sync_data(self)
            if err then
                if find(err, err_etcd_grpc_engine_timeout, 1, true)
                   or find(err, err_etcd_grpc_ngx_timeout, 1, true) then
                    err = "timeout"
                end

                if find(err, err_etcd_unhealthy_all, 1, true) then
                    local reconnected = false
                    while err and not reconnected and i <= 32 do
                        local backoff_duration, backoff_factor, backoff_step = 1, 2, 6
                        for _ = 1, backoff_step do
                            i = i + 1
                            ngx_sleep(backoff_duration)
                            _, err = sync_data(self)
                            if not err or not find(err, err_etcd_unhealthy_all, 1, true) then
                                log.warn("reconnected to etcd")
                                reconnected = true
                                break
                            end
                            backoff_duration = backoff_duration * backoff_factor
                            log.error("no healthy etcd endpoint available, next retry after "
                                      .. backoff_duration .. "s")
                        end
                    end
                elseif err == "worker exited" then
                    log.info("worker exited.")
                    return
                elseif err ~= "timeout" and err ~= "Key not found" and self.last_err ~= err then
                    log.error("failed to fetch data from etcd: ", err, ", ", tostring(self))
                end

                if err ~= self.last_err then
                    self.last_err = err
                    self.last_err_time = ngx_time()
                elseif self.last_err and ngx_time() - self.last_err_time >= 30 then
                    self.last_err = nil
                end

                -- a watch timeout is expected: no resync delay after it
                if err ~= "timeout" then
                    ngx_sleep(self.resync_delay + rand() * 0.5 * self.resync_delay)
                end
            elseif not ok then
                ngx_sleep(0.05)
            end
        end, debug.traceback)

        if not ok then
            log.error("failed to fetch data from etcd: ", err, ", ", tostring(self))
            ngx_sleep(self.resync_delay + rand() * 0.5 * self.resync_delay)
            break
        end
    end

    if not exiting() and self.running then
        ngx_timer_at(0, _automatic_fetch, self)
    end
end

-- for tests, as upstream
_M.test_sync_data = sync_data
_M.test_automatic_fetch = _automatic_fetch
function _M.inject_sync_data(f)
    sync_data = f
end

function _M.new(key, opts)
    local local_conf, err = config_local.local_conf()
    if not local_conf then
        return nil, err
    end

    local etcd_conf = local_conf.etcd or {}
    local prefix = etcd_conf.prefix or ""
    local resync_delay = etcd_conf.resync_delay
    if not resync_delay or resync_delay < 0 then
        resync_delay = 5
    end
    local health_check_timeout = etcd_conf.health_check_timeout
    if not health_check_timeout or health_check_timeout < 0 then
        health_check_timeout = 10
    end
    local automatic = opts and opts.automatic

    local obj = setmetatable({
        etcd_cli = nil,
        key = key and prefix .. key,
        automatic = automatic,
        item_schema = opts and opts.item_schema,
        checker = opts and opts.checker,
        sync_times = 0,
        running = true,
        conf_version = 0,
        values = {},
        need_reload = true,
        prev_index = 0,
        resync_delay = resync_delay,
        health_check_timeout = health_check_timeout,
        timeout = opts and opts.timeout,
        single_item = opts and opts.single_item,
        filter = opts and opts.filter,
    }, mt)

    if automatic then
        if not key then
            return nil, "missing `key` argument"
        end
        if loaded_configuration[key] then
            local res = loaded_configuration[key]
            loaded_configuration[key] = nil
            log.notice("use loaded configuration ", key)
            load_full_data(obj, res.body, res.headers)
        end
        ngx_timer_at(0, _automatic_fetch, obj)
    else
        local etcd_cli, err = get_etcd()
        if not etcd_cli then
            return nil, "failed to start an etcd instance: " .. err
        end
        obj.etcd_cli = etcd_cli
    end

    if key then
        created_obj[key] = obj
    end
    return obj
end

function _M.getkey(self, key)
    if not self.running then
        return nil, "stopped"
    end
    local local_conf = config_local.local_conf()
    if local_conf and local_conf.etcd and local_conf.etcd.prefix then
        key = local_conf.etcd.prefix .. key
    end
    if not self.etcd_cli then
        return nil, "not inited"
    end
    return impl:ConfigGetkey(self.etcd_cli._cli, key)
end

function _M.get(self, key)
    if not self.values_hash then
        return
    end
    local arr_idx = self.values_hash[tostring(key)]
    if not arr_idx then
        return nil
    end
    return self.values[arr_idx]
end

function _M.close(self)
    self.running = false
end

function _M.fetch_created_obj(key)
    return created_obj[key]
end

function _M.server_version(self)
    if not self.running then
        return nil, "stopped"
    end
    local res, err = etcd_apisix.server_version()
    if not res then
        return nil, err
    end
    return res.body
end

function _M.init()
    return true
end

function _M.init_worker()
    return true
end

return _M
