-- apisix.core.lrucache: the versioned object cache. The store is C# (resty.lrucache,
-- Apisix.Core/Core/RestyLrucache.cs); this layer stays Lua because it calls the caller's
-- create_obj_fun, which may yield (ngx.sleep, cosockets), and waits on resty.lock, which yields.
local lru_new = require("resty.lrucache").new
local resty_lock = require("resty.lock")
local log = require("apisix.core.log")
local ngx = ngx
local pairs, pcall, tostring, unpack = pairs, pcall, tostring, table.unpack

local GLOBAL_ITEMS_COUNT = 1024
local GLOBAL_TTL = 60 * 60
local PLUGIN_TTL = 5 * 60
local PLUGIN_ITEMS_COUNT = 8

local can_yield_phases = {
    ssl_session_fetch = true, ssl_session_store = true, rewrite = true, access = true, content = true,
    timer = true,
}

-- entries waiting to be refreshed by the timer (refresh_stale), per cache
local stale_obj_pool = {}

local function fetch_valid_cache(lru_obj, invalid_stale, refresh_stale, item_ttl, key, version,
                                 create_obj_fun, ...)
    local obj, stale_obj = lru_obj:get(key)
    if obj and obj.ver == version then
        return obj
    end
    if stale_obj and stale_obj.ver == version then
        if not invalid_stale then
            lru_obj:set(key, stale_obj, item_ttl)
            return stale_obj
        end
        if refresh_stale then
            stale_obj_pool[lru_obj][key] = { fn = create_obj_fun, args = { ... }, ver = version, ttl = item_ttl }
            return stale_obj
        end
    end
    return nil
end

local function new_lru_fun(opts)
    local item_count, item_ttl
    if opts and opts.type == "plugin" then
        item_count = opts.count or PLUGIN_ITEMS_COUNT
        item_ttl = opts.ttl or PLUGIN_TTL
    else
        item_count = opts and opts.count or GLOBAL_ITEMS_COUNT
        item_ttl = opts and opts.ttl or GLOBAL_TTL
    end
    local invalid_stale = opts and opts.invalid_stale
    local refresh_stale = opts and opts.refresh_stale
    local serial_creating = opts and opts.serial_creating
    local lru_obj = lru_new(item_count)
    local neg_lru_obj
    if opts and opts.neg_ttl and opts.neg_count then
        neg_lru_obj = lru_new(opts.neg_count)
    end
    stale_obj_pool[lru_obj] = {}

    local function create(key, version, create_obj_fun, ...)
        local obj, err = create_obj_fun(...)
        if obj ~= nil then
            lru_obj:set(key, { val = obj, ver = version }, item_ttl)
        elseif neg_lru_obj then
            neg_lru_obj:set(key, { err = err, ver = version }, opts.neg_ttl)
        end
        return obj, err
    end

    return function(key, version, create_obj_fun, ...)
        if neg_lru_obj then
            local neg_obj = neg_lru_obj:get(key)
            if neg_obj and neg_obj.ver == version then
                return nil, neg_obj.err
            end
        end

        local cache_obj = fetch_valid_cache(lru_obj, invalid_stale, refresh_stale, item_ttl, key, version,
                                            create_obj_fun, ...)
        if cache_obj then
            return cache_obj.val
        end
        if not serial_creating or not can_yield_phases[ngx.get_phase()] then
            return create(key, version, create_obj_fun, ...)
        end

        local lock, err = resty_lock:new("lrucache-lock")
        if not lock then
            return nil, "failed to create lock: " .. err
        end
        local key_s = tostring(key)
        log.info("try to lock with key ", key_s)
        local elapsed, lock_err = lock:lock(key_s)
        if not elapsed then
            return nil, "failed to acquire the lock: " .. lock_err
        end
        cache_obj = fetch_valid_cache(lru_obj, invalid_stale, refresh_stale, item_ttl, key, version,
                                      create_obj_fun, ...)
        if cache_obj then
            lock:unlock()
            log.info("unlock with key ", key_s)
            return cache_obj.val
        end
        local obj, create_err = create(key, version, create_obj_fun, ...)
        lock:unlock()
        log.info("unlock with key ", key_s)
        return obj, create_err
    end
end

local function plugin_ctx_key_and_ver(api_ctx, extra_key)
    local key = api_ctx.conf_type .. "#" .. api_ctx.conf_id
    if extra_key then
        key = key .. "#" .. extra_key
    end
    return key, api_ctx.conf_version
end

local function plugin_ctx(lrucache, api_ctx, extra_key, create_obj_func, ...)
    local key, ver = plugin_ctx_key_and_ver(api_ctx, extra_key)
    return lrucache(key, ver, create_obj_func, ...)
end

local function plugin_ctx_id(api_ctx, extra_key)
    local key, ver = plugin_ctx_key_and_ver(api_ctx, extra_key)
    return key .. "#" .. ver
end

local function refresh_stale_objs()
    for lru_obj, keys in pairs(stale_obj_pool) do
        for key, new_obj in pairs(keys) do
            local obj, err = new_obj.fn(unpack(new_obj.args))
            if obj ~= nil then
                lru_obj:set(key, { val = obj, ver = new_obj.ver }, new_obj.ttl)
                keys[key] = nil
                log.info("successfully refresh stale obj for key ", tostring(key), " to ver ", new_obj.ver)
            else
                log.error("failed to refresh stale obj for key ", key, ": ", err)
            end
        end
    end
end

local function init_worker()
    local running = false
    ngx.timer.every(1, function()
        if ngx.worker.exiting() then
            return
        end
        if running then
            log.info("timer_refresh_stale is already running, skipping this iteration")
            return
        end
        running = true
        local ok, err = pcall(refresh_stale_objs)
        if not ok then
            log.error("failed to run timer_refresh_stale: ", err)
        end
        running = false
    end)
end

return {
    version = 0.1,
    init_worker = init_worker,
    new = new_lru_fun,
    global = new_lru_fun(),
    plugin_ctx = plugin_ctx,
    plugin_ctx_id = plugin_ctx_id,
}
