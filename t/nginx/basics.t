# Our own plain Test::Nginx file: the basic ngx output and request APIs.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: ngx.say prints numbers the LuaJIT way
--- config
    location /t {
        content_by_lua_block {
            ngx.say("half of ten is ", 10 / 2, ", ", nil, ", ", true)
        }
    }
--- request
GET /t
--- response_body
half of ten is 5, nil, true



=== TEST 2: status and headers set before the first byte
--- config
    location /t {
        content_by_lua_block {
            ngx.status = 201
            ngx.header["X-Answer"] = 42
            ngx.print("made")
        }
    }
--- request
GET /t
--- error_code: 201
--- response_headers
X-Answer: 42
--- response_body chomp
made



=== TEST 3: request body, method, args and lowercased header names
--- config
    location /t {
        content_by_lua_block {
            ngx.req.read_body()
            local args = ngx.req.get_uri_args()
            local h = ngx.req.get_headers()
            ngx.say(ngx.req.get_method(), " ", ngx.req.get_body_data(), " ", args.a, " ", h["x-custom"], " ", h.X_Custom)
        }
    }
--- request
POST /t?a=1&b=2
hello body
--- more_headers
X-Custom: yes
--- response_body
POST hello body 1 yes yes



=== TEST 4: ngx.log lines reach the error log with their level
--- config
    location /t {
        content_by_lua_block {
            ngx.log(ngx.WARN, "something to note: ", 7)
            ngx.say("ok")
        }
    }
--- request
GET /t
--- response_body
ok
--- error_log
something to note: 7
--- no_error_log
[error]



=== TEST 5: a Lua error is a 500 with the error logged
--- config
    location /t {
        content_by_lua_block {
            error("deliberate failure")
        }
    }
--- request
GET /t
--- error_code: 500
--- error_log
deliberate failure



=== TEST 6: location precedence: exact, ^~, regex, longest prefix, seen through cosockets to the same server
--- config
    location = /p/exact { return 200 "exact"; }
    location ^~ /p/stop { return 200 "stop"; }
    location ~ ^/p/.*\.txt$ { return 200 "regex"; }
    location /p/ { return 200 "prefix"; }
    location /t {
        content_by_lua_block {
            local out = {}
            for _, p in ipairs({"/p/exact", "/p/stop/a.txt", "/p/x.txt", "/p/other"}) do
                local sock = ngx.socket.tcp()
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("GET " .. p .. " HTTP/1.0\r\nHost: localhost\r\n\r\n"))
                local reply = assert(sock:receive("*a"))
                sock:close()
                out[#out + 1] = reply:match("\r\n\r\n(.*)$")
            end
            ngx.say(table.concat(out, " "))
        }
    }
--- request
GET /t
--- response_body
exact stop regex prefix



=== TEST 7: Test::Nginx's own root location serves html/index.html for / and by name
--- config
    location /t {
        return 200 "t";
    }
--- request eval
["GET /", "GET /index.html"]
--- error_code eval
[200, 200]
--- response_headers eval
["Content-Type: text/html", "Content-Type: text/html"]
--- response_body_like eval
[qr{<title>It works!</title>}, qr{<body>It works!</body>}]
--- no_error_log
[error]



=== TEST 8: through the root location a missing file is a 404 with nginx's open() error line
--- config
    location /t {
        return 200 "t";
    }
--- request
GET /no-such-file.txt
--- error_code: 404
--- response_body_like: <title>404 Not Found</title>
--- error_log eval
qr{\[error\] .*open\(\) ".*/html/no-such-file\.txt" failed \(2: No such file or directory\)}



=== TEST 9: ngx.config names the nginx and ngx_lua of Debian's packages, the real side plain files are diffed against
--- config
    location /t {
        content_by_lua_block {
            ngx.say(ngx.config.nginx_version, " ", ngx.config.ngx_lua_version)
        }
    }
--- request
GET /t
--- response_body
1022001 10023



=== TEST 10: nginx's own error page names Debian's nginx
--- config
    location /t {
        return 503;
    }
--- request
GET /t
--- error_code: 503
--- response_body eval
"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n"
