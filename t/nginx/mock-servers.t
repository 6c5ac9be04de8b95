# Our own plain Test::Nginx file: Test::Nginx's embedded TCP server (--- tcp_listen with
# tcp_reply, tcp_query, tcp_query_len, tcp_no_close, tcp_reply_delay), reached by cosockets and by
# proxy_pass in subrequests (a body cut short is reported as truncated); what a capture gets from a
# subrequest that ends in an error, and the subrequest depth limit.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a cosocket talks to the mock server; the server checks what it got
--- config
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            sock:settimeout(2000)
            assert(sock:connect("127.0.0.1", 19461))
            assert(sock:send("marco"))
            local line, err = sock:receive()
            ngx.say("line: ", line, " ", err)
            local rest, err = sock:receive("*a")
            ngx.say("rest: [", rest, "] ", err)
            sock:close()
        }
    }
--- request
GET /t
--- tcp_listen: 19461
--- tcp_query: marco
--- tcp_reply eval
"polo\r\nand goodbye"
--- response_body
line: polo nil
rest: [and goodbye] nil
--- no_error_log
[error]



=== TEST 2: a reply given in pieces, after a delay; the query length is checked
--- config
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            sock:settimeout(2000)
            assert(sock:connect("127.0.0.1", 19462))
            assert(sock:send("12345678"))
            local all, err = sock:receive("*a")
            ngx.say("got: ", all, " ", err)
        }
    }
--- request
GET /t
--- tcp_listen: 19462
--- tcp_query_len: 8
--- tcp_reply_delay: 50ms
--- tcp_reply eval
["first,", "second,", "third"]
--- response_body
got: first,second,third nil



=== TEST 3: tcp_no_close keeps the connection open: the read times out
--- config
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            -- connect and send: 5 s in case the machine is slow; the read: long enough for
            -- the reply to come first (it comes at once), then it times out
            sock:settimeouts(5000, 5000, 1000)
            assert(sock:connect("127.0.0.1", 19463))
            assert(sock:send("hi"))
            local data, err, partial = sock:receive(100)
            ngx.say("data: ", data, ", err: ", err, ", partial: ", partial)
        }
    }
--- request
GET /t
--- tcp_listen: 19463
--- tcp_no_close
--- tcp_reply: half an answer
--- response_body
data: nil, err: timeout, partial: half an answer
--- error_log
lua tcp socket read timed out



=== TEST 4: a proxied subrequest whose upstream closes before Content-Length is reached
--- config
    location /up {
        internal;
        proxy_pass http://127.0.0.1:19464/;
    }
    location /t {
        content_by_lua_block {
            local res = ngx.location.capture("/up")
            ngx.say(res.status, " [", res.body, "] truncated=", res.truncated)
        }
    }
--- request
GET /t
--- tcp_listen: 19464
--- tcp_query_len: 60
--- tcp_reply eval
"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nonly part"
--- response_body
200 [only part] truncated=true
--- error_log
upstream prematurely closed connection



=== TEST 5: a proxied subrequest whose upstream stalls: buffered, what came is dropped
--- config
    location /up {
        internal;
        proxy_read_timeout 100ms;
        proxy_pass http://127.0.0.1:19465/;
    }
    location /t {
        content_by_lua_block {
            local res = ngx.location.capture("/up")
            ngx.say(res.status, " [", res.body, "] truncated=", res.truncated)
        }
    }
--- request
GET /t
--- tcp_listen: 19465
--- tcp_no_close
--- tcp_reply eval
"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nstalled"
--- response_body
200 [] truncated=true
--- error_log
upstream timed out



=== TEST 6: the same with proxy_buffering off: what came is kept
--- config
    location /up {
        internal;
        proxy_buffering off;
        proxy_read_timeout 100ms;
        proxy_pass http://127.0.0.1:19466/;
    }
    location /t {
        content_by_lua_block {
            local res = ngx.location.capture("/up")
            ngx.say(res.status, " [", res.body, "] truncated=", res.truncated)
        }
    }
--- request
GET /t
--- tcp_listen: 19466
--- tcp_no_close
--- tcp_reply eval
"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nstalled"
--- response_body
200 [stalled] truncated=true
--- error_log
upstream timed out



=== TEST 7: a body without Content-Length ends with the connection: complete, not truncated
--- config
    location /up {
        internal;
        proxy_pass http://127.0.0.1:19467/;
    }
    location /t {
        content_by_lua_block {
            local res = ngx.location.capture("/up")
            ngx.say(res.status, " [", res.body, "] truncated=", res.truncated)
        }
    }
--- request
GET /t
--- tcp_listen: 19467
--- tcp_query_len: 60
--- tcp_reply eval
"HTTP/1.0 200 OK\r\n\r\nwhole thing"
--- response_body
200 [whole thing] truncated=false
--- no_error_log
[error]



=== TEST 8: a subrequest ending in an error status is captured with that status and no body
--- config
    location /gone { return 410; }
    location /boom { content_by_lua_block { ngx.exit(ngx.ERROR) } }
    location /t {
        content_by_lua_block {
            for _, uri in ipairs({ "/gone", "/boom" }) do
                local res = ngx.location.capture(uri)
                ngx.say(uri, ": ", res.status, " [", res.body, "]")
            end
        }
    }
--- request
GET /t
--- response_body
/gone: 410 []
/boom: 500 []



=== TEST 9: a location capturing itself stops at nginx's subrequest depth
--- config
    location /loop {
        content_by_lua_block {
            local res = ngx.location.capture("/loop")
            ngx.print(res.status == 500 and "deep\n" or "")
        }
    }
--- request
GET /loop
--- ignore_response
--- error_log
lua subrequests cycle while processing "/loop"
failed to issue subrequest: -1



=== TEST 10: ngx.socket.udp reaches the block's UDP server, which answers the first datagram
--- config
    location /t {
        content_by_lua_block {
            local udp = ngx.socket.udp()
            -- the answer comes at once; 5 s only in case the machine is slow
            udp:settimeout(5000)
            ngx.say("setpeername: ", udp:setpeername("127.0.0.1", 19551))
            ngx.say("send: ", udp:send({ "pi", "ng" }))
            ngx.say("receive: ", udp:receive())
            udp:settimeout(300)
            ngx.say("send again: ", udp:send("ping"))
            ngx.say("receive again: ", udp:receive())
            ngx.say("close: ", udp:close())
        }
    }
--- udp_listen: 19551
--- udp_reply: pong
--- udp_query: ping
--- request
GET /t
--- response_body
setpeername: 1
send: 1
receive: pong
send again: 1
receive again: niltimeout
close: 1
--- error_log
lua udp socket read timed out
