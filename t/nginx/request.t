# Our own plain Test::Nginx file: ngx.req.* and ngx.var on the request side.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: get_uri_args: repeated keys become a list, bare keys are true, escapes decoded
--- config
    location /t {
        content_by_lua_block {
            local args = ngx.req.get_uri_args()
            local a = args.colour
            ngx.say("colour: ", type(a), " ", a[1], ",", a[2], ",", a[3])
            ngx.say("flag: ", args.flag, ", empty: [", args.empty, "]")
            ngx.say("text: ", args.text)
        }
    }
--- request
GET /t?colour=red&flag&colour=green&empty=&text=two%20words+here&colour=blue
--- response_body
colour: table red,green,blue
flag: true, empty: []
text: two words here



=== TEST 2: get_uri_args honours its max argument
--- config
    location /t {
        content_by_lua_block {
            local args = ngx.req.get_uri_args(2)
            local n = 0
            for _ in pairs(args) do n = n + 1 end
            ngx.say(n, " ", args.a, " ", args.b, " ", args.c)
        }
    }
--- request
GET /t?a=1&b=2&c=3
--- response_body
2 1 2 nil



=== TEST 3: read_body, get_body_data and get_post_args on a form body
--- config
    location /t {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.say("raw: ", ngx.req.get_body_data())
            local post = ngx.req.get_post_args()
            ngx.say("name: ", post.name, "; tags: ", table.concat(post.tag, "|"))
        }
    }
--- request
POST /t
name=J%C3%BCrgen+Doe&tag=x&tag=y
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- response_body
raw: name=J%C3%BCrgen+Doe&tag=x&tag=y
name: Jürgen Doe; tags: x|y



=== TEST 4: a request without a body has no body data after read_body
--- config
    location /t {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.say("body: ", ngx.req.get_body_data())
        }
    }
--- request
POST /t
--- response_body
body: nil



=== TEST 5: get_headers lowercases names, collects repeats, and looks up case-insensitively
--- config
    location /t {
        content_by_lua_block {
            local h = ngx.req.get_headers()
            local dup = h["x-dup"]
            ngx.say("dup: ", type(dup), " ", dup[1], " ", dup[2])
            ngx.say("mixed: ", h["X-Mixed-Case"], " ", h.x_mixed_case, " ", h["x-mixed-case"])
            local raw = ngx.req.get_headers(nil, true)
            ngx.say("raw keeps case: ", raw["X-Mixed-Case"], " ", raw["x-mixed-case"])
        }
    }
--- request
GET /t
--- more_headers
X-Dup: first
X-Mixed-Case: yes
X-Dup: second
--- response_body
dup: table first second
mixed: yes yes yes
raw keeps case: yes nil



=== TEST 6: set_header replaces, adds and (with nil) removes request headers
--- config
    location /t {
        content_by_lua_block {
            ngx.req.set_header("X-Old", "replaced")
            ngx.req.set_header("X-New", "added")
            ngx.req.set_header("X-Drop", nil)
            local h = ngx.req.get_headers()
            ngx.say(h["x-old"], " ", h["x-new"], " ", h["x-drop"])
            ngx.say(ngx.var.http_x_old, " ", ngx.var.http_x_new)
        }
    }
--- request
GET /t
--- more_headers
X-Old: original
X-Drop: bye
--- response_body
replaced added nil
replaced added



=== TEST 7: get_method for several methods
--- config
    location /t {
        content_by_lua_block {
            ngx.say(ngx.req.get_method())
        }
    }
--- request eval
["GET /t", "PUT /t\nbody", "DELETE /t", "PATCH /t\nx"]
--- response_body eval
["GET\n", "PUT\n", "DELETE\n", "PATCH\n"]



=== TEST 8: raw_header keeps the request line, header order and case
--- config
    location /t {
        content_by_lua_block {
            ngx.print(ngx.req.raw_header())
            ngx.print(ngx.req.raw_header(true))
        }
    }
