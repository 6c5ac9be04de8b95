# Our own plain Test::Nginx file: what the emulated OpenResty does around the content phase:
# output started in access_by_lua, log_by_lua, body_filter_by_lua with ngx.arg, the realip
# module and request bodies kept in temp files.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: printing in access_by_lua sends the headers, so the status set before it stays and ngx.exit keeps the body
--- config
    location /t {
        access_by_lua_block {
            ngx.status = 418
            ngx.print("teapot says no\n")
            ngx.exit(418)
        }
        content_by_lua_block {
            ngx.say("content must not run")
        }
    }
--- request
GET /t
--- error_code: 418
--- response_body
teapot says no



=== TEST 2: output started in access_by_lua ends the request there (no ngx.exit)
--- config
    location /t {
        access_by_lua_block {
            ngx.say("only from access")
        }
        content_by_lua_block {
            ngx.say("content must not run")
        }
    }
--- request
GET /t
--- response_body
only from access



=== TEST 3: ngx.status after the first output is refused with nginx's error line
--- config
    location /t {
        content_by_lua_block {
            ngx.say("first")
            ngx.status = 503
            ngx.say("second")
        }
    }
--- request
GET /t
--- error_code: 200
--- response_body
first
second
--- error_log
attempt to set ngx.status after sending out response headers



=== TEST 4: log_by_lua runs after the response and sees ngx.ctx of the request
--- config
    location /t {
        access_by_lua_block {
            ngx.ctx.marker = "from-access"
        }
        content_by_lua_block {
            ngx.say("body")
        }
        log_by_lua_block {
            ngx.log(ngx.WARN, "in log phase: ", ngx.ctx.marker, " status ", ngx.var.status)
        }
    }
--- request
GET /t
--- response_body
body
--- error_log
in log phase: from-access status 200



=== TEST 5: body_filter_by_lua sees every chunk, then an empty last one with eof, and replaces them
--- config
    location /t {
        content_by_lua_block {
            ngx.print("one,")
            ngx.print("two")
        }
        body_filter_by_lua_block {
            local chunk, eof = ngx.arg[1], ngx.arg[2]
            ngx.log(ngx.WARN, "chunk [", chunk, "] eof ", tostring(eof))
            if eof then
                ngx.arg[1] = "|end\n"
            else
                ngx.arg[1] = string.upper(chunk)
            end
        }
    }
--- request
GET /t
--- response_body
ONE,TWO|end
--- grep_error_log eval
qr/chunk \[[^\]]*\] eof \w+/
--- grep_error_log_out
chunk [one,] eof false
chunk [two] eof false
chunk [] eof true



=== TEST 6: a body filter that drops chunks (ngx.arg[1] = nil) and a table assigned to ngx.arg[1]
--- config
    location /t {
        content_by_lua_block {
            ngx.print("dropped")
        }
        body_filter_by_lua_block {
            if ngx.arg[2] then
                ngx.arg[1] = {"kept", "\n"}
            else
                ngx.arg[1] = nil
            end
        }
    }
--- request
GET /t
--- response_body
kept



=== TEST 7: realip: a trusted peer's X-Real-IP becomes remote_addr; realip_remote_addr keeps the peer
--- config
    location /t {
        real_ip_header X-Real-IP;
        set_real_ip_from 127.0.0.0/8;
        content_by_lua_block {
            ngx.say(ngx.var.remote_addr, " via ", ngx.var.realip_remote_addr)
        }
    }
--- request
GET /t
--- more_headers
X-Real-IP: 192.0.2.7
--- response_body
192.0.2.7 via 127.0.0.1



=== TEST 8: realip with X-Forwarded-For takes the last address; an untrusted peer is left alone
--- config
    location /t {
        real_ip_header X-Forwarded-For;
        set_real_ip_from 127.0.0.1;
        content_by_lua_block {
            ngx.say(ngx.var.remote_addr)
        }
    }
    location /untrusted {
        real_ip_header X-Forwarded-For;
        set_real_ip_from 198.51.100.0/24;
        content_by_lua_block {
            ngx.say(ngx.var.remote_addr)
        }
    }
--- pipelined_requests eval
["GET /t", "GET /untrusted"]
--- more_headers
X-Forwarded-For: 203.0.113.1, 203.0.113.9
--- response_body eval
["203.0.113.9\n", "127.0.0.1\n"]



=== TEST 9: client_body_in_file_only keeps the body in a temp file: no body data, a file with the bytes
--- config
    location /t {
        client_body_in_file_only clean;
        content_by_lua_block {
            ngx.req.read_body()
            ngx.say("data: ", ngx.req.get_body_data())
            local name = ngx.req.get_body_file()
            local f = assert(io.open(name, "rb"))
            ngx.say("file: ", f:read("*a"))
            f:close()
            ngx.say(select(2, ngx.req.get_post_args()))
        }
    }
