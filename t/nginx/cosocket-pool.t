# Our own plain Test::Nginx file: cosocket connection pools (setkeepalive, getreusedtimes, the
# pool options of connect), ngx.socket.connect, unix-domain sockets to a server of the same
# nginx, lua_socket_log_errors per location, UDP sockets with nobody listening, and the names
# the API tables hold (what pairs() walks).
use Test::Nginx::Socket::Lua 'no_plan';

our $HtmlDir = html_dir;
$ENV{TEST_NGINX_HTML_DIR} = $HtmlDir;

log_level('debug');
no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a connection parked with setkeepalive is taken again for the same host and port
--- config
    location /echo { content_by_lua_block { ngx.say("echo") } }
    location /t {
        content_by_lua_block {
            local port = tonumber(ngx.var.server_port)
            for i = 1, 3 do
                local sock = ngx.socket.tcp()
                assert(sock:connect("127.0.0.1", port))
                ngx.say("round ", i, ": reused ", sock:getreusedtimes())
                assert(sock:setkeepalive())
            end
        }
    }
--- request
GET /t
--- response_body
round 1: reused 0
round 2: reused 1
round 3: reused 2
--- error_log
lua tcp socket keepalive create connection pool for key "127.0.0.1:
lua tcp socket get keepalive peer: using connection
lua tcp socket connection pool size: 30
--- no_error_log
[error]



=== TEST 2: named pools keep connections apart; a closed socket cannot be parked
--- config
    location /t {
        content_by_lua_block {
            local port = tonumber(ngx.var.server_port)
            local function go(pool)
                local sock = ngx.socket.tcp()
                assert(sock:connect("127.0.0.1", port, { pool = pool }))
                local reused = sock:getreusedtimes()
                assert(sock:setkeepalive(0, 5))
                return reused
            end
            ngx.say("red: ", go("red"), ", blue: ", go("blue"), ", red again: ", go("red"))
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", port))
            sock:close()
            ngx.say("after close: ", select(2, sock:setkeepalive()))
            ngx.say("reused after close: ", select(2, sock:getreusedtimes()))
        }
    }
--- request
GET /t
--- response_body
red: 0, blue: 0, red again: 1
after close: closed
reused after close: closed
--- error_log
lua tcp socket keepalive create connection pool for key "red"
lua tcp socket keepalive create connection pool for key "blue"
lua tcp socket keepalive timeout: unlimited
lua tcp socket connection pool size: 5



=== TEST 3: connect checks its pool options and its port
--- config
    location /t {
        content_by_lua_block {
            local function try(...)
                local sock = ngx.socket.tcp()
                local ok, res, err = pcall(sock.connect, sock, ...)
                if not ok then
                    ngx.say("error: ", (res:gsub("^.-:%d+: ", "", 1)))
                else
                    ngx.say("result: ", res, " ", err)
                end
            end
            try("127.0.0.1", 1, { pool = {} })
            try("127.0.0.1", 1, { pool = true })
            try("127.0.0.1", 1, { pool_size = "x" })
            try("127.0.0.1", 1, { pool_size = 0 })
            try("127.0.0.1", 1, { backlog = -2 })
            try("127.0.0.1", 70000)
            local sock, err = ngx.socket.connect("127.0.0.1", 65536)
            ngx.say("ngx.socket.connect: ", sock, " ", err)
        }
    }
--- request
GET /t
--- response_body
error: bad argument #4 to '?' (bad "pool" option type: table)
error: bad argument #4 to '?' (bad "pool" option type: boolean)
error: bad argument #4 to '?' (bad "pool_size" option type: string)
error: bad argument #4 to '?' (bad "pool_size" option value: 0)
error: bad argument #4 to '?' (bad "backlog" option value: -2)
result: nil bad port number: 70000
ngx.socket.connect: nil bad port number: 65536



