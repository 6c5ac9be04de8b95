# What a t::APISIX nginx shows of the runtime it stands for (apisix-runtime: OpenResty 1.29.2.4),
# and the log lines nginx and APISIX write around the requests: plugin.load()'s start-up lines, the
# access log's uninitialized `set` variables, and apisix-nginx-module's request id.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
run_tests();

__DATA__

=== TEST 1: ngx.config names apisix-runtime's nginx and ngx_lua versions
--- config
    location /t {
        content_by_lua_block {
            ngx.say(ngx.config.nginx_version, " ", ngx.config.ngx_lua_version)
        }
    }
--- request
GET /t
--- response_body
1029002 10031



=== TEST 2: each process (worker and privileged agent) logs the plugin lists plugin.load() loads
--- config
    location /t {
        content_by_lua_block {
            ngx.say("ok")
        }
    }
--- request
GET /t
--- response_body
ok
--- grep_error_log eval
qr/\[warn\] .*(?:load|load_stream)\(\): new plugins: \{.*"(?:ai-proxy|limit-conn)":true.*\}, context: init_worker_by_lua\*/
--- grep_error_log_out eval
qr/^(?:.*load\(\): new plugins: .*\n){2}(?:.*load_stream\(\): new plugins: .*\n){2}$/



=== TEST 3: the block's own location never ran the gateway's `set`s: the access log warns of each it reads
--- config
    location /t {
        content_by_lua_block {
            ngx.say("ok")
        }
    }
--- request
GET /t
--- response_body
ok
--- error_log eval
[qr/\[warn\] .*using uninitialized "upstream_uri" variable while logging request, client: 127\.0\.0\.1, server: localhost, request: "GET \/t HTTP\/1\.1", host: "localhost"$/,
 qr/using uninitialized "request_line" variable while logging request/,
 qr/using uninitialized "rate_limiting_info" variable while logging request/]
--- access_log eval
qr{ localhost "" 200 \d+ .* "://" }



=== TEST 4: a gateway request runs them (no warning); its log lines end with the request id
--- request
GET /no/such/route
--- error_code: 404
--- error_log eval
qr/not find any matched route, client: 127\.0\.0\.1, server: localhost, request: "GET \/no\/such\/route HTTP\/1\.1", host: "localhost", request_id: "[0-9a-f]{32}"$/
--- no_error_log
using uninitialized



=== TEST 5: an admin request runs the admin location's `set`s (request_line stays empty), not the gateway's
--- request
GET /apisix/admin/routes
--- error_code: 200
--- error_log
using uninitialized "llm_model" variable while logging request
--- no_error_log
using uninitialized "upstream_uri"
using uninitialized "request_line"
--- access_log eval
qr{ localhost "" 200 }



=== TEST 6: nginx's own error page ends as apisix-runtime's does: its version, then "Powered by APISIX"
--- config
    location /t {
        return 503;
    }
--- request
GET /t
--- error_code: 503
--- response_body eval
"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>openresty/1.29.2.4</center>\r\n<p><em>Powered by <a href=\"https://apisix.apache.org/\">APISIX</a>.</em></p></body>\r\n</html>\r\n"



=== TEST 7: a standalone data plane reads conf/apisix.yaml at start and says so
--- yaml_config
apisix:
    node_listen: 1984
deployment:
    role: data_plane
    role_data_plane:
        config_provider: yaml
--- apisix_yaml
routes: []
#END
--- config
    location /t {
        return 200 "ok";
    }
--- request
GET /t
--- response_body chomp
ok
--- error_log eval
qr/\[warn\] .*config_yaml\.lua:\d+: read_apisix_config\(\): config file .*\/conf\/apisix\.yaml reloaded\./



=== TEST 8: the mock upstream has server_tokens off: its error pages name openresty without a version
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local res = assert(http.new():request_uri("http://127.0.0.1:1980/no-such-mock-path"))
            ngx.say(res.status)
            ngx.print(res.body)
        }
    }
--- request
GET /t
--- response_body_like eval
qr{^[45]\d\d\n.*<hr><center>openresty</center>\r\n<p><em>Powered by <a href="https://apisix\.apache\.org/">APISIX</a>\.</em></p></body>}s
--- no_error_log
[crit]