--- request
POST /t
k=v&w=x
--- response_body
data: nil
file: k=v&w=x
request body in temp file not supported



=== TEST 10: a body the head's buffer cannot hold and larger than client_body_buffer_size goes to a file; set_body_data brings it back to memory
--- config
    location /t {
        client_body_buffer_size 4;
        content_by_lua_block {
            ngx.req.read_body()
            ngx.say(ngx.req.get_body_data(), " ", ngx.req.get_body_file() ~= nil)
            ngx.req.set_body_data("tiny")
            ngx.say(ngx.req.get_body_data(), " ", ngx.req.get_body_file() ~= nil)
        }
    }
--- request eval
"POST /t\n" . ("0123456789" x 200)
--- response_body
nil true
tiny false



=== TEST 11: client_body_buffer_size at http level applies to a location without its own, with nginx's warn line
--- http_config
    client_body_buffer_size 8;
--- config
    location /t {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.say(ngx.req.get_body_data(), " ", ngx.req.get_body_file() ~= nil)
            -- LuaJIT truncates a fractional count where Lua 5.4 would raise
            ngx.say(string.rep("ab", 2.7), " ", ("pebble"):sub(1.9, 3.2))
        }
    }
--- request eval
"POST /t\n" . ("abcdefghij" x 300)
--- response_body
nil true
abab peb
--- error_log
a client request body is buffered to a temporary file



=== TEST 12: a body that came whole with the request head stays in memory, however small client_body_buffer_size is
--- config
    location /t {
        client_body_buffer_size 4;
        content_by_lua_block {
            ngx.req.read_body()
            ngx.say(ngx.req.get_body_data(), " ", ngx.req.get_body_file() ~= nil)
        }
    }
--- request
POST /t
longer than four
--- response_body
longer than four false
--- no_error_log
buffered to a temporary file



=== TEST 13: what is left after the head's buffer stays in memory when it fits client_body_buffer_size and a quarter, else it goes to a file
--- config
    location /t {
        client_body_buffer_size 1k;
        content_by_lua_block {
            ngx.req.read_body()
            local data = ngx.req.get_body_data()
            ngx.say(data and #data or "nil", " ", ngx.req.get_body_file() ~= nil)
        }
    }
--- pipelined_requests eval
["POST /t\n" . ("x" x 2000), "POST /t\n" . ("x" x 2600)]
--- response_body eval
["2000 false\n", "nil true\n"]



=== TEST 14: deny all refuses in the access phase, after rewrite_by_lua had its turn
--- config
    location /t {
        deny all;
        rewrite_by_lua_block { ngx.log(ngx.WARN, "rewrite ran first") }
        content_by_lua_block { ngx.say("never") }
    }
--- request
GET /t
--- error_code: 403
--- response_body_like: 403 Forbidden
--- error_log
rewrite ran first
access forbidden by rule



=== TEST 15: satisfy any: access_by_lua ending normally grants what deny refused; declining does not
--- config
    location /granted {
        satisfy any;
        deny all;
        access_by_lua_block { return }
        content_by_lua_block { ngx.say("in") }
    }
    location /declined {
        satisfy any;
        deny all;
        access_by_lua_block { ngx.exit(ngx.DECLINED) }
        content_by_lua_block { ngx.say("in") }
    }
--- request eval
["GET /granted", "GET /declined"]
--- error_code eval
[200, 403]
--- response_body_like eval
["^in\n\$", "403 Forbidden"]



=== TEST 16: rewrite_by_lua_no_postpone runs the server's Lua rewrite before the location's rewrite directive
--- http_config
    rewrite_by_lua_no_postpone on;
--- config
    rewrite_by_lua_block {
        ngx.log(ngx.WARN, "lua rewrite saw ", ngx.var.uri)
    }
    location /old {
        rewrite ^ /new;
    }
    location /new {
        content_by_lua_block { ngx.say("at ", ngx.var.uri) }
    }
--- request
GET /old
--- response_body
at /new
--- error_log
lua rewrite saw /old
lua rewrite saw /new



=== TEST 17: header_filter_by_lua raising error(nil): "unknown reason", no response at all
--- config
    location /t {
        content_by_lua_block { ngx.say("never seen") }
        header_filter_by_lua_block { error(nil) }
    }
--- request
GET /t
--- ignore_response
--- error_log
failed to run header_filter_by_lua*: unknown reason



=== TEST 18: a request that used ngx.ctx releases it when it ends
--- log_level: debug
--- config
    location /t {
        content_by_lua_block {
            ngx.ctx.visits = 1
            ngx.say("visits: ", ngx.ctx.visits)
        }
    }
--- request
GET /t
--- response_body
visits: 1
--- error_log
lua release ngx.ctx
