# Our own plain Test::Nginx file: ngx.exec, ngx.redirect and ngx.sleep argument checks, ngx.exit
# after the headers, user threads the handler waits for, server-level Lua phases, and a few
# directives (lua_need_request_body levels, client_body_timeout, *_by_lua_file paths).
use Test::Nginx::Socket::Lua 'no_plan';

our $HtmlDir = html_dir;

no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: ngx.exec to a URI (its own args first, then the extra ones) and to a named location
--- config
    location /from {
        rewrite_by_lua_block {
            ngx.ctx.mark = "set before exec"
            if ngx.var.arg_named then
                ngx.exec("@named")
            end
            ngx.exec("/to?x=1", { y = 2 })
        }
    }
    location /to {
        content_by_lua_block {
            ngx.say("to: ", ngx.var.uri, " ", ngx.var.args, " ctx: ", tostring(ngx.ctx.mark))
        }
    }
    location @named {
        content_by_lua_block {
            ngx.say("named: ", ngx.var.uri, " ", ngx.var.args)
        }
    }
--- request eval
["GET /from", "GET /from?named=1"]
--- response_body eval
["to: /to x=1&y=2 ctx: nil\n", "named: /from named=1\n"]
--- no_error_log
[error]



=== TEST 2: ngx.exec argument errors
--- config
    location /t {
        content_by_lua_block {
            local function try(f)
                local ok, err = pcall(f)
                ngx.say((err:gsub("^.-:%d+: ", "")))
            end
            try(function() ngx.exec() end)
            try(function() ngx.exec("") end)
            try(function() ngx.exec(nil) end)
            try(function() ngx.exec("/a", true) end)
        }
    }
--- request
GET /t
--- response_body
expecting one or two arguments, but got 0
The uri argument is empty
bad argument #1 to 'exec' (string expected, got nil)
bad argument #2 to 'exec' (string, number, or table expected, but got boolean)



=== TEST 3: ngx.redirect and ngx.sleep argument errors
--- config
    location /t {
        content_by_lua_block {
            local function try(f)
                local ok, err = pcall(f)
                ngx.say((err:gsub("^.-:%d+: ", "")))
            end
            try(function() ngx.redirect() end)
            try(function() ngx.redirect("/x", 200) end)
            try(function() ngx.sleep() end)
            try(function() ngx.sleep("soon") end)
            try(function() ngx.sleep(-1) end)
        }
    }
--- request
GET /t
--- response_body
expecting one or two arguments
only ngx.HTTP_MOVED_TEMPORARILY, ngx.HTTP_MOVED_PERMANENTLY, ngx.HTTP_PERMANENT_REDIRECT, ngx.HTTP_SEE_OTHER, and ngx.HTTP_TEMPORARY_REDIRECT are allowed
attempt to pass 0 arguments, but accepted 1
bad argument #1 to 'sleep' (number expected, got string)
invalid sleep duration "-1000"



=== TEST 4: ngx.sleep in a filter is refused; its debug lines
--- config
    location /t {
        header_filter_by_lua_block {
            local ok, err = pcall(ngx.sleep, 0.001)
            ngx.log(ngx.WARN, "filter sleep: ", err)
        }
        content_by_lua_block {
            ngx.sleep(0.001)
            ngx.say("slept")
        }
    }
--- request
GET /t?k=v
--- response_body
slept
--- error_log
lua ready to sleep for 1 ms
lua sleep timer expired: "/t?k=v"
API disabled in the context of header_filter_by_lua*



=== TEST 5: ngx.exit with an error status after the headers went out: logged, 200 it is
--- config
    location /t {
        content_by_lua_block {
            ngx.say("partial")
            ngx.flush(true)
            ngx.exit(503)
        }
    }
--- request
GET /t
--- response_body
partial
--- error_log
attempt to set status 503 via ngx.exit after sending out the response status 200



=== TEST 6: the handler waits for its user threads; a failing one is logged in LuaJIT's words
--- config
    location /t {
        content_by_lua_block {
            ngx.thread.spawn(function()
                ngx.sleep(0.01)
                ngx.say("thread done")
            end)
            ngx.thread.spawn(function()
                local t = {}
                t.missing()
            end)
            ngx.say("entry done")
        }
    }
--- request
GET /t
--- response_body
entry done
thread done
--- error_log eval
qr/lua user thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):\d+: attempt to call field 'missing' \(a nil value\)/



=== TEST 7: ngx.exit in a user thread ends the request and the other threads
--- config
    location /t {
        content_by_lua_block {
            ngx.thread.spawn(function()
                ngx.sleep(0.01)
                ngx.say("never")
            end)
            ngx.thread.spawn(function()
                ngx.say("exiting")
                ngx.exit(200)
            end)
            ngx.sleep(0.05)
            ngx.say("never either")
        }
    }
