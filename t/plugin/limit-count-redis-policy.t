# limit-count's redis policy against a real redis-server on 127.0.0.1:6379 (.ci/run starts one;
# without it every block skips, saying so): the counter lives in Redis under
# plugin-limit-count:v1:<limit key>, so a Lua client sees it; a Redis that cannot be reached fails
# the request with 500, or lets it through with allow_degradation.
use t::APISIX;

my $pong = eval { `redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null` } // "";
if ($pong !~ m/PONG/) {
    plan(skip_all => "needs a redis-server on 127.0.0.1:6379 (.ci/run starts one)");
} else {
    plan('no_plan');
}

repeat_each(1);
no_long_string();
no_root_location();
no_shuffle();

add_block_preprocessor(sub {
    my ($block) = @_;

    if (!$block->request) {
        $block->set_value("request", "GET /t");
    }

    my $http_config = <<_EOC_;
    server {
        listen 6798;
        location / {
            content_by_lua_block {
                ngx.say("counted")
            }
        }
    }
_EOC_

    $block->set_value("http_config", $http_config);
});

run_tests();

__DATA__

=== TEST 1: a fresh Redis database 5, and a route counting 2 requests a minute there
--- config
    location /t {
        content_by_lua_block {
            local redis = require("resty.redis")
            local red = redis:new()
            red:set_timeout(1000)
            assert(red:connect("127.0.0.1", 6379))
            assert(red:select(5))
            assert(red:flushdb())
            red:close()
            local httpc = require("resty.http").new()
            local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                .. "/apisix/admin/routes/1", {method = "PUT", body = [[{
                    "uri": "/limited",
                    "upstream": {"nodes": {"127.0.0.1:6798": 1}, "type": "roundrobin"},
                    "plugins": {"limit-count": {"count": 2, "time_window": 60, "policy": "redis",
                        "redis_host": "127.0.0.1", "redis_database": 5, "key": "remote_addr"}}
                }]]}))
            ngx.say(res.status)
        }
    }
--- response_body
201



=== TEST 2: the third request in the window is refused
--- pipelined_requests eval
["GET /limited", "GET /limited", "GET /limited"]
--- error_code eval
[200, 200, 503]
--- error_log
syncing limit count to redis, key: plugin-limit-count:v1:/apisix/routes/1:



=== TEST 3: the counter is in Redis: one key, 3 counted, expiring within the window
--- config
    location /t {
        content_by_lua_block {
            local red = require("resty.redis"):new()
            red:set_timeout(1000)
            assert(red:connect("127.0.0.1", 6379))
            assert(red:select(5))
            local keys = assert(red:keys("plugin-limit-count:v1:*"))
            ngx.say(#keys, " key")
            ngx.say("counted: ", red:get(keys[1]))
            local ttl = red:ttl(keys[1])
            ngx.say(ttl > 0 and ttl <= 60 and "ttl in window" or ("ttl " .. tostring(ttl)))
            red:close()
        }
    }
--- response_body
1 key
counted: 3
ttl in window



=== TEST 4: a Redis nobody listens on: 500, and the reason in the error log
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local base = "http://127.0.0.1:" .. ngx.var.server_port
            assert(httpc:request_uri(base .. "/apisix/admin/routes/1", {method = "PUT", body = [[{
                    "uri": "/limited",
                    "upstream": {"nodes": {"127.0.0.1:6798": 1}, "type": "roundrobin"},
                    "plugins": {"limit-count": {"count": 2, "time_window": 60, "policy": "redis",
                        "redis_host": "127.0.0.1", "redis_port": 6391}}
                }]]}))
            local res = assert(httpc:request_uri(base .. "/limited"))
            ngx.print(res.status, " ", res.body)
        }
    }
--- response_body
500 {"error_msg":"failed to limit count"}
--- error_log
failed to limit count: connection refused



=== TEST 5: the same with allow_degradation: the request goes through
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local base = "http://127.0.0.1:" .. ngx.var.server_port
            assert(httpc:request_uri(base .. "/apisix/admin/routes/1", {method = "PUT", body = [[{
                    "uri": "/limited",
                    "upstream": {"nodes": {"127.0.0.1:6798": 1}, "type": "roundrobin"},
                    "plugins": {"limit-count": {"count": 2, "time_window": 60, "policy": "redis",
                        "redis_host": "127.0.0.1", "redis_port": 6391, "allow_degradation": true}}
                }]]}))
            local res = assert(httpc:request_uri(base .. "/limited"))
            ngx.print(res.status, " ", res.body)
        }
    }
--- response_body
200 counted
--- error_log
failed to limit count: connection refused