=== TEST 4: a unix-domain socket reaches the server listening on its path, pooled by that path
--- http_config eval
"
    server {
        listen unix:$::HtmlDir/pool-test.sock;
        location /hi {
            content_by_lua_block {
                ngx.header.content_length = 13
                ngx.say('hi over unix')
            }
        }
    }
"
--- config
    location /t {
        content_by_lua_block {
            local path = "unix:$TEST_NGINX_HTML_DIR/pool-test.sock"
            local sock = assert(ngx.socket.connect(path))
            assert(sock:send("GET /hi HTTP/1.1\r\nHost: x\r\n\r\n"))
            local reader = sock:receiveuntil("\r\n\r\n")
            assert(reader())
            local len = 13
            ngx.say("body: ", (sock:receive(len)))
            assert(sock:setkeepalive())
            local again = assert(ngx.socket.connect(path))
            ngx.say("reused: ", again:getreusedtimes())
            again:close()
        }
    }
--- request
GET /t
--- response_body
body: hi over unix

reused: 1
--- error_log
lua tcp socket keepalive create connection pool for key "unix:
--- no_error_log
[error]



=== TEST 5: lua_socket_log_errors off in a location silences a refused connect there only
--- config
    location /quiet {
        lua_socket_log_errors off;
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            ngx.say("quiet: ", select(2, sock:connect("127.0.0.1", 1)))
        }
    }
    location /t {
        content_by_lua_block {
            local res = ngx.location.capture("/quiet")
            ngx.print(res.body)
        }
    }
--- request
GET /t
--- response_body
quiet: connection refused
--- no_error_log
connect() failed



=== TEST 6: a UDP datagram to a port nobody listens on: sent, and the receive is refused
--- config
    location /t {
        content_by_lua_block {
            local udp = ngx.socket.udp()
            ngx.say("send before setpeername: ", select(2, udp:send("x")))
            ngx.say("setpeername: ", udp:setpeername("127.0.0.1", 1))
            ngx.say("send: ", udp:send("ping"))
            udp:settimeout(200)
            ngx.say("receive: ", select(2, udp:receive()))
            ngx.say("close: ", udp:close())
        }
    }
--- request
GET /t
--- response_body
send before setpeername: closed
setpeername: 1
send: 1
receive: connection refused
close: 1
--- error_log
recv() failed (111: Connection refused)



=== TEST 7: what pairs() finds in the API tables and in a socket
--- http_config
    lua_shared_dict pool_test 100k;
--- config
    location /t {
        content_by_lua_block {
            local function count(t)
                local n = 0
                for _ in pairs(t) do n = n + 1 end
                return n
            end
            ngx.say("ngx ", count(ngx), ", ngx.req ", count(ngx.req), ", ngx.socket ", count(ngx.socket),
                    ", ngx.re ", count(ngx.re), ", ngx.worker ", count(ngx.worker), ", ndk ", count(ndk))
            ngx.say("coroutine ", count(coroutine))
            local tcp = ngx.socket.tcp()
            ngx.say("tcp object ", count(tcp), ", its metatable ", count(getmetatable(tcp)))
            tcp:settimeouts(1, 2, 3)
            local leading = 0
            for _ in ipairs(tcp) do leading = leading + 1 end
            ngx.say("after settimeouts ", count(tcp), ", from slot 1 on ", leading)
            ngx.say("udp metatable ", count(getmetatable(ngx.socket.udp())))
            ngx.say("shdict metatable ", count(getmetatable(ngx.shared.pool_test).__index))
            ngx.say("ngx.worker.pids: ", type(ngx.worker.pids()), ", on_abort: ", select(2, ngx.on_abort(function() end)))
        }
    }
--- request
GET /t
--- response_body
ngx 116, ngx.req 23, ngx.socket 4, ngx.re 5, ngx.worker 5, ndk 1
coroutine 16
tcp object 0, its metatable 16
after settimeouts 3, from slot 1 on 0
udp metatable 6
shdict metatable 22
ngx.worker.pids: table, on_abort: lua_check_client_abort is off