--- request
GET /t
--- response_body
exiting



=== TEST 8: a rewrite_by_lua in server{} runs for locations without their own; output there ends the request
--- config
    rewrite_by_lua_block {
        ngx.header["X-Server-Rewrite"] = "yes"
    }
    location /own {
        rewrite_by_lua_block {
            ngx.say("own rewrite")
        }
        content_by_lua_block {
            ngx.say("not reached")
        }
    }
    location /inherit {
        content_by_lua_block {
            ngx.say("content")
        }
    }
--- request eval
["GET /own", "GET /inherit"]
--- response_body eval
["own rewrite\n", "content\n"]
--- response_headers eval
["X-Server-Rewrite:", "X-Server-Rewrite: yes"]



=== TEST 9: lua_need_request_body in http{}, and off in a location
--- http_config
    lua_need_request_body on;
--- config
    location /on {
        content_by_lua_block { ngx.say(ngx.var.request_body) }
    }
    location /off {
        lua_need_request_body off;
        content_by_lua_block { ngx.say(ngx.var.request_body) }
    }
--- request eval
["POST /on\nabc", "POST /off\nabc"]
--- response_body eval
["abc\n", "nil\n"]



=== TEST 10: quote_sql_str escapes as MySQL does
--- config
    location /t {
        content_by_lua_block {
            ngx.say(ngx.quote_sql_str("a'b\"c\\d\ne\rf\tg\0h\26i"))
        }
    }
--- request
GET /t
--- response_body
'a\'b\"c\\d\ne\rf\tg\0h\Zi'



=== TEST 11: a subrequest shares or copies the parent's variables on request, and skips access
--- config
    location /sub {
        access_by_lua_block { ngx.say("access ran") }
        set $from_sub "sub";
        content_by_lua_block { ngx.print("sub sees ", ngx.var.from_parent) }
    }
    location /t {
        set $from_parent "parent";
        set $from_sub "";
        content_by_lua_block {
            local res = ngx.location.capture("/sub", { copy_all_vars = true })
            ngx.say(res.body, "; after copy: [", ngx.var.from_sub, "]")
            res = ngx.location.capture("/sub", { share_all_vars = true })
            ngx.say(res.body, "; after share: [", ngx.var.from_sub, "]")
        }
    }
--- request
GET /t
--- response_body
sub sees parent; after copy: []
sub sees parent; after share: [sub]



=== TEST 12: *_by_lua_file with a variable in its path
--- config
    location ~ ^/run/(\w+)$ {
        rewrite_by_lua_file html/$1.lua;
        content_by_lua_block { ngx.say("not reached") }
    }
--- user_files
>>> here.lua
ngx.say("file ran")
--- request
GET /run/here
--- response_body
file ran



=== TEST 13: a *_by_lua_file that is missing answers 404
--- config
    location /gone {
        rewrite_by_lua_file html/gone.lua;
    }
--- request
GET /gone
--- error_code: 404
--- error_log eval
qr/failed to load external Lua file ".*?gone\.lua": cannot open .*? No such file or directory/



=== TEST 14: cosockets without a resolver, and a closed one
--- config
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            ngx.say(sock:connect("example.invalid", 80))
            ngx.say(sock:send("x"))
            ngx.say(sock:connect("unix:/tmp/lnm-no-such.sock"))
            ngx.say(sock:connect("/tmp/lnm-other.sock"))
        }
    }
--- request
GET /t
--- response_body
nilno resolver defined to resolve "example.invalid"
nilclosed
nilno such file or directory
nilmissing the port number
--- error_log eval
[qr/attempt to send data on a closed socket: u:/, qr/\[crit\] .*? connect\(\) to unix:\/tmp\/lnm-no-such\.sock failed/]



=== TEST 15: client_body_timeout: a body that does not arrive ends the request with no response
--- config
    client_body_timeout 50ms;
    location /t {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.say("never")
        }
    }
--- raw_request eval
"POST /t HTTP/1.1\r
Host: localhost\r
Content-Length: 10\r
Connection: close\r
\r
abc"
--- response_body:
--- error_code_like: ^$
--- no_error_log
[error]



=== TEST 16: ngx.exit(201) with no status set yet answers 201
--- config
    location /t {
        content_by_lua_block { ngx.exit(ngx.HTTP_CREATED) }
    }
--- request
GET /t
--- error_code: 201
--- response_body



=== TEST 17: ngx.exit(204) answers 204 with neither body nor Content-Type
--- config
    location /t {
        default_type text/html;
        content_by_lua_block { ngx.exit(ngx.HTTP_NO_CONTENT) }
    }
--- request
GET /t
--- error_code: 204
--- response_body
--- raw_response_headers_unlike: Content-Type
