# Our own plain Test::Nginx file: how the emulated nginx picks a location
# (exact, ^~, regex in order, case-insensitive regex, longest prefix), one request per URI.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_long_string();
no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: exact, ^~ prefix, regex, case-insensitive regex and longest prefix
--- config
    location = /p/exact { return 200 "exact"; }
    location ^~ /p/stop { return 200 "stop"; }
    location ~ \.txt$ { return 200 "regex"; }
    location ~* \.jpg$ { return 200 "regex-nocase"; }
    location /p/ { return 200 "prefix"; }
    location /p/long/ { return 200 "longer-prefix"; }
    location / { return 200 "root"; }
--- request eval
[
    "GET /p/exact",
    "GET /p/exact/below",
    "GET /p/stop/file.txt",
    "GET /p/file.txt",
    "GET /p/photo.JPG",
    "GET /p/long/x",
    "GET /p/long/x.txt",
    "GET /elsewhere",
]
--- response_body eval
[
    "exact",
    "prefix",
    "stop",
    "regex",
    "regex-nocase",
    "longer-prefix",
    "regex",
    "root",
]



=== TEST 2: the first matching regex in config order wins, not the longest
--- config
    location ~ ^/r/ { return 200 "first"; }
    location ~ ^/r/deeper/ { return 200 "second"; }
--- request eval
["GET /r/deeper/x", "GET /r/y"]
--- response_body eval
["first", "first"]



=== TEST 3: a case-sensitive regex does not match other case; nothing else matches: 404
--- config
    location ~ \.txt$ { return 200 "regex"; }
--- request eval
["GET /a.txt", "GET /a.TXT"]
--- error_code eval
[200, 404]
--- response_body_like eval
[qr/^regex$/, qr/404 Not Found/]



=== TEST 4: `location /t` is a prefix match: it also serves /tx and /t/y
--- config
    location /t {
        content_by_lua_block {
            ngx.say("t handles ", ngx.var.uri)
        }
    }
--- request eval
["GET /t", "GET /tx", "GET /t/y"]
--- response_body eval
["t handles /t\n", "t handles /tx\n", "t handles /t/y\n"]



=== TEST 5: locations match the decoded URI
--- config
    location = "/with space" { return 200 "decoded"; }
    location / { return 200 "raw"; }
--- request
GET /with%20space
--- response_body chomp
decoded



=== TEST 6: a regex location keeps its backslash classes, and its captures are $1, $2
--- config
    location ~ ^/v(\d+)/(\w+)\.json$ {
        content_by_lua_block {
            ngx.say("version ", ngx.var[1], ", item ", ngx.var[2])
        }
    }
    location / { return 200 "fallback"; }
--- request eval
["GET /v2/models.json", "GET /v2/models-json"]
--- response_body eval
["version 2, item models\n", "fallback"]



=== TEST 7: ngx.location.capture runs an internal location as a subrequest and returns its status, header and body
--- config
    location = /inner {
        internal;
        content_by_lua_block {
            ngx.req.read_body()
            ngx.status = 201
            ngx.header["X-Inner"] = "yes"
            ngx.print(ngx.req.get_method(), " ", ngx.var.args, " ", ngx.req.get_body_data())
        }
    }
    location = /t {
        content_by_lua_block {
            local res = ngx.location.capture("/inner?a=1",
                { method = ngx.HTTP_POST, args = { b = 2 }, body = "payload" })
            ngx.say(res.status, " ", res.header["X-Inner"], " ", res.body)
            local a, b = ngx.location.capture_multi({ { "/inner", { body = "one" } }, { "/inner", { body = "two" } } })
            ngx.say(a.body, "|", b.body)
        }
    }
--- request
GET /t
--- response_body
201 yes POST a=1&b=2 payload
GET nil one|GET nil two
--- log_level: debug
--- error_log
lua http subrequest "/inner?a=1&b=2"



