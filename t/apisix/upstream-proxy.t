# Proxying to a route's upstream: nodes in both forms, weighted round robin, retries past a dead
# node, upstream_id, an upstream from a service, pass_host, timeouts, the request-id plugin, and
# the keepalive pool of upstream connections.
# Two small backends (declared below in http_config) stand in for the upstream servers; the
# admin API is called with resty.http from /t locations.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();

add_block_preprocessor(sub {
    my ($block) = @_;

    my $backends = <<'_EOC_';
    server {
        listen 6810;
        listen 6811;
        default_type text/plain;

        location /hello {
            content_by_lua_block {
                ngx.say("hello world")
            }
        }

        location / {
            content_by_lua_block {
                ngx.req.read_body()
                local h = ngx.req.get_headers()
                ngx.header["X-Backend-Seen"] = "yes"
                ngx.say(ngx.req.get_method(), " ", ngx.var.request_uri)
                ngx.say("port=", ngx.var.server_port)
                for _, name in ipairs({"host", "x-real-ip", "x-forwarded-for", "x-forwarded-proto",
                                       "x-forwarded-host", "x-forwarded-port", "x-request-id",
                                       "x-trace-me", "content-length", "connection"}) do
                    ngx.say(name, "=", h[name] or "-")
                end
                ngx.say("body=", ngx.req.get_body_data() or "-")
            }
        }

        location /chunks {
            content_by_lua_block {
                ngx.say("part one")
                ngx.flush(true)
                ngx.say("part two")
            }
        }

        location /slow {
            content_by_lua_block {
                ngx.sleep(1)
                ngx.say("too late")
            }
        }

        location /conn {
            content_by_lua_block {
                ngx.say("requests on this connection: ", ngx.var.connection_requests)
            }
        }

        location /teapot {
            content_by_lua_block {
                ngx.status = 418
                ngx.header["X-Kind"] = "teapot"
                ngx.say("short and stout")
            }
        }
    }
_EOC_

    $block->set_value("http_config", $backends . ($block->http_config // ""));

    if (!$block->request) {
        $block->set_value("request", "GET /t");
    }
});

run_tests();

__DATA__

=== TEST 1: routes and an upstream through the admin API
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local function put(path, body)
                local httpc = http.new()
                local res, err = httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                    .. "/apisix/admin/" .. path, {method = "PUT", body = body})
                if not res then
                    return 500, err
                end
                return res.status, res.body
            end
            local items = {
                {"routes/1", [[{"uri":"/hello","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6810":1}}}]]},
                {"routes/2", [[{"uris":["/echo","/chunks","/teapot"],"upstream":{"type":"roundrobin",
                    "nodes":[{"host":"127.0.0.1","port":6811,"weight":1}]}}]]},
                {"routes/3", [[{"uri":"/port","upstream":{"type":"roundrobin",
                    "nodes":[{"host":"127.0.0.1","port":6810,"weight":2},{"host":"127.0.0.1","port":6811,"weight":1}]}}]]},
                {"routes/4", [[{"uri":"/dead/hello","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:1999":1}}}]]},
                {"routes/5", [[{"uri":"/retry","upstream":{"type":"roundrobin",
                    "nodes":{"127.0.0.1:1999":1,"127.0.0.1:6811":1}}}]]},
                {"upstreams/7", [[{"type":"roundrobin","nodes":{"127.0.0.1:6811":1}}]]},
                {"routes/6", [[{"uri":"/by-id","upstream_id":"7"}]]},
                {"services/8", [[{"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6810":1},
                    "pass_host":"rewrite","upstream_host":"backend.internal"}}]]},
                {"routes/7", [[{"uri":"/svc/echo","service_id":"8"}]]},
                {"routes/8", [[{"uri":"/slow","timeout":{"connect":1,"send":1,"read":0.2},
                    "upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6810":1}}}]]},
                {"routes/9", [[{"uri":"/rid/echo","plugins":{"request-id":{}},
                    "upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6810":1}}}]]},
                {"routes/10", [[{"uri":"/nanoid/echo","plugins":{"request-id":{
                    "algorithm":"nanoid","header_name":"X-Trace-Me","include_in_response":false}},
                    "upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6810":1}}}]]},
                {"routes/11", [[{"uri":"/node/echo","upstream":{"type":"roundrobin",
                    "pass_host":"node","nodes":{"localhost:6811":1}}}]]},
            }
            for _, item in ipairs(items) do
                local code, body = put(item[1], item[2])
                if code >= 300 then
                    ngx.status = code
                    ngx.say(item[1], ": ", body)
                    return
                end
            end
            ngx.say("passed")
        }
    }
