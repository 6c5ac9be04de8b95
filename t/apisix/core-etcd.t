# Our own t::APISIX file: core.etcd, resty.etcd and core.config from Lua, over the file's store
# (the C# port behind them: Apisix.Core/Core/Etcd.cs, Store/EtcdClient.cs, Core/ConfigEtcd.cs).
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
run_tests();

__DATA__

=== TEST 1: set, get, a prefix listing, delete
--- config
    location /t {
        content_by_lua_block {
            local etcd = require("apisix.core.etcd")
            local value = {colour = "teal"}
            local res = assert(etcd.set("/notes/first", value))
            ngx.say(res.status, " ", res.body.node.value == value)
            res = assert(etcd.set("/notes/first", {colour = "plum"}))
            ngx.say(res.status)
            res = assert(etcd.get("/notes/first"))
            ngx.say(res.body.node.value.colour, " ", type(res.body.node.modifiedIndex))
            ngx.say(assert(etcd.get("/notes/fir")).status)
            res = assert(etcd.get("/notes", true))
            ngx.say(#res.body.list)
            res = assert(etcd.delete("/notes/first"))
            ngx.say(res.status, " ", res.body.deleted)
            ngx.say(assert(etcd.delete("/notes/first")).status)
        }
    }
--- request
GET /t
--- response_body
201 true
200
plum number
404
1
200 1
404



=== TEST 2: push gives a 20-digit id, the admin API sees what core.etcd wrote
--- config
    location /t {
        content_by_lua_block {
            local etcd = require("apisix.core.etcd")
            local conf = {uri = "/pushed", upstream = {type = "roundrobin", nodes = {["127.0.0.1:1980"] = 1}}}
            local res = assert(etcd.push("/routes", conf))
            ngx.say(#conf.id, " ", res.status)
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ngx.var.server_port))
            assert(sock:send("GET /apisix/admin/routes/" .. conf.id .. " HTTP/1.0\r\nHost: localhost\r\n\r\n"))
            ngx.say(sock:receive():match("^HTTP/1%.%d (%d+)"))
            assert(etcd.delete("/routes/" .. conf.id))
        }
    }
--- request
GET /t
--- response_body
20 201
200



=== TEST 3: a resty.etcd watch sees the next write
--- config
    location /t {
        content_by_lua_block {
            local cli = assert(require("resty.etcd").new({http_host = "http://127.0.0.1:2379"}))
            -- the write below ends the watch at once; 10 s is only a safety net for a slow machine
            local read = assert(cli:watchdir("/apisix/watched/", {timeout = 10}))
            local created = assert(read())
            ngx.say("created: ", created.result.created)
            ngx.timer.at(0.05, function()
                cli:set("/apisix/watched/a", {n = 1})
            end)
            local msg = assert(read())
            local ev = msg.result.events[1]
            ngx.say(ev.kv.key, " ", ev.kv.value.n)
            assert(cli:delete("/apisix/watched/a"))
        }
    }
--- request
GET /t
--- response_body
created: true
/apisix/watched/a 1



=== TEST 4: core.config: the local configuration and getkey
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            local conf = core.config.local_conf()
            ngx.say(conf.etcd.prefix, " ", conf.deployment.admin.admin_api_version)
            local config = core.config.new()
            ngx.say(config:getkey("/routes/").status, " ", config:getkey("/nothing-here").status)
            local auto, err = core.config.new(nil, {automatic = true})
            ngx.say(auto == nil, " ", err)
        }
    }
--- request
GET /t
--- response_body
/apisix v3
200 404
true missing `key` argument



