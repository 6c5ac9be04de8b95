# ai-proxy-multi balancing: weights within a priority, and an instance whose health check
# fails left out until it recovers.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();

add_block_preprocessor(sub {
    my ($block) = @_;

    if (!$block->request) {
        $block->set_value("request", "GET /t");
    }

    my $http_config = <<_EOC_;
    lua_shared_dict health_flags 1m;
    server {
        listen 6796;
        default_type 'application/json';

        location /status {
            content_by_lua_block {
                ngx.status = ngx.shared.health_flags:get("sick") and 503 or 200
                ngx.say("{}")
            }
        }

        location / {
            content_by_lua_block {
                local name = ngx.var.uri:match("^/(%w+)/")
                ngx.say('{"choices":[{"message":{"role":"assistant","content":"' .. name .. '"}}]}')
            }
        }
    }
_EOC_

    $block->set_value("http_config", $http_config);
});

run_tests();

__DATA__

=== TEST 1: routes: weights 3 and 1; an instance with an active health check
--- config
    location /t {
        content_by_lua_block {
            local function instance(name, weight, checks)
                return '{"name":"' .. name .. '","provider":"openai-compatible","weight":' .. weight .. ','
                    .. '"auth":{"header":{"Authorization":"Bearer k"}},'
                    .. '"override":{"endpoint":"http://127.0.0.1:6796/' .. name .. '/v1/chat/completions"}'
                    .. (checks or "") .. '}'
            end
            local checks = ',"checks":{"active":{"type":"http","http_path":"/status","timeout":1,'
                .. '"healthy":{"interval":1,"successes":1},"unhealthy":{"interval":1,"http_failures":1}}}'
            local httpc = require("resty.http").new()
            for id, instances in pairs({
                ["1"] = instance("heavy", 3) .. "," .. instance("light", 1),
                ["2"] = instance("probed", 1, checks) .. "," .. instance("spare", 1),
            }) do
                local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                    .. "/apisix/admin/routes/" .. id, {method = "PUT", body =
                    '{"uri":"/r' .. id .. '","plugins":{"ai-proxy-multi":{"instances":[' .. instances .. ']}}}'}))
                assert(res.status < 300, res.body)
            end
            ngx.say("stored")
        }
    }
--- response_body
stored



=== TEST 2: 40 requests split 30/10 by weight
--- config
    location /t {
        content_by_lua_block {
            local counts = {}
            for i = 1, 40 do
                local httpc = require("resty.http").new()
                local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port .. "/r1",
                    {method = "POST", body = '{"messages":[{"role":"user","content":"hi"}]}'}))
                local name = res.body:match('"content":"(%w+)"')
                counts[name] = (counts[name] or 0) + 1
            end
            ngx.say("heavy=", counts.heavy, " light=", counts.light)
        }
    }
--- timeout: 15
--- response_body
heavy=30 light=10



=== TEST 3: an instance failing its health check is skipped, and taken back once it recovers
--- config
    location /t {
        content_by_lua_block {
            local function round(n)
                local seen = {}
                for i = 1, n do
                    local httpc = require("resty.http").new()
                    local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port .. "/r2",
                        {method = "POST", body = '{"messages":[{"role":"user","content":"hi"}]}'}))
                    local name = res.body:match('"content":"(%w+)"')
                    seen[name] = (seen[name] or 0) + 1
                end
                return "probed=" .. (seen.probed or 0) .. " spare=" .. (seen.spare or 0)
            end
            round(1)            -- creates the checker
            ngx.sleep(1.5)
            ngx.say("healthy: ", round(4))
            ngx.shared.health_flags:set("sick", true)
            ngx.sleep(2.5)
            ngx.say("sick: ", round(4))
            ngx.shared.health_flags:delete("sick")
            ngx.sleep(2.5)
            ngx.say("recovered: ", round(4))
        }
    }
--- timeout: 20
--- response_body
healthy: probed=2 spare=2
sick: probed=0 spare=4
recovered: probed=2 spare=2
--- ignore_error_log
