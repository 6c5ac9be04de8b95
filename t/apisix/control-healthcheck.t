# The control API's health-check views (/v1/healthcheck...): after a request has created a
# route's checker, its active probes mark one backend healthy and the other unhealthy, and the
# control API lists both nodes with their state and counters. Wrong paths answer as APISIX does.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
log_level('info');

add_block_preprocessor(sub {
    my ($block) = @_;

    my $backends = <<'_EOC_';
    server {
        listen 6840;
        location /work { return 200 'work'; }
        location /alive { return 200 'fine'; }
    }
    server {
        listen 6841;
        location /work { return 200 'work'; }
        location /alive { return 500; }
    }
_EOC_

    $block->set_value("http_config", $backends);
    if (!$block->request) {
        $block->set_value("request", "GET /t");
    }
});

run_tests();

__DATA__

=== TEST 1: a route with active checks, then its checker through the control API
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local cjson = require("cjson.safe")
            local base = "http://127.0.0.1:" .. ngx.var.server_port
            local res = http.new():request_uri(base .. "/apisix/admin/routes/1", {method = "PUT", body = [[{
                "uri": "/work",
                "upstream": {
                    "type": "roundrobin",
                    "nodes": {"127.0.0.1:6840": 1, "127.0.0.1:6841": 1},
                    "checks": {"active": {"http_path": "/alive",
                        "healthy": {"interval": 1, "successes": 1},
                        "unhealthy": {"interval": 1, "http_failures": 1}}}
                }
            }]]})
            ngx.say("put: ", res.status)
            http.new():request_uri(base .. "/work")
            ngx.sleep(2.5)

            res = http.new():request_uri(base .. "/v1/healthcheck/routes/1")
            ngx.say("one: ", res.status)
            local info = cjson.decode(res.body)
            ngx.say(info.name, " ", info.type, " ", #info.nodes)
            table.sort(info.nodes, function(a, b) return a.port < b.port end)
            for _, n in ipairs(info.nodes) do
                ngx.say(n.ip, ":", n.port, " ", n.status, " http_failure=", n.counter.http_failure)
            end

            res = http.new():request_uri(base .. "/v1/healthcheck")
            local all = cjson.decode(res.body)
            ngx.say("all: ", res.status, " ", #all, " ", all[1].name)
        }
    }
--- timeout: 10
--- response_body
put: 201
one: 200
/apisix/routes/1 http 2
127.0.0.1:6840 healthy http_failure=0
127.0.0.1:6841 unhealthy http_failure=1
all: 200 1 /apisix/routes/1



=== TEST 2: a resource that is not there, a wrong type, a missing id
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local base = "http://127.0.0.1:" .. ngx.var.server_port .. "/v1/healthcheck/"
            for _, path in ipairs({"routes/404", "things/1", "routes", "upstreams/1"}) do
                local res = http.new():request_uri(base .. path)
                ngx.print(path, ": ", res.status, " ", res.body)
            end
        }
    }
--- response_body
routes/404: 404 {"error_msg":"routes[404] not found"}
things/1: 400 {"error_msg":"invalid src type things"}
routes: 404 {"error_msg":"missing src id for src type routes"}
upstreams/1: 404 {"error_msg":"upstreams[1] not found"}
