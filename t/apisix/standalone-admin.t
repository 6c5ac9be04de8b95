# The standalone admin API (config provider yaml): the whole configuration is PUT at once on
# /apisix/admin/configs with an X-Digest header, kept in the standalone-config shared dict, and
# served by the gateway right away; the status server on 7085 says ready only once it is there.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
use_hup();

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value("yaml_config", <<'_EOC_');
deployment:
    role: traditional
    role_traditional:
        config_provider: yaml
    admin:
        admin_key:
            - name: admin
              key: 0f1e2d3c4b5a69788796a5b4c3d2e1f0
              role: admin
_EOC_

    $block->set_value("http_config", <<'_EOC_');
    server {
        listen 6830;
        location /ping {
            content_by_lua_block {
                ngx.say("pong from ", ngx.var.uri)
            }
        }
    }
_EOC_

    $block->set_value("request", "GET /t");
});

run_tests();

__DATA__

=== TEST 1: not ready before a configuration, then PUT, GET and the gateway serves it
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local key = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
            local function call(port, path, method, body, headers)
                local res = http.new():request_uri("http://127.0.0.1:" .. port .. path,
                    {method = method, body = body, headers = headers})
                return res.status, res.body, res.headers
            end
            local port = ngx.var.server_port
            local json = require("cjson.safe")
            local code, body = call(7085, "/status/ready", "GET")
            body = json.decode(body)
            ngx.say(code, " ", body.status, " ", body.error)
            ngx.say(call(7085, "/status", "GET"))

            code, body = call(port, "/apisix/admin/configs", "PUT", "{}", {["X-API-KEY"] = key})
            ngx.print("no digest: ", code, " ", body)
            code = call(port, "/apisix/admin/configs", "PUT", "{}")
            ngx.say("no key: ", code)

            local conf = [[{"routes_conf_version": 7, "routes": [{"id": "p1", "uri": "/ping",
                "upstream": {"nodes": {"127.0.0.1:6830": 1}, "type": "roundrobin"}}]}]]
            local h
            code, body, h = call(port, "/apisix/admin/configs", "PUT", conf, {["X-API-KEY"] = key, ["X-Digest"] = "d1"})
            ngx.say("put: ", code, " ", h["X-Digest"], " ", h["X-Last-Modified"] ~= nil)
            code = call(port, "/apisix/admin/configs", "PUT", conf, {["X-API-KEY"] = key, ["X-Digest"] = "d1"})
            ngx.say("same digest: ", code)

            code, body = call(port, "/apisix/admin/configs", "GET", nil, {["X-API-KEY"] = key})
            local got = require("cjson.safe").decode(body)
            ngx.say("get: ", code, " ", got.routes_conf_version, " ", got.upstreams_conf_version, " ", got.routes[1].id)

            code, body = call(port, "/apisix/admin/configs", "PUT", [[{"routes_conf_version": 3}]],
                {["X-API-KEY"] = key, ["X-Digest"] = "d2"})
            ngx.print("older: ", code, " ", body)

            code, body = call(port, "/apisix/admin/configs", "PUT",
                [[{"routes_conf_version": 9, "routes": [{"id": "a", "uri": "/x", "upstream_id": "u"},
                {"id": "a", "uri": "/y", "upstream_id": "u"}]}]],
                {["X-API-KEY"] = key, ["X-Digest"] = "d3"})
            ngx.print("duplicate: ", code, " ", body)

            ngx.print(select(2, call(port, "/ping", "GET")))
            ngx.say(call(7085, "/status/ready", "GET"))
            code = call(port, "/apisix/admin/routes", "GET", nil, {["X-API-KEY"] = key})
            ngx.say("other admin paths: ", code)
        }
    }
--- response_body
503 error worker id: 0 has not received configuration
200{"status":"ok"}
no digest: 400 {"error_msg":"missing digest header"}
no key: 401
put: 202 d1 true
same digest: 204
get: 200 7 1 p1
older: 400 {"error_msg":"routes_conf_version must be greater than or equal to (7)"}
duplicate: 400 {"error_msg":"found duplicate id a in routes"}
pong from /ping
200{"status":"ok"}
other admin paths: 404
--- error_log
worker id: 0 has not received configuration



=== TEST 2: nginx reloaded (HUP): the worker takes the configuration kept in the shared dict
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local res = http.new():request_uri("http://127.0.0.1:7085/status/ready")
            ngx.say(res.status)
            res = http.new():request_uri("http://127.0.0.1:" .. ngx.var.server_port .. "/ping")
            ngx.print(res.body)
        }
    }
--- response_body
200
pong from /ping
--- error_log
startup config loaded from shared dict
