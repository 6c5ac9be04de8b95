# Our own plain Test::Nginx file: lua-resty-http between the 1984 server and a second server on
# 1985 (request_uri, the streaming body_reader, headers, errors).
# Real nginx has no such library of its own: under `diff`, point the real side at APISIX's Lua
# dependencies with --lua-path (see docs/runner.md).
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_long_string();
no_shuffle();

# Our runner has resty.http built in. Real nginx needs lua-resty-http (and the lua-resty-string
# it loads) on its Lua path: set TEST_NGINX_RESTY_HTTP_PATH to a Lua path naming them, e.g.
# "/opt/lua-resty-http/lib/?.lua;/opt/lua-resty-string/lib/?.lua" (default: where luarocks puts them).
$ENV{TEST_NGINX_RESTY_HTTP_PATH} //= "/usr/local/share/lua/5.1/?.lua";
add_block_preprocessor(sub {
    my $block = shift;
    my $http_config = $block->http_config // "";
    $block->set_value("http_config", "    lua_package_path \"\$TEST_NGINX_RESTY_HTTP_PATH;;\";\n" . $http_config);
});

run_tests();

__DATA__

=== TEST 1: request_uri with method, body, headers and a query table
--- http_config
    server {
        listen 1985;
        location /echo {
            content_by_lua_block {
                ngx.req.read_body()
                local args = ngx.req.get_uri_args()
                ngx.header["X-Echo-Method"] = ngx.req.get_method()
                ngx.say(ngx.var.uri, " a=", args.a, " b=", args.b,
                        " tag=", ngx.var.http_x_tag, " body=", ngx.req.get_body_data())
            }
        }
    }
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local httpc = http.new()
            local res, err = httpc:request_uri("http://127.0.0.1:1985/echo?a=1", {
                method = "POST",
                body = "some payload",
                headers = { ["X-Tag"] = "blue" },
                query = { b = "two" },
                keepalive = false,
            })
            if not res then
                ngx.say("failed: ", err)
                return
            end
            ngx.say(res.status, " ", res.headers["X-Echo-Method"], " ", res.headers["x-echo-method"])
            ngx.print(res.body)
        }
    }
--- request
GET /t
--- response_body
200 POST POST
/echo a=nil b=two tag=blue body=some payload



=== TEST 2: request_uri reports the other server's status and body as they are
--- http_config
    server {
        listen 1985;
        location /teapot {
            content_by_lua_block {
                ngx.status = 418
                ngx.header["Content-Type"] = "text/x-tea"
                ngx.print("short and stout")
            }
        }
    }
--- config
    location /t {
        content_by_lua_block {
            local res = assert(require("resty.http").new():request_uri("http://127.0.0.1:1985/teapot"))
            ngx.say(res.status, " ", res.headers["Content-Type"], " ", res.body)
            local missing = assert(require("resty.http").new():request_uri("http://127.0.0.1:1985/nowhere"))
            ngx.say(missing.status)
        }
    }
--- request
GET /t
--- response_body
418 text/x-tea short and stout
404



=== TEST 3: body_reader returns one chunk per flush of the other server
--- http_config
    server {
        listen 1985;
        location /chunks {
            content_by_lua_block {
                for i = 1, 3 do
                    ngx.say("chunk ", i)
                    ngx.flush(true)
                    ngx.sleep(0.05)
                end
            }
        }
    }
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local httpc = http.new()
            assert(httpc:connect({ scheme = "http", host = "127.0.0.1", port = 1985 }))
            local res = assert(httpc:request({ method = "GET", path = "/chunks", headers = { Host = "localhost" } }))
            local reader = res.body_reader
            local n = 0
            while true do
                local chunk, err = reader()
                if err then ngx.say("error: ", err) break end
                if not chunk then break end
                n = n + 1
                ngx.print(n, ": ", chunk)
            end
            ngx.say("chunks: ", n)
            httpc:close()
        }
    }
--- request
GET /t
--- response_body
1: chunk 1
2: chunk 2
3: chunk 3
chunks: 3



=== TEST 4: request then read_body collects the whole body
--- http_config
    server {
        listen 1985;
        location /whole {
            content_by_lua_block {
                ngx.say("part one")
                ngx.flush(true)
                ngx.say("part two")
            }
        }
    }
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            assert(httpc:connect("127.0.0.1", 1985))
            local res = assert(httpc:request({ path = "/whole" }))
            local body = assert(res:read_body())
            ngx.print(res.status, "\n", body)
            httpc:close()
        }
    }
--- request
GET /t
--- response_body
200
part one
part two



=== TEST 5: a refused connection is an error, not a response
--- config
    location /t {
        content_by_lua_block {
            local res, err = require("resty.http").new():request_uri("http://127.0.0.1:1986/x")
            ngx.say(res, " ", err)
        }
    }
--- request
GET /t
--- response_body
nil connection refused



=== TEST 6: the server can call itself on 1984 while its own handler waits
--- config
    location /inner {
        content_by_lua_block {
            ngx.say("inner saw ", ngx.var.request_method, " ", ngx.var.args)
        }
    }
    location /t {
        content_by_lua_block {
            local res = assert(require("resty.http").new():request_uri(
                "http://127.0.0.1:" .. ngx.var.server_port .. "/inner?from=outer"))
            ngx.print("outer got: ", res.body)
        }
    }
--- request
GET /t
--- response_body
outer got: inner saw GET from=outer
