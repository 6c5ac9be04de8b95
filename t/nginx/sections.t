# Our own plain Test::Nginx file: the runner's sections and filters (chomp, eval, arrays,
# multi-line response_body_like, unlike, more_headers, error_code, timeout, request building).
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: `response_body chomp` compares without the trailing newline
--- config
    location /t {
        content_by_lua_block {
            ngx.print("no newline at the end")
        }
    }
--- request
GET /t
--- response_body chomp
no newline at the end



=== TEST 2: multi-line response_body_like is /s and keeps its trailing newline
--- config
    location /t {
        content_by_lua_block {
            ngx.say("line one")
            ngx.say("line 22")
        }
    }
--- request
GET /t
--- response_body_like
^line one
line \d+$



=== TEST 3: a qr// from eval keeps its own flags (/m and /i here)
--- config
    location /t {
        content_by_lua_block {
            ngx.say("first")
            ngx.say("Second Line")
            ngx.say("third")
        }
    }
--- request
GET /t
--- response_body_like eval
qr/^second line$/mi



=== TEST 4: response_body_unlike and inline response_body_like
--- config
    location /t {
        content_by_lua_block {
            ngx.say("all is well")
        }
    }
--- request
GET /t
--- response_body_like: ^all is well$
--- response_body_unlike eval
qr/error|fail/



=== TEST 5: response_body eval: a Perl string, and a qr// meaning "like"
--- config
    location /t {
        content_by_lua_block {
            ngx.say(string.rep("ab", 3), "-", 12)
        }
    }
--- request eval
["GET /t", "GET /t"]
--- response_body eval
["ab" x 3 . "-" . (3 * 4) . "\n", qr/^(ab)+-\d+$/]



=== TEST 6: more_headers skips comments and blank lines; Host can be overridden
--- config
    location /t {
        content_by_lua_block {
            local h = ngx.req.get_headers()
            ngx.say(h.host, " ", h["x-one"], " ", h["x-two"], " ", h["# not-a-header"])
        }
    }
--- request
GET /t
--- more_headers
# a comment line
X-One: 1

Host: example.test
X-Two: two words
--- response_body
example.test 1 two words nil



=== TEST 7: request bodies are trimmed and counted; an empty POST has no Content-Length
--- config
    location /t {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.say("[", ngx.var.http_content_length, "] [", ngx.req.get_body_data(), "]")
        }
    }
--- request eval
["POST /t\n   padded body  \n\n", "POST /t"]
--- response_body eval
["[11] [padded body]\n", "[nil] [nil]\n"]



=== TEST 8: a request line may name its protocol version
--- config
    location /t {
        content_by_lua_block {
            ngx.say(ngx.req.http_version(), " ", ngx.var.server_protocol)
        }
    }
--- request
GET /t HTTP/1.0
--- response_body
1 HTTP/1.0



=== TEST 9: error_code inline, and response_headers_like anchored on the value
--- config
    location /t {
        default_type text/plain;
        content_by_lua_block {
            ngx.status = 202
            ngx.header["X-Request-Tag"] = "tag-0042"
            ngx.say("accepted")
        }
    }
--- request
GET /t
--- error_code: 202
--- response_headers_like
X-Request-Tag: tag-\d{4}
Content-Type: text/pl\w+
--- response_body
accepted



=== TEST 10: timeout is an idle timeout: a slow but steady stream does not trip it
--- config
    location /t {
        content_by_lua_block {
            -- 2.4 s in all, more than the timeout; each gap 1.2 s short of it (room for a slow machine)
            for i = 1, 4 do
                ngx.say("piece ", i)
                ngx.flush(true)
                if i < 4 then ngx.sleep(0.8) end
            end
        }
    }
--- request
GET /t
--- timeout: 2
--- response_body
piece 1
piece 2
piece 3
piece 4



=== TEST 11: a long request body built with eval arrives whole
--- config
    location /t {
        content_by_lua_block {
            ngx.req.read_body()
            local body = ngx.req.get_body_data()
            ngx.say(#body, " ", body:sub(1, 3), " ", body:sub(-3))
        }
    }
--- request eval
"POST /t\n" . ("x" x 5000) . "end"
--- response_body
5003 xxx end



=== TEST 12: $TEST_NGINX_* in the configuration: the server's own port, and a free port for a second server
--- http_config
    server {
        listen $TEST_NGINX_RAND_PORT_1;
        location /other {
            content_by_lua_block {
                ngx.say("the second server")
            }
        }
    }
--- config
    location /t {
        content_by_lua_block {
            ngx.say(tostring($TEST_NGINX_SERVER_PORT) == ngx.var.server_port and "own port" or "another port")
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", $TEST_NGINX_RAND_PORT_1))
            assert(sock:send("GET /other HTTP/1.0\r\nHost: localhost\r\n\r\n"))
            local reply = assert(sock:receive("*a"))
            ngx.say(reply:match("the second server") or reply)
        }
    }
--- request
GET /t
--- response_body
own port
the second server