--- response_body
passed



=== TEST 2: a route with object-form nodes reaches the backend
--- request
GET /hello
--- response_body
hello world
--- response_headers_like
Server: APISIX/\d+\.\d+\.\d+
--- access_log eval
qr{"GET /hello HTTP/1\.1" 200 12 [\d.]+ "-" "-" 127\.0\.0\.1:6810 200 }



=== TEST 3: method, uri with args, body and headers as nginx forwards them
--- request
POST /echo?a=1&b=two
payload-bytes
--- more_headers
X-Forwarded-For: 10.0.0.9
X-Trace-Me: keep
--- response_body
POST /echo?a=1&b=two
port=6811
host=localhost
x-real-ip=127.0.0.1
x-forwarded-for=10.0.0.9, 127.0.0.1
x-forwarded-proto=http
x-forwarded-host=localhost
x-forwarded-port=1984
x-request-id=-
x-trace-me=keep
content-length=13
connection=-
body=payload-bytes
--- response_headers
X-Backend-Seen: yes



=== TEST 4: a chunked answer is relayed piece by piece
--- request
GET /chunks
--- response_body
part one
part two



=== TEST 5: the upstream's status and headers come through
--- request
GET /teapot
--- error_code: 418
--- response_headers
X-Kind: teapot
--- response_body
short and stout



=== TEST 6: weighted round robin: weights 2 and 1 give 4 and 2 of six requests
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local counts = {}
            for i = 1, 6 do
                local httpc = http.new()
                local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port .. "/port"))
                local port = res.body:match("port=(%d+)")
                counts[port] = (counts[port] or 0) + 1
            end
            ngx.say("6810: ", counts["6810"] or 0, ", 6811: ", counts["6811"] or 0)
        }
    }
--- response_body
6810: 4, 6811: 2



=== TEST 7: a node nobody listens on: 502 and nginx's connect error
--- request
GET /dead/hello?x=1
--- error_code: 502
--- response_body_like eval
qr{<title>502 Bad Gateway</title>}
--- error_log
connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: localhost, request: "GET /dead/hello?x=1 HTTP/1.1", upstream: "http://127.0.0.1:1999/dead/hello?x=1", host: "localhost"
--- access_log eval
qr{"GET /dead/hello\?x=1 HTTP/1\.1" 502 \d+ [\d.]+ "-" "-" 127\.0\.0\.1:1999 502 }



=== TEST 8: with two nodes, a refused connect is retried on the other one
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            for i = 1, 3 do
                local httpc = http.new()
                local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port .. "/retry"))
                ngx.say(res.status, " ", res.body:match("port=%d+"))
            end
        }
    }
--- response_body
200 port=6811
200 port=6811
200 port=6811
--- error_log
connect() failed (111: Connection refused) while connecting to upstream
upstream: "http://127.0.0.1:1999/retry"
--- access_log eval
qr{"GET /retry HTTP/1\.1" 200 .* 127\.0\.0\.1:1999, 127\.0\.0\.1:6811 502, 200 }



=== TEST 9: upstream_id
--- request
GET /by-id
--- response_body_like eval
qr{^GET /by-id\nport=6811\n}