--- request
GET /t?q=1
--- more_headers
X-Zeta: last-letter
Accept: */*
X-Alpha: first-letter
--- response_body eval
"GET /t?q=1 HTTP/1.1\r
Host: localhost\r
Connection: close\r
X-Zeta: last-letter\r
Accept: */*\r
X-Alpha: first-letter\r
\r
Host: localhost\r
Connection: close\r
X-Zeta: last-letter\r
Accept: */*\r
X-Alpha: first-letter\r
\r
"



=== TEST 9: ngx.var: uri, args, request_uri, server_port/addr, http_*, arg_*
--- config
    location /t {
        content_by_lua_block {
            local v = ngx.var
            ngx.say("uri=", v.uri, " args=", v.args, " request_uri=", v.request_uri)
            ngx.say("port=", v.server_port, " addr=", v.server_addr, " method=", v.request_method)
            ngx.say("ua=", v.http_user_agent, " missing=", v.http_x_missing)
            ngx.say("arg_b=", v.arg_b, " arg_none=", v.arg_none)
        }
    }
--- request
GET /t/a%20b?a=1&b=two
--- more_headers
User-Agent: test-agent/1.0
--- response_body
uri=/t/a b args=a=1&b=two request_uri=/t/a%20b?a=1&b=two
port=1984 addr=127.0.0.1 method=GET
ua=test-agent/1.0 missing=nil
arg_b=two arg_none=nil



=== TEST 10: a variable declared with `set` can be read and written from Lua
--- config
    location /t {
        set $my_flag "initial";
        content_by_lua_block {
            ngx.say("before: ", ngx.var.my_flag)
            ngx.var.my_flag = "changed"
            ngx.say("after: ", ngx.var.my_flag)
        }
    }
--- request
GET /t
--- response_body
before: initial
after: changed



=== TEST 11: writing ngx.var.args changes what get_uri_args and arg_* see
--- config
    location /t {
        content_by_lua_block {
            ngx.var.args = "x=9&y=8"
            ngx.say(ngx.var.arg_x, " ", ngx.req.get_uri_args().y, " ", ngx.var.args)
        }
    }
--- request
GET /t?x=1
--- response_body
9 8 x=9&y=8



=== TEST 12: set_uri_args, clear_header and set_body_data change what later calls see
--- config
    location /t {
        content_by_lua_block {
            ngx.req.set_uri_args({ k = "v w", list = { "1", "2" } })
            local args = ngx.req.get_uri_args()
            ngx.say("args: k=", args.k, " list=", table.concat(args.list, "+"))
            ngx.req.clear_header("X-Secret")
            ngx.say("cleared: ", ngx.req.get_headers()["x-secret"], " ", ngx.var.http_x_secret)
            ngx.req.read_body()
            ngx.say("body before: ", ngx.req.get_body_data())
            ngx.req.set_body_data("a=1&b=2")
            ngx.say("body after: ", ngx.req.get_body_data(), " b=", ngx.req.get_post_args().b)
        }
    }
--- request
POST /t?old=1
original
--- more_headers
X-Secret: hidden
Content-Type: application/x-www-form-urlencoded
--- response_body
args: k=v w list=1+2
cleared: nil nil
body before: original
body after: a=1&b=2 b=2



=== TEST 13: a request with 150 header lines is served (nginx limits header bytes, not lines)
--- config
    location /t {
        content_by_lua_block {
            local h = ngx.req.get_headers(200)
            ngx.say(h["x-line-1"], " ", h["x-line-150"])
        }
    }
--- request
GET /t
--- more_headers eval
join "\n", map { "X-Line-$_: v$_" } 1..150
--- response_body
v1 v150



=== TEST 14: get_post_args before the body is read is a Lua error (500)
--- config
    location /t {
        content_by_lua_block {
            local args = ngx.req.get_post_args()
            ngx.say("not reached")
        }
    }
--- request
POST /t
colour=blue
--- error_code: 500
--- error_log
no request body found; maybe you should turn on lua_need_request_body?



=== TEST 15: get_post_args on an empty body that was read: an empty table, no error
--- config
    location /t {
        lua_need_request_body on;
        content_by_lua_block {
            local args, err = ngx.req.get_post_args()
            ngx.say(type(args), " ", next(args), " ", err)
        }
    }
--- request
POST /t
--- response_body
table nil nil



=== TEST 16: get_post_args stops at its max with "truncated" and a debug log line
--- config
    location /t {
        content_by_lua_block {
            ngx.req.read_body()
            local args, err = ngx.req.get_post_args(3)
            local names = {}
            for k in pairs(args) do names[#names + 1] = k end
            table.sort(names)
            ngx.say(table.concat(names, ","), " ", err)
        }
    }
--- request
POST /t
p=1&&q=2&r=3
--- response_body
p,q truncated
--- log_level: debug
--- error_log
lua hit query args limit 3



=== TEST 17: a response built with Perl arrays (push, sort, aliasing foreach, string ranges)
--- config
    location /t {
        content_by_lua_block {
            for _, c in ipairs({"c", "m", "x"}) do ngx.say(c, "=", c:upper()) end
        }
    }
--- request
GET /t
--- response_body eval
my @lines = ('x');
push @lines, 'm', 'c';
my $first = shift @lines;
push @lines, $first;
@lines = sort @lines;
for my $l (@lines) {
    $l .= "=" . uc($l) . "\n";
}
die "string range" unless join(",", 'y' .. 'ab') eq "y,z,aa,ab";
die "last element" unless $lines[-1] eq "x=X\n" && scalar(@lines) == 3;
CORE::join("", @lines)



=== TEST 18: raw_header in a subrequest is the main request's head
--- config
    location /inner {
        content_by_lua_block {
            ngx.print(ngx.req.raw_header())
        }
    }
    location /outer {
        content_by_lua_block {
            local res = ngx.location.capture("/inner", { method = ngx.HTTP_PUT, body = "x" })
            ngx.print(res.body)
        }
    }
--- request
GET /outer?from=client
--- more_headers
X-Sent-By: the test
--- response_body eval
"GET /outer?from=client HTTP/1.1\r
Host: localhost\r
Connection: close\r
X-Sent-By: the test\r
\r
"



=== TEST 19: raw_header keeps bare LF line ends as the client sent them
--- config
    location /t {
        content_by_lua_block {
            ngx.print(ngx.req.raw_header(true))
            ngx.print("--\n", ngx.req.raw_header())
        }
    }
--- raw_request eval
"GET /t HTTP/1.1\nHost: localhost\nX-One: 1\r\nConnection: close\n\n"
--- response_body eval
"Host: localhost\nX-One: 1\r\nConnection: close\n\n--\nGET /t HTTP/1.1\nHost: localhost\nX-One: 1\r\nConnection: close\n\n"
