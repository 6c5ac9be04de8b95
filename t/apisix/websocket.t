# WebSocket through the gateway: a route with enable_websocket hands the client's Upgrade to
# the upstream, answers with the upstream's 101 and then carries frames both ways. The backend
# below speaks the protocol with resty.websocket.server and echoes every text frame back in
# capitals; the /t locations play the client with resty.websocket.client.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
log_level('info');

add_block_preprocessor(sub {
    my ($block) = @_;

    my $backend = <<'_EOC_';
    server {
        listen 6830;

        location /shout {
            content_by_lua_block {
                local server = require("resty.websocket.server")
                local wb, err = server:new({ timeout = 2000 })
                if not wb then
                    ngx.log(ngx.WARN, "backend refused the handshake: ", err)
                    return ngx.exit(400)
                end
                while true do
                    local data, typ = wb:recv_frame()
                    if not data or typ == "close" then
                        wb:send_close(1000, "bye")
                        return
                    end
                    wb:send_text(string.upper(data))
                end
            }
        }
    }
_EOC_

    $block->set_value("http_config", $backend);
});

run_tests();

__DATA__

=== TEST 1: a route to the echo backend with enable_websocket
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local function put(path, body)
                local res, err = http.new():request_uri("http://127.0.0.1:" .. ngx.var.server_port
                    .. "/apisix/admin/" .. path, {method = "PUT", body = body})
                if not res then return 500, err end
                return res.status, res.body
            end
            local code, body = put('routes/1', [[{
                "uri": "/shout",
                "enable_websocket": true,
                "upstream": {"type": "roundrobin", "nodes": {"127.0.0.1:6830": 1}}
            }]])
            ngx.say(code)
        }
    }
--- request
GET /t
--- response_body
201



=== TEST 2: frames go both ways through the gateway
--- config
    location /t {
        content_by_lua_block {
            local client = require("resty.websocket.client")
            local wb = client:new({ timeout = 2000 })
            local ok, err = wb:connect("ws://127.0.0.1:1984/shout")
            if not ok then
                ngx.say("connect: ", err)
                return
            end
            for _, word in ipairs({"first", "second"}) do
                wb:send_text(word)
                local data, typ = wb:recv_frame()
                ngx.say(typ, ": ", data)
            end
            wb:send_close()
            local data, typ, code = wb:recv_frame()
            ngx.say(typ, " ", code, " ", data)
        }
    }
--- request
GET /t
--- response_body
text: FIRST
text: SECOND
close 1000 bye
--- error_log
enabled websocket for route: 1



=== TEST 3: the client sees the upstream's 101 as nginx writes it
--- raw_request eval
"GET /shout HTTP/1.1\r
Host: localhost\r
Upgrade: websocket\r
Connection: Upgrade\r
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
Sec-WebSocket-Version: 13\r
\r
"
--- error_code: 101
--- raw_response_headers_like: ^HTTP/1.1 101 Switching Protocols\r\n
--- response_headers
Upgrade: websocket
Connection: upgrade
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
!Content-Type



=== TEST 4: without enable_websocket the upstream never sees the Upgrade
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local function put(path, body)
                local res, err = http.new():request_uri("http://127.0.0.1:" .. ngx.var.server_port
                    .. "/apisix/admin/" .. path, {method = "PUT", body = body})
                if not res then return 500, err end
                return res.status, res.body
            end
            local code = put('routes/1', [[{
                "uri": "/shout",
                "upstream": {"type": "roundrobin", "nodes": {"127.0.0.1:6830": 1}}
            }]])
            if code >= 300 then
                ngx.say("put: ", code)
                return
            end
            local client = require("resty.websocket.client")
            local wb = client:new({ timeout = 2000 })
            local ok, err = wb:connect("ws://127.0.0.1:1984/shout")
            ngx.say(ok, " ", err)
        }
    }
--- request
GET /t
--- response_body
nil bad HTTP response status line: HTTP/1.1 400 Bad Request
--- error_log
backend refused the handshake: bad "upgrade" request header: nil
