# clickhouse-logger, udp-logger, node-status and grpc-transcode in the C# port: what each does on
# the wire, seen from a small ClickHouse stand-in and from the error log.
use t::APISIX 'no_plan';

log_level("info");
repeat_each(1);
no_long_string();
no_root_location();
no_shuffle();

add_block_preprocessor(sub {
    my ($block) = @_;

    if (!$block->request) {
        $block->set_value("request", "GET /t");
    }

    my $http_config = $block->http_config // <<_EOC_;
    server {
        listen 6821;

        location /ingest {
            content_by_lua_block {
                ngx.req.read_body()
                local h = ngx.req.get_headers()
                ngx.log(ngx.WARN, "stand-in got: ", ngx.req.get_body_data(),
                        " | table db=", h["x-clickhouse-database"], " who=", h["x-clickhouse-user"],
                        " key=", h["x-clickhouse-key"], " args=", ngx.var.args)
                ngx.say("ok")
            }
        }

        location /hello {
            content_by_lua_block {
                ngx.say("hello world")
            }
        }

        location /refuse {
            content_by_lua_block {
                ngx.status = 500
                ngx.say("Code: 60. table is missing")
            }
        }
    }
_EOC_
    $block->set_value("http_config", $http_config);
});

run_tests();

__DATA__

=== TEST 1: clickhouse-logger batches two requests into one INSERT, rows separated by a space
--- config
    location /t {
        content_by_lua_block {
            local function t(path, method, body)
                local res, err = require("resty.http").new():request_uri(
                    "http://127.0.0.1:" .. ngx.var.server_port .. path,
                    {method = method, body = body})
                if not res then return 500, err end
                return res.status, res.body
            end
            local code, body = t('/apisix/admin/routes/1', "PUT", [[{
                "uri": "/hello",
                "upstream": {"nodes": {"127.0.0.1:6821": 1}, "type": "roundrobin"},
                "plugins": {
                    "clickhouse-logger": {
                        "endpoint_addr": "http://127.0.0.1:6821/ingest?source=gw",
                        "user": "writer", "password": "pw-42", "database": "edge",
                        "logtable": "access_log",
                        "log_format": {"path": "$uri", "verb": "$request_method"},
                        "batch_max_size": 2
                    }
                }
            }]])
            if code >= 300 then
                ngx.status = code
                ngx.say(body)
                return
            end
            local http = require("resty.http")
            for _ = 1, 2 do
                local res = http.new():request_uri("http://127.0.0.1:" .. ngx.var.server_port .. "/hello")
                ngx.print(res.body)
            end
            ngx.sleep(0.5)
        }
    }
--- timeout: 20
--- response_body
hello world
hello world
--- error_log eval
[
qr/sending a batch logs to http:\/\/127.0.0.1:6821\/ingest\?source=gw/,
qr/stand-in got: INSERT INTO access_log FORMAT JSONEachRow \{[^}]*"path":"\/hello"[^}]*\} \{[^}]*"verb":"GET"[^}]*\} \| table db=edge who=writer key=pw-42 args=source=gw/,
]
--- no_error_log
[error]



=== TEST 2: a server error is the batch's failure, with ClickHouse's own words
--- config
    location /t {
        content_by_lua_block {
            local function t(path, method, body)
                local res, err = require("resty.http").new():request_uri(
                    "http://127.0.0.1:" .. ngx.var.server_port .. path,
                    {method = method, body = body})
                if not res then return 500, err end
                return res.status, res.body
            end
            local code, body = t('/apisix/admin/routes/1', "PUT", [[{
                "uri": "/hello",
                "upstream": {"nodes": {"127.0.0.1:6821": 1}, "type": "roundrobin"},
                "plugins": {
                    "clickhouse-logger": {
                        "endpoint_addrs": ["http://127.0.0.1:6821/refuse"],
                        "user": "writer", "password": "", "database": "edge",
                        "logtable": "nowhere", "batch_max_size": 1
                    }
                }
            }]])
            if code >= 300 then
                ngx.status = code
                ngx.say(body)
                return
            end
            local http = require("resty.http")
            http.new():request_uri("http://127.0.0.1:" .. ngx.var.server_port .. "/hello")
            ngx.sleep(0.5)
            ngx.say("sent")
        }
    }
