# Our own t::APISIX file: what the layer adds on top of Test::Nginx. The admin store lives for
# the whole file (nginx restarts per block, etcd does not), blocks get an implicit
# `no_error_log [error]` and a 5 second timeout. The admin API is called over a plain cosocket.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
run_tests();

__DATA__

=== TEST 1: create route 7 through the admin API
--- config
    location /t {
        content_by_lua_block {
            local body = [[{"uri":"/kept-across-blocks","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:1980":1}}}]]
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ngx.var.server_port))
            assert(sock:send("PUT /apisix/admin/routes/7 HTTP/1.0\r\nHost: localhost\r\n"
                .. "Content-Type: application/json\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body))
            local status = sock:receive()
            local all = sock:receive("*a")
            ngx.say(status:match("^HTTP/1%.%d (%d+)"))
            ngx.say(all:find([["uri":"\?/kept%-across%-blocks"]]) ~= nil)
        }
    }
--- request
GET /t
--- response_body
201
true



=== TEST 2: a later block, on a fresh nginx, still finds route 7
--- config
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ngx.var.server_port))
            assert(sock:send("GET /apisix/admin/routes/7 HTTP/1.0\r\nHost: localhost\r\n\r\n"))
            local status = sock:receive()
            local all = sock:receive("*a")
            ngx.say(status:match("^HTTP/1%.%d (%d+)"))
            ngx.say(all:find([["uri":"\?/kept%-across%-blocks"]]) ~= nil)
        }
    }
--- request
GET /t
--- response_body
200
true



=== TEST 3: delete route 7
--- config
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ngx.var.server_port))
            assert(sock:send("DELETE /apisix/admin/routes/7 HTTP/1.0\r\nHost: localhost\r\n\r\n"))
            ngx.say(sock:receive():match("^HTTP/1%.%d (%d+)"))
        }
    }
--- request
GET /t
--- response_body
200



=== TEST 4: the deletion persists too
--- config
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ngx.var.server_port))
            assert(sock:send("GET /apisix/admin/routes/7 HTTP/1.0\r\nHost: localhost\r\n\r\n"))
            ngx.say(sock:receive():match("^HTTP/1%.%d (%d+)"))
        }
    }
--- request
GET /t
--- response_body
404



=== TEST 5: the default timeout is 5s, not Test::Nginx's 3s: 3.5s of silence is fine
--- config
    location /t {
        content_by_lua_block {
            ngx.sleep(3.5)
            ngx.say("answered after a pause")
        }
    }
--- request
GET /t
--- response_body
answered after a pause



=== TEST 6: warnings do not trip the implicit no_error_log [error]
--- config
    location /t {
        content_by_lua_block {
            ngx.log(ngx.WARN, "only a warning here")
            ngx.say("ok")
        }
    }
--- request
GET /t
--- response_body
ok



=== TEST 7: a block that declares error_log may log errors (no implicit check then)
--- config
    location /t {
        content_by_lua_block {
            ngx.log(ngx.ERR, "an expected error line")
            ngx.say("ok")
        }
    }
--- request
GET /t
--- response_body
ok
--- error_log
an expected error line