=== TEST 10: an upstream from the route's service, with pass_host rewrite
--- request
GET /svc/echo
--- more_headers
Host: svc.test
--- response_body
GET /svc/echo
port=6810
host=backend.internal
x-real-ip=127.0.0.1
x-forwarded-for=127.0.0.1
x-forwarded-proto=http
x-forwarded-host=svc.test
x-forwarded-port=1984
x-request-id=-
x-trace-me=-
content-length=-
connection=-
body=-



=== TEST 11: pass_host node sends the node's name and port
--- request
GET /node/echo
--- response_body_like eval
qr{\nhost=localhost:6811\n}



=== TEST 12: a read timeout: 504 and nginx's timeout line
--- request
GET /slow
--- error_code: 504
--- response_body_like eval
qr{<title>504 Gateway Time-out</title>}
--- error_log
upstream timed out (110: Connection timed out) while reading response header from upstream
upstream: "http://127.0.0.1:6810/slow"



=== TEST 13: request-id: a fresh uuid goes upstream and comes back in the response
--- request
GET /rid/echo
--- response_headers_like
X-Request-Id: ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$
--- response_body_like eval
qr{\nx-request-id=[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\n}



=== TEST 14: request-id: the upstream sees the same id the client gets, a new one each time
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local ids = {}
            for i = 1, 2 do
                local httpc = http.new()
                local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port .. "/rid/echo"))
                local seen = res.body:match("x%-request%-id=([^\n]+)")
                ngx.say(seen == res.headers["X-Request-Id"], " ", #seen)
                ids[i] = seen
            end
            ngx.say(ids[1] ~= ids[2])
        }
    }
--- response_body
true 36
true 36
true



=== TEST 15: request-id: an id the client sent is kept
--- request
GET /rid/echo
--- more_headers
X-Request-Id: client-chose-this
--- response_headers
X-Request-Id: client-chose-this
--- response_body_like eval
qr{\nx-request-id=client-chose-this\n}



=== TEST 16: request-id: nanoid in a custom header, not echoed back
--- request
GET /nanoid/echo
--- response_headers
X-Trace-Me:
--- response_body_like eval
qr{\nx-trace-me=[-_0-9a-zA-Z]{21}\n}



=== TEST 17: request-id: the schema refuses an unknown algorithm and a short char_set
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            for _, conf in ipairs({[[{"algorithm":"snowflake"}]], [[{"algorithm":"range_id","range_id":{"char_set":"abc"}}]]}) do
                local httpc = http.new()
                local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                    .. "/apisix/admin/routes/99", {method = "PUT",
                    body = [[{"uri":"/x","plugins":{"request-id":]] .. conf .. [[},"upstream":{"nodes":{"127.0.0.1:6810":1}}}]]}))
                ngx.say(res.status)
            end
        }
    }
--- response_body
400
400



=== TEST 18: keepalive pools: the default one, and one that retires a connection after two requests
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local routes = {
                ["routes/20"] = [[{"uri":"/conn","upstream":{"nodes":{"127.0.0.1:6810":1}}}]],
                ["routes/21"] = [[{"uri":"/two/conn","plugins":{"proxy-rewrite":{"uri":"/conn"}},
                    "upstream":{"nodes":{"127.0.0.1:6811":1},"keepalive_pool":{"size":4,"idle_timeout":30,"requests":2}}}]],
            }
            for path, body in pairs(routes) do
                local httpc = http.new()
                local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                    .. "/apisix/admin/" .. path, {method = "PUT", body = body}))
                if res.status >= 300 then
                    ngx.say(path, ": ", res.body)
                    return
                end
            end
            ngx.say("passed")
        }
    }
--- response_body
passed



=== TEST 19: the upstream connection serves one request after another
--- request eval
["GET /conn", "GET /conn", "GET /conn"]
--- response_body eval
["requests on this connection: 1\n", "requests on this connection: 2\n", "requests on this connection: 3\n"]



=== TEST 20: keepalive_pool.requests = 2: the third request opens a new connection
--- request eval
["GET /two/conn", "GET /two/conn", "GET /two/conn"]
--- response_body eval
["requests on this connection: 1\n", "requests on this connection: 2\n", "requests on this connection: 1\n"]
