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
            local read = assert(cli:watchdir("/apisix/watched/", {timeout = 2}))
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
            local auto, err = core.config.new("/routes", {automatic = true})
            ngx.say(auto == nil, " ", err)
        }
    }
--- request
GET /t
--- response_body
/apisix v3
200 404
true core.config.new with automatic sync is not ported to Lua (the C# gateway reads the store directly)