=== TEST 8: capture's share_all_vars, copy_all_vars and vars options
--- config
    location /peek {
        content_by_lua_block {
            ngx.print(ngx.var.colour, "/", ngx.var.size)
            ngx.var.colour = "changed"
        }
    }
    location /t {
        set $colour "red";
        set $size "";
        content_by_lua_block {
            local r = ngx.location.capture("/peek", { copy_all_vars = true })
            ngx.say("copy: [", r.body, "] ", ngx.var.colour)
            r = ngx.location.capture("/peek", { vars = { size = 42 }, copy_all_vars = true })
            ngx.say("vars: [", r.body, "] ", ngx.var.colour)
            r = ngx.location.capture("/peek", { share_all_vars = true })
            ngx.say("share: [", r.body, "] ", ngx.var.colour)
            local ok, err = pcall(ngx.location.capture, "/peek", { share_all_vars = 1 })
            ngx.say(err)
        }
    }
--- request
GET /t
--- response_body
copy: [red/] red
vars: [red/42] red
share: [red/] changed
Bad share_all_vars option value




=== TEST 9: content_by_lua_file: variables in the path, a #! first line skipped (lines still counted)
--- config
    location ~ ^/run/(\w+)$ {
        content_by_lua_file html/$1.lua;
    }
--- user_files
>>> hello.lua
#!/usr/bin/env luajit
ngx.say("hello from line ", debug.getinfo(1).currentline, ", x=", ngx.var.arg_x)
--- request
GET /run/hello?x=7
--- response_body
hello from line 2, x=7



=== TEST 10: content_by_lua_file naming a missing file: 404 and the loader's error
--- config
    location /t {
        content_by_lua_file html/absent.lua;
    }
--- request
GET /t
--- error_code: 404
--- error_log eval
qr/failed to load external Lua file ".*?absent\.lua": cannot open .*?absent\.lua: No such file or directory/



=== TEST 11: charset adds itself to a Content-Type of charset_types that has none
--- config
    location /plain {
        charset koi8-r;
        content_by_lua_block { ngx.say("plain") }
    }
    location /own {
        charset koi8-r;
        content_by_lua_block {
            ngx.header.content_type = "text/html; charset=utf-8"
            ngx.say("own")
        }
    }
    location /json {
        default_type application/json;
        charset utf-8;
        charset_types application/json;
        lingering_close off;
        content_by_lua_block { ngx.say("{}") }
    }
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            for _, path in ipairs({ "/plain", "/own", "/json" }) do
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("GET " .. path .. " HTTP/1.0\r\nHost: x\r\n\r\n"))
                local data = sock:receive("*a")
                ngx.say(path, ": ", data:match("[Cc]ontent%-[Tt]ype: ([^\r]*)"))
                sock:close()
            end
        }
    }
--- request
GET /t
--- response_body
/plain: text/plain; charset=koi8-r
/own: text/html; charset=utf-8
/json: application/json; charset=utf-8



=== TEST 12: proxy_intercept_errors hands an upstream error with an error_page to that page
--- config
    location = /front {
        proxy_pass http://127.0.0.1:$server_port/failing;
        proxy_intercept_errors on;
        error_page 503 = /sorry;
    }
    location = /plain {
        proxy_pass http://127.0.0.1:$server_port/failing;
    }
    location = /failing {
        return 503 "upstream says no";
    }
    location = /sorry {
        internal;
        content_by_lua_block { ngx.say("sorry page for ", ngx.var.request_uri) }
    }
    location = /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            for _, path in ipairs({ "/front", "/plain" }) do
                assert(sock:connect("127.0.0.1", ngx.var.server_port))
                assert(sock:send("GET " .. path .. " HTTP/1.0\r\nHost: x\r\n\r\n"))
                local data = sock:receive("*a")
                ngx.say(data:match("^HTTP/1%.%d (%d+)"), " ", data:match("\r\n\r\n(.*)$"))
                sock:close()
            end
        }
    }
--- request
GET /t
--- response_body
200 sorry page for /front

503 upstream says no