=== TEST 5: core.config.new with automatic sync: loads a directory, then follows its changes
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            assert(core.etcd.set("/shelves/a", {books = 3}))
            local seen = {}
            local shelves = assert(core.config.new("/shelves", {
                automatic = true,
                filter = function(item) seen[#seen + 1] = item.key end,
            }))
            ngx.sleep(0.3)
            ngx.say("loaded: ", #shelves.values, " ", shelves:get("a").value.books,
                    " id=", shelves:get("a").value.id, " v", shelves.conf_version)
            local idx = shelves.prev_index
            assert(core.etcd.set("/shelves/b", {books = 5}))
            assert(core.etcd.set("/shelves/a", {books = 4}))
            ngx.sleep(0.5)
            ngx.say("after writes: ", shelves:get("a").value.books, " ", shelves:get("b").value.books,
                    " moved=", shelves.prev_index > idx, " v", shelves.conf_version)
            assert(core.etcd.delete("/shelves/b"))
            ngx.sleep(0.5)
            ngx.say("after delete: ", shelves:get("b") == nil, " v", shelves.conf_version)
            idx = shelves.prev_index
            assert(core.etcd.set("/elsewhere", {x = 1}))
            ngx.sleep(0.5)
            ngx.say("unrelated write: moved=", shelves.prev_index > idx)
            ngx.say("filter saw: ", table.concat(seen, ","))
            ngx.say(core.config.fetch_created_obj("/shelves") == shelves)
            shelves:close()
        }
    }
--- request
GET /t
--- response_body
loaded: 1 3 id=a v1
after writes: 4 5 moved=true v3
after delete: true v4
unrelated write: moved=false
filter saw: /apisix/shelves/a,/apisix/shelves/b,/apisix/shelves/a,/apisix/shelves/b
true
--- error_log
waitdir key: /apisix/shelves prev_index:
insert data by key: b
update data by key: a
delete data by key: b



=== TEST 6: core.config automatic sync: an item that is not an object, or fails the checker, is left out
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            assert(core.etcd.set("/crates/ok", {size = 1}))
            assert(core.etcd.set("/crates/odd", "plain text"))
            assert(core.etcd.set("/crates/big", {size = 99}))
            local crates = assert(core.config.new("/crates", {
                automatic = true,
                checker = function(value)
                    if value.size > 10 then
                        return false, "too big"
                    end
                    return true
                end,
            }))
            ngx.sleep(0.3)
            ngx.say(#crates.values, " ", crates:get("ok") ~= nil, " ", crates:get("big") == nil)
            crates:close()
        }
    }
--- request
GET /t
--- response_body
1 true true
--- error_log
invalid item data of [/apisix/crates/odd], val: plain text, it should be an object
failed to check item data of [/apisix/crates] err:too big



=== TEST 7: core.config test hooks: sync_data over a client that answers with a v3 directory read
--- log_level: debug
--- config
    location /t {
        content_by_lua_block {
            local config_etcd = require("apisix.core.config_etcd")
            local cli = {}
            function cli.readdir()
                return {status = 200, headers = {},
                        body = {header = {revision = 7}, kvs = {{key = "/x/k1", value = {n = 1}}}}}
            end
            local obj = {etcd_cli = cli, key = "/x", need_reload = true, prev_index = 0,
                         conf_version = 0, upgrade_version = config_etcd.upgrade_version}
            assert(config_etcd.test_sync_data(obj))
            ngx.say(#obj.values, " ", obj.values[1].value.id, " ", obj.prev_index, " ", obj.conf_version)
        }
    }
--- request
GET /t
--- response_body
1 k1 7 1
--- error_log
readdir key: /x res: [{



=== TEST 8: another etcd prefix: core.etcd writes under it and the gateway routes from it
--- yaml_config
deployment:
  role: traditional
  role_traditional:
    config_provider: etcd
  admin:
    admin_key: null
  etcd:
    prefix: "/gw-other"
--- http_config
    server {
        listen 6820;
        location /shelf {
            content_by_lua_block {
                ngx.say("from the backend")
            }
        }
    }
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            local res = assert(core.etcd.set("/routes/7",
                {uri = "/shelf", upstream = {type = "roundrobin", nodes = {["127.0.0.1:6820"] = 1}}}))
            ngx.say(res.body.node.key)
            local http = require("resty.http")
            local uri = "http://127.0.0.1:" .. ngx.var.server_port .. "/shelf"
            res = assert(http.new():request_uri(uri))
            ngx.print(res.status, " ", res.body)
            assert(core.etcd.delete("/routes/7"))
            res = assert(http.new():request_uri(uri))
            ngx.say(res.status)
        }
    }
--- request
GET /t
--- response_body
/gw-other/routes/7
200 from the backend
404