--- response_body
sent
--- error_log
Batch Processor[clickhouse logger] failed to process entries: server returned status code[500] host[127.0.0.1] port[6821] body[Code: 60. table is missing



=== TEST 3: udp-logger reports a host nobody resolves as a failure to connect
--- config
    location /t {
        content_by_lua_block {
            local function t(path, method, body)
                local res, err = require("resty.http").new():request_uri(
                    "http://127.0.0.1:" .. ngx.var.server_port .. path,
                    {method = method, body = body})
                if not res then return 500, err end
                return res.status, res.body
            end
            local code, body = t('/apisix/admin/routes/1', "PUT", [[{
                "uri": "/hello",
                "upstream": {"nodes": {"127.0.0.1:6821": 1}, "type": "roundrobin"},
                "plugins": {
                    "udp-logger": {"host": "logs.unknown.invalid", "port": 5140, "batch_max_size": 1}
                }
            }]])
            if code >= 300 then
                ngx.status = code
                ngx.say(body)
                return
            end
            local http = require("resty.http")
            http.new():request_uri("http://127.0.0.1:" .. ngx.var.server_port .. "/hello")
            ngx.sleep(0.5)
            ngx.say("sent")
        }
    }
--- response_body
sent
--- error_log
sending a batch logs to logs.unknown.invalid:5140
failed to connect to UDP server: host[logs.unknown.invalid] port[5140] err: logs.unknown.invalid could not be resolved (3: Host not found)



=== TEST 4: node-status answers the instance id and seven counters, all strings, on GET only
--- extra_yaml_config
plugins:
    - public-api
    - node-status
--- yaml_config
apisix:
    id: "edge-node-7"
--- config
    location /t {
        content_by_lua_block {
            local function t(path, method, body)
                local res, err = require("resty.http").new():request_uri(
                    "http://127.0.0.1:" .. ngx.var.server_port .. path,
                    {method = method, body = body})
                if not res then return 500, err end
                return res.status, res.body
            end
            local code, body = t('/apisix/admin/routes/status', "PUT", [[{
                "uri": "/apisix/status",
                "plugins": {"public-api": {}}
            }]])
            if code >= 300 then
                ngx.status = code
                ngx.say(body)
                return
            end
            local http = require("resty.http")
            local base = "http://127.0.0.1:" .. ngx.var.server_port .. "/apisix/status"
            local res = http.new():request_uri(base)
            local doc = require("cjson").decode(res.body)
            ngx.say(res.status, " ", doc.id)
            for _, k in ipairs({"active", "accepted", "handled", "total", "reading", "writing", "waiting"}) do
                ngx.say(k, " ", type(doc.status[k]), " ", doc.status[k]:match("^%d+$") and "digits" or "other")
            end
            res = http.new():request_uri(base, {method = "POST"})
            ngx.say("POST ", res.status)
        }
    }
--- response_body
200 edge-node-7
active string digits
accepted string digits
handled string digits
total string digits
reading string digits
writing string digits
waiting string digits
POST 404



=== TEST 5: grpc-transcode: a missing proto is logged and the request goes on; a known one is refused
--- config
    location /t {
        content_by_lua_block {
            local function t(path, method, body)
                local res, err = require("resty.http").new():request_uri(
                    "http://127.0.0.1:" .. ngx.var.server_port .. path,
                    {method = method, body = body})
                if not res then return 500, err end
                return res.status, res.body
            end
            local code, body = t('/apisix/admin/routes/1', "PUT", [[{
                "uri": "/hello",
                "upstream": {"nodes": {"127.0.0.1:6821": 1}, "type": "roundrobin"},
                "plugins": {
                    "grpc-transcode": {"proto_id": "p-absent", "service": "demo.Echo", "method": "Say"}
                }
            }]])
            if code >= 300 then
                ngx.status = code
                ngx.say(body)
                return
            end
            local http = require("resty.http")
            local url = "http://127.0.0.1:" .. ngx.var.server_port .. "/hello"
            local res = http.new():request_uri(url)
            ngx.say("absent proto: ", res.status)

            code, body = t('/apisix/admin/protos/p-known', "PUT", [[{
                "content": "syntax = \"proto3\"; package demo; message In { string text = 1; } service Echo { rpc Say (In) returns (In) {} }"
            }]])
            if code >= 300 then
                ngx.status = code
                ngx.say(body)
                return
            end
            code, body = t('/apisix/admin/routes/1', "PATCH", [[{
                "plugins": {
                    "grpc-transcode": {"proto_id": "p-known", "service": "demo.Echo", "method": "Say"}
                }
            }]])
            ngx.sleep(0.1)
            res = http.new():request_uri(url)
            ngx.say("known proto: ", res.status)
            t('/apisix/admin/routes/1', "DELETE")
            t('/apisix/admin/protos/p-known', "DELETE")
        }
    }
--- response_body
absent proto: 200
known proto: 503
--- error_log
proto load error: failed to find proto by id: p-absent
transform request error: transcoding HTTP to gRPC is not ported
