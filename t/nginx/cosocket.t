# Our own plain Test::Nginx file: ngx.socket.tcp against a second server declared in
# http_config (listen 1985), and the errors a cosocket reports.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: connect, send a request, read the status line, headers and the whole body
--- http_config
    server {
        listen 1985;
        location /hello {
            content_by_lua_block {
                ngx.say("hello from 1985, ", ngx.var.server_port)
            }
        }
    }
--- config
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            sock:settimeout(2000)
            local ok, err = sock:connect("127.0.0.1", 1985)
            ngx.say("connect: ", ok, " ", err)
            local bytes = sock:send("GET /hello HTTP/1.0\r\nHost: localhost\r\n\r\n")
            ngx.say("sent: ", bytes)
            local status = sock:receive()
            ngx.say("status: ", status)
            while true do
                local line = sock:receive("*l")
                if not line or line == "" then break end
            end
            local body = sock:receive("*a")
            ngx.print("body: ", body)
            ngx.say("after eof: ", sock:receive())
            sock:close()
        }
    }
--- request
GET /t
--- response_body
connect: 1 nil
sent: 40
status: HTTP/1.1 200 OK
body: hello from 1985, 1985
after eof: nilclosed
--- no_error_log
[error]



=== TEST 2: receive(n) takes exact byte counts; a short read at EOF gives the partial data
--- http_config
    server {
        listen 1985;
        location /digits {
            content_by_lua_block {
                ngx.print("0123456789")
            }
        }
    }
--- config
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", 1985))
            assert(sock:send({"GET /digits HTTP/1.0\r\n", "Host: x\r\n", "\r\n"}))
            repeat local line = sock:receive() until line == ""
            ngx.say(sock:receive(3), "|", sock:receive(4))
            local data, err, partial = sock:receive(10)
            ngx.say(data, " ", err, " ", partial)
            sock:close()
        }
    }
--- request
GET /t
--- response_body
012|3456
nil closed 789



=== TEST 3: a POST body sent over the socket reaches the other server's ngx.req
--- http_config
    server {
        listen 1985;
        location /echo {
            content_by_lua_block {
                ngx.req.read_body()
                ngx.print(ngx.req.get_method(), " ", ngx.var.uri, " ", ngx.req.get_body_data())
            }
        }
    }
--- config
    location /t {
        content_by_lua_block {
            local body = "payload-123"
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", 1985))
            assert(sock:send("POST /echo HTTP/1.0\r\nHost: x\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body))
            local all = sock:receive("*a")
            local _, e = all:find("\r\n\r\n", 1, true)
            ngx.say(all:sub(e + 1))
        }
    }
--- request
GET /t
--- response_body
POST /echo payload-123



=== TEST 4: receiveuntil splits a stream on a delimiter; the tail after the last one is partial data
--- http_config
    server {
        listen 1985;
        location /parts {
            content_by_lua_block {
                ngx.print("alpha--beta--gamma")
            }
        }
    }
--- config
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", 1985))
            assert(sock:send("GET /parts HTTP/1.0\r\nHost: x\r\n\r\n"))
            local head = sock:receiveuntil("\r\n\r\n")
            assert(head())
            local part = sock:receiveuntil("--")
            local a, b = part(), part()
            local c, err, partial = part()
            ngx.say(a, " ", b, " ", c, " ", err, " ", partial)
        }
    }
--- request
GET /t
--- response_body
alpha beta nil closed gamma



=== TEST 5: connecting to a port nobody listens on is refused, and logged
--- config
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            local ok, err = sock:connect("127.0.0.1", 1986)
            ngx.say("connect: ", ok, " ", err)
            ngx.say("send after failure: ", sock:send("x"))
        }
    }
--- request
GET /t
--- response_body
connect: nil connection refused
send after failure: nilclosed
--- error_log
connect() failed (111: Connection refused)



=== TEST 6: a read timeout is reported to Lua and logged
--- http_config
    server {
        listen 1985;
        location /slow {
            content_by_lua_block {
                -- far beyond the 100 ms read timeout, so that a slow machine cannot bring the two together
                ngx.sleep(5)
                ngx.say("too late")
            }
        }
    }
--- config
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            sock:settimeout(100)
            assert(sock:connect("127.0.0.1", 1985))
            assert(sock:send("GET /slow HTTP/1.0\r\nHost: x\r\n\r\n"))
            local data, err = sock:receive()
            ngx.say(data, " ", err)
            sock:close()
        }
    }
--- request
GET /t
--- response_body
nil timeout
--- error_log
lua tcp socket read timed out



=== TEST 7: a cosocket call in one thread does not block another thread of the request
--- http_config
    server {
        listen 1985;
        location /slow {
            content_by_lua_block {
                ngx.sleep(0.3)
                ngx.print("slow done")
            }
        }
    }
--- config
    location /t {
        content_by_lua_block {
            local th = ngx.thread.spawn(function()
                local sock = ngx.socket.tcp()
                assert(sock:connect("127.0.0.1", 1985))
                assert(sock:send("GET /slow HTTP/1.0\r\nHost: x\r\n\r\n"))
                local all = sock:receive("*a")
                return all:match("slow done$")
            end)
            ngx.say("main thread carries on")
            local ok, res = ngx.thread.wait(th)
            ngx.say("thread got: ", res)
        }
    }
--- request
GET /t
--- response_body
main thread carries on
thread got: slow done
