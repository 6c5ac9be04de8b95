# Our own plain Test::Nginx file: what lua-nginx-module and nginx show of their insides and a few
# directives around them: the Lua thread cache and the output buffer reuse in debug lines,
# server_rewrite_by_lua, set_by_lua and return at server level, ngx.req.set_uri's jump, the static
# module's directory redirect, gzip, virtual servers by name, and nginx's config tokenizer.
use Test::Nginx::Socket::Lua 'no_plan';

no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a spent entry thread is cached and the next phase's entry thread reuses it
--- config
    location /phases {
        rewrite_by_lua_block { ngx.ctx.from = "rewrite" }
        content_by_lua_block { ngx.say("ctx from ", ngx.ctx.from) }
    }
--- request
GET /phases
--- response_body
ctx from rewrite
--- grep_error_log eval: qr/lua caching unused lua thread|lua reusing cached lua thread/
--- grep_error_log_out
lua caching unused lua thread
lua reusing cached lua thread
lua caching unused lua thread



=== TEST 2: lua_thread_cache_max_entries 0 keeps no thread
--- http_config
    lua_thread_cache_max_entries 0;
--- config
    location /phases {
        rewrite_by_lua_block { ngx.ctx.from = "rewrite" }
        content_by_lua_block { ngx.say("ctx from ", ngx.ctx.from) }
    }
--- request
GET /phases
--- response_body
ctx from rewrite
--- grep_error_log eval: qr/lua caching unused lua thread|lua reusing cached lua thread/
--- grep_error_log_out



=== TEST 3: output buffers come back after a flush: the empty flush buffer first, then the printed one
--- config
    location /bufs {
        content_by_lua_block {
            ngx.say("abc")
            ngx.flush(true)
            ngx.say("wxyz")
            ngx.say("12")
        }
    }
--- request
GET /bufs
--- response_body
abc
wxyz
12
--- error_log
lua reuse free buf chain, but reallocate memory because 5 >= 0
lua reuse free buf memory 4 >= 3



=== TEST 4: print() logs ngx.null as null and refuses a table without __tostring
--- config
    location /print {
        content_by_lua_block {
            print("value: ", ngx.null, " ", nil, " ", true)
            print("t: ", {})
        }
    }
--- request
GET /print
--- error_code: 500
--- error_log
value: null nil true
bad argument #2 to 'print' (expected table to have __tostring metamethod)



=== TEST 5: server_rewrite_by_lua_block in a server runs before the location is chosen
--- config
    server_rewrite_by_lua_block {
        ngx.ctx.first = ngx.get_phase()
    }
    location /where {
        content_by_lua_block { ngx.say(ngx.ctx.first, " then ", ngx.get_phase()) }
    }
--- request
GET /where
--- response_body
server_rewrite then content



=== TEST 6: set_by_lua at server level sets a variable every location sees
--- config
    set_by_lua $doubled 'return tonumber(ngx.arg[1]) * 2' 21;
    location /var {
        content_by_lua_block { ngx.say("doubled: ", ngx.var.doubled) }
    }
--- request
GET /var
--- response_body
doubled: 42



=== TEST 7: ngx.req.set_uri(uri, true) leaves the rewrite handler and finds the new URI's location, ngx.ctx afresh
--- config
    location = /from {
        rewrite_by_lua_block {
            ngx.ctx.mark = "set before the jump"
            ngx.req.set_uri("/to", true)
            ngx.log(ngx.ERR, "not reached")
        }
    }
    location = /to {
        content_by_lua_block { ngx.say("at ", ngx.var.uri, ", mark: ", ngx.ctx.mark) }
    }
--- request
GET /from
--- response_body
at /to, mark: nil
--- no_error_log
[error]



=== TEST 8: ngx.req.set_uri's jump is refused outside the rewrite phases
--- config
    location = /t {
        content_by_lua_block {
            local ok, err = pcall(ngx.req.set_uri, "/x", true)
            ngx.say(err)
        }
    }
--- request
GET /t
--- response_body
API disabled in the context of content_by_lua*



=== TEST 9: a directory asked for without its slash: 301 to it, Location as it is inside a capture
--- config
    location /cap {
        content_by_lua_block {
            local res = ngx.location.capture("/pics")
            ngx.say(res.status, " ", res.header["Location"])
        }
    }
--- user_files
>>> pics/index.html
a picture index
--- request
GET /cap
--- response_body
301 /pics/



=== TEST 10: a body filter that takes eof away leaves the capture truncated
--- config
    location /piece {
        return 200 "a piece";
        body_filter_by_lua_block {
            if ngx.arg[2] then ngx.arg[2] = false end
        }
    }
    location /cap {
        content_by_lua_block {
            local res = ngx.location.capture("/piece")
            ngx.say("truncated: ", res.truncated)
        }
    }
--- request
GET /cap
--- response_body
truncated: true



=== TEST 11: the Host picks the server by name; return 444 at server level closes the connection
--- http_config
    upstream closer {
        server 127.0.0.1:$TEST_NGINX_SERVER_PORT max_fails=3;
    }
    server {
        listen $TEST_NGINX_SERVER_PORT;
        server_name closer;
        return 444;
    }
--- config
    location = /via {
        proxy_next_upstream off;
        proxy_pass http://closer/;
    }
--- request
GET /via
--- error_code: 502
--- error_log
upstream prematurely closed connection while reading response header from upstream



=== TEST 12: gzip compresses a text/plain body for a client that accepts gzip
--- config
    gzip on;
    gzip_types text/plain;
    gzip_min_length 1;
    location /z {
        content_by_lua_block { ngx.say(string.rep("squeeze me ", 20)) }
    }
--- request
GET /z
--- more_headers
Accept-Encoding: gzip
--- response_headers
Content-Encoding: gzip
--- response_body_like: ^\x1f\x8b



=== TEST 13: gzip leaves alone a client that does not accept it
--- config
    gzip on;
    gzip_types text/plain;
    location /z {
        content_by_lua_block { ngx.say(string.rep("squeeze me ", 20)) }
    }
--- request
GET /z
--- response_headers
!Content-Encoding
--- response_body_like: ^squeeze me



=== TEST 14: a quoted word glued to the next one stops nginx
--- config
    location /glued {
        content_by_lua 'ngx.say(1)'x;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*unexpected "x" in .*nginx\.conf:\d+/



=== TEST 15: a subrequest starts in the server rewrite phase: the server's set runs for it too
--- config
    set $origin "the server's set";
    location /sub {
        content_by_lua_block { ngx.print("sub sees: ", ngx.var.origin) }
    }
    location /main {
        content_by_lua_block {
            local res = ngx.location.capture("/sub")
            ngx.say(res.body)
        }
    }
--- request
GET /main
--- response_body
sub sees: the server's set



=== TEST 16: proxy_pass_request_body off keeps the client's body from the upstream
--- config
    location /up {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/back;
        proxy_pass_request_body off;
        proxy_set_header Content-Length 0;
    }
    location /back {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.say("upstream got: ", ngx.req.get_body_data())
        }
    }
--- request
POST /up
a body that stays behind
--- response_body
upstream got: nil
