# Our own t::APISIX file: the data plane's config sync (Apisix.Core/Core/ConfigEtcdAutomatic.cs,
# Http/WorkerConfigs.cs). Items written straight into the store go through the checks each
# resource runs on sync; refused items are logged and the gateway leaves them out.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
log_level('info');
run_tests();

__DATA__

=== TEST 1: a route stored as a plain string is refused by the sync and never matches
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            assert(core.etcd.set("/routes/plain-text", "just words"))
            ngx.sleep(0.3)
            local http = require("resty.http")
            local res = assert(http.new():request_uri("http://127.0.0.1:" .. ngx.var.server_port .. "/just-words"))
            ngx.say(res.status)
            assert(core.etcd.delete("/routes/plain-text"))
        }
    }
--- request
GET /t
--- response_body
404
--- grep_error_log eval
qr/invalid item data of \[[^\]]+\], val: [^,]+, it should be an object/
--- grep_error_log_out
invalid item data of [/apisix/routes/plain-text], val: just words, it should be an object
invalid item data of [/apisix/routes/plain-text], val: just words, it should be an object



=== TEST 2: a global rule whose plugin conf fails its schema is logged and not run
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            assert(core.etcd.set("/routes/sync-ok", {
                uri = "/sync-ok",
                plugins = {["serverless-pre-function"] = {phase = "rewrite",
                    functions = {"return function() ngx.say('served') ngx.exit(200) end"}}},
            }))
            -- were the rule run, its serverless function would answer first
            assert(core.etcd.set("/global_rules/broken", {id = "broken", plugins = {
                ["proxy-rewrite"] = {uri = 1},
                ["serverless-pre-function"] = {phase = "rewrite",
                    functions = {"return function() ngx.say('global rule ran') ngx.exit(200) end"}},
            }}))
            ngx.sleep(0.3)
            local http = require("resty.http")
            local res = assert(http.new():request_uri("http://127.0.0.1:" .. ngx.var.server_port .. "/sync-ok"))
            ngx.print(res.status, " ", res.body)
            assert(core.etcd.delete("/global_rules/broken"))
            assert(core.etcd.delete("/routes/sync-ok"))
        }
    }
--- request
GET /t
--- response_body
200 served
--- error_log
failed to check item data of [/apisix/global_rules] err:failed to check the configuration of plugin proxy-rewrite err: property "uri" validation failed



=== TEST 3: every change under a directory is an insert, an update or a delete, in each process
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            assert(core.etcd.set("/upstreams/u-seven", {type = "roundrobin", nodes = {["127.0.0.1:1999"] = 1}}))
            ngx.sleep(0.2)
            assert(core.etcd.set("/upstreams/u-seven", {type = "roundrobin", nodes = {["127.0.0.1:1998"] = 1}}))
            ngx.sleep(0.2)
            assert(core.etcd.delete("/upstreams/u-seven"))
            ngx.sleep(0.2)
            ngx.say("done")
        }
    }
--- request
GET /t
--- response_body
done
--- grep_error_log eval
qr/\w+ data by key: u-seven/
--- grep_error_log_out
insert data by key: u-seven
insert data by key: u-seven
update data by key: u-seven
update data by key: u-seven
delete data by key: u-seven
delete data by key: u-seven



=== TEST 4: a worker starts from the master's read, and its main watcher once
--- config
    location /t {
        content_by_lua_block {
            ngx.sleep(0.2)
            ngx.say("up")
        }
    }
--- request
GET /t
--- response_body
up
--- error_log
use loaded configuration /routes
use loaded configuration /upstreams
healthy check use round robin
healthy check use ngx.shared dict
--- grep_error_log eval
qr/main etcd watcher initialised, revision=/
--- grep_error_log_out
main etcd watcher initialised, revision=
main etcd watcher initialised, revision=



=== TEST 5: without the read during start, each object reads its directory from its timer
--- extra_yaml_config
  disable_sync_configuration_during_start: true
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            assert(core.etcd.set("/services/s-bad", {plugins = {["fault-injection"] = {abort = {http_status = "x"}}}}))
            ngx.sleep(0.2)
            assert(core.etcd.delete("/services/s-bad"))
            ngx.say("checked")
        }
    }
--- request
GET /t
--- response_body
checked
--- error_log
failed to check item data of [/apisix/services]
--- no_error_log
use loaded configuration



=== TEST 6: the ffi shim's cdata prints as LuaJIT's and core.json's force mode takes it
--- config
    location /t {
        content_by_lua_block {
            local ffi = require("ffi")
            local v = ffi.new("int[4]")
            ngx.say(tostring(v):match("^cdata<int%[4%]>: 0x%x+$") ~= nil)
            local out = require("apisix.core").json.encode({v = v}, true)
            ngx.say(out:match('^{"v":"cdata<int%[4%]>: 0x%x+"}$') ~= nil)
            local ok, err = pcall(function() return ffi.cdef end)
            ngx.say(ok, " ", err:match("ffi%.cdef is not supported") ~= nil)
        }
    }
--- request
GET /t
--- response_body
true
true
false true



=== TEST 7: t.toolkit.json is the test toolkit's json under its second name
--- config
    location /t {
        content_by_lua_block {
            local json = require("t.toolkit.json")
            ngx.say(json.encode({b = 2, a = {1, 2}}))
            ngx.say(json.decode('{"k":"v"}').k)
        }
    }
--- request
GET /t
--- response_body
{"a":[1,2],"b":2}
v



=== TEST 8: http-logger takes the plugin metadata's log_format when its conf has none
--- config
    location /collector {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.log(ngx.WARN, "collected: ", ngx.req.get_body_data())
        }
    }
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            assert(core.etcd.set("/plugin_metadata/http-logger", {id = "http-logger",
                log_format = {where = "$host", named = "$route_name"}}))
            assert(core.etcd.set("/routes/logged", {
                uri = "/logged", name = "kept-name",
                plugins = {
                    ["http-logger"] = {uri = "http://127.0.0.1:" .. ngx.var.server_port .. "/collector",
                                       batch_max_size = 1, concat_method = "json"},
                    ["serverless-pre-function"] = {phase = "rewrite",
                        functions = {"return function() return 200, 'logged' end"}},
                },
            }))
            ngx.sleep(0.2)
            local http = require("resty.http")
            local res = assert(http.new():request_uri("http://127.0.0.1:" .. ngx.var.server_port .. "/logged"))
            ngx.say(res.status)
            ngx.sleep(0.5)
            assert(core.etcd.delete("/routes/logged"))
            assert(core.etcd.delete("/plugin_metadata/http-logger"))
        }
    }
--- request
GET /t
--- response_body
200
--- error_log eval
[qr/collected: \{.*"named":"kept-name"/, qr/collected: \{.*"where":"127\.0\.0\.1"/,
 qr/collected: \{.*"route_id":"logged"/]



=== TEST 9: each process draws its own number at start, and logs/error.log under the prefix reads the error log
--- config
    location /t {
        content_by_lua_block {
            local prefix = ngx.config.prefix()
            ngx.say(prefix:sub(-1) == "/")
            local f = assert(io.open(prefix .. "logs/error.log", "r"))
            local text = f:read("*a")
            f:close()
            local n = 0
            for _ in text:gmatch("random test in %[1, 10000%]: %d+") do
                n = n + 1
            end
            ngx.say(n)
        }
    }
--- request
GET /t
--- response_body
true
2
