# Our own plain Test::Nginx file: the nginx directives the emulation implements beyond
# *_by_lua_block (string and file forms of the Lua hooks, set/set_by_lua, echo, add_header,
# internal, user_files), line numbers as Test::Nginx's nginx.conf has them, and a configuration
# nginx refuses (must_die).
use Test::Nginx::Socket::Lua 'no_plan';

no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: content_by_lua with a quoted string; nginx undoes \\ escapes first
--- config
    location /greet {
        content_by_lua '
            ngx.print("quoted form\\n")
            ngx.say([[two \\ backslashes become one]])
        ';
    }
--- request
GET /greet
--- response_body
quoted form
two \ backslashes become one



=== TEST 2: rewrite_by_lua runs before access_by_lua, which runs before content
--- config
    location /order {
        rewrite_by_lua_block { ngx.ctx.steps = "rewrite" }
        access_by_lua 'ngx.ctx.steps = ngx.ctx.steps .. ",access"';
        content_by_lua_block { ngx.say(ngx.ctx.steps, ",content") }
    }
--- request
GET /order
--- response_body
rewrite,access,content



=== TEST 3: access_by_lua can refuse the request
--- config
    location /closed {
        access_by_lua_block { ngx.exit(ngx.HTTP_FORBIDDEN) }
        content_by_lua_block { ngx.say("never here") }
    }
--- request
GET /closed
--- error_code: 403
--- response_body_like: 403 Forbidden



=== TEST 4: set and set_by_lua run in order; set_by_lua reads its arguments from ngx.arg
--- config
    location /sum {
        set $left 19;
        set_by_lua $total 'return tonumber(ngx.arg[1]) + tonumber(ngx.arg[2])' $left 23;
        set_by_lua_block $label { return "total=" .. ngx.var.total }
        content_by_lua_block { ngx.say(ngx.var.label) }
    }
--- request
GET /sum
--- response_body
total=42



=== TEST 5: echo joins its words with spaces; -n leaves out the newline
--- config
    location /words {
        set $who visitor;
        echo -n "hello,";
        echo " dear" $who;
        echo;
    }
--- request
GET /words
--- response_body eval
"hello, dear visitor\n\n"



=== TEST 6: log_by_lua runs after the response
--- config
    location /logged {
        content_by_lua_block { ngx.say("done") }
        log_by_lua_block { ngx.log(ngx.WARN, "log phase saw status ", ngx.status) }
    }
--- request
GET /logged
--- response_body
done
--- error_log
log phase saw status 200



=== TEST 7: header_filter_by_lua changes headers before they go out
--- config
    location /filtered {
        header_filter_by_lua_block { ngx.header["X-Filtered"] = "phase " .. ngx.get_phase() }
        content_by_lua_block { ngx.say("body") }
    }
--- request
GET /filtered
--- response_headers
X-Filtered: phase header_filter
--- response_body
body



=== TEST 8: add_header applies to successful statuses only, unless "always"
--- config
    location /found {
        add_header X-Plain yes;
        add_header X-Always yes always;
        content_by_lua_block { ngx.say("found") }
    }
    location /missing {
        add_header X-Plain yes;
        add_header X-Always yes always;
        return 404;
    }
--- request eval
["GET /found", "GET /missing"]
--- error_code eval
[200, 404]
--- response_headers eval
["X-Plain: yes\nX-Always: yes", "X-Plain:\nX-Always: yes"]



=== TEST 9: an internal location is not reachable from a client
--- config
    location /hidden {
        internal;
        content_by_lua_block { ngx.say("secret") }
    }
--- request
GET /hidden
--- error_code: 404



=== TEST 10: user_files are served, run by *_by_lua_file and found by require
--- http_config
    lua_package_path '$prefix/html/?.lua;;';
--- config
    location /static {
        default_type text/plain;
        root html;
    }
    location /run {
        content_by_lua_file html/handler.lua;
    }
--- user_files
>>> static/note.txt
a note kept as a user file
>>> handler.lua
local helper = require("helper")
ngx.say(helper.shout("from a file"))
>>> helper.lua
return { shout = function(s) return string.upper(s) end }
--- request eval
["GET /static/note.txt", "GET /run"]
--- response_body eval
["a note kept as a user file\n", "FROM A FILE\n"]



=== TEST 11: inline chunks are named by their line in Test::Nginx's nginx.conf
--- config
    location /broken {
        content_by_lua_block {
            error("on purpose")
        }
    }
--- request
GET /broken
--- error_code: 500
--- error_log
content_by_lua(nginx.conf:40):2: on purpose



=== TEST 12: a directive the emulation lacks stops nginx, as an unknown directive does
--- config
    location /t {
        frobnicate_the_request on;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*unknown directive "frobnicate_the_request" in .*nginx\.conf:40/



=== TEST 13: init_by_lua failing stops nginx
--- http_config
    init_by_lua_block { error("cannot initialise") }
--- config
    location /t {
        return 200;
    }
--- must_die
--- error_log
init_by_lua error: init_by_lua(nginx.conf:25):1: cannot initialise



=== TEST 14: proxy_pass to a location of the same server, the prefix replaced by the URL's URI
--- config
    location /front/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/back/;
    }
    location /back/ {
        content_by_lua_block {
            ngx.say(ngx.var.request_uri, " host=", ngx.var.http_host, " conn=", ngx.var.http_connection,
                    " proto=", ngx.var.server_protocol, " x=", ngx.var.http_x_sent)
        }
    }
--- request
GET /front/page?q=1
--- more_headers
X-Sent: along
--- response_body
/back/page?q=1 host=127.0.0.1:1984 conn=close proto=HTTP/1.0 x=along



=== TEST 15: an upstream block, proxy_set_header and proxy_http_version; the response comes back whole
--- http_config
    upstream backend {
        server 127.0.0.1:$TEST_NGINX_SERVER_PORT;
        keepalive 4;
    }
--- config
    location = /via {
        proxy_http_version 1.1;
        proxy_set_header Host relayed.example;
        proxy_set_header Connection "";
        proxy_pass http://backend/answer;
    }
    location = /answer {
        content_by_lua_block {
            ngx.status = 201
            ngx.header["X-From"] = "answer"
            ngx.say("host=", ngx.var.http_host, " conn=", ngx.var.http_connection or "none",
                    " proto=", ngx.var.server_protocol)
        }
    }
--- request
GET /via
--- error_code: 201
--- response_headers
X-From: answer
--- response_body
host=relayed.example conn=none proto=HTTP/1.1



=== TEST 16: proxy_pass to a port nobody listens on is a 502
--- config
    location = /nowhere {
        proxy_pass http://127.0.0.1:1/;
    }
--- request
GET /nowhere
--- error_code: 502
--- error_log
connect() failed (111: Connection refused) while connecting to upstream



=== TEST 17: rewrite ... last moves the request to the location of the new URI, captures and arguments kept
--- config
    location /old/ {
        rewrite ^/old/(\w+)$ /new/$1?from=old last;
        content_by_lua_block { ngx.say("not here") }
    }
    location /new/ {
        content_by_lua_block { ngx.say(ngx.var.uri, " ", ngx.var.args) }
    }
--- request
GET /old/thing?x=1
--- response_body
/new/thing from=old&x=1



=== TEST 18: rewrite ... break stays in the location; redirect and permanent answer 302 and 301
--- config
    location /stay {
        rewrite ^ /stayed break;
        content_by_lua_block { ngx.say("uri is ", ngx.var.uri) }
    }
    location /moved {
        rewrite ^/moved(.*)$ /elsewhere$1 permanent;
    }
    location /away {
        rewrite ^ http://example.com/away redirect;
    }
--- request eval
["GET /stay", "GET /moved/x", "GET /away"]
--- error_code eval
[200, 301, 302]
--- response_headers eval
["", "Location: http://localhost:1984/elsewhere/x", "Location: http://example.com/away"]
--- response_body_like eval
["^uri is /stayed\n\$", "301 Moved Permanently", "302 Found"]



=== TEST 19: an internal location is reachable through a rewrite
--- config
    location /public {
        rewrite ^ /private last;
    }
    location /private {
        internal;
        content_by_lua_block { ngx.say("reached privately") }
    }
--- request
GET /public
--- response_body
reached privately



=== TEST 20: error_page answers an error from another location, keeping the error's status
--- config
    error_page 404 /sorry;
    location = /sorry {
        content_by_lua_block { ngx.say("nothing here, sorry") }
    }
    location = /gone {
        return 404;
    }
--- request
GET /gone
--- error_code: 404
--- response_body
nothing here, sorry



=== TEST 21: error_page with "=" takes the page's status; "=NNN" sets one; a named location serves it
--- config
    location = /fails {
        error_page 500 = /recover;
        content_by_lua_block { ngx.exit(500) }
    }
    location = /recover {
        content_by_lua_block { ngx.status = 202 ngx.say("recovered from ", ngx.var.uri) }
    }
    location = /denied {
        error_page 403 =410 @named;
        access_by_lua_block { ngx.exit(403) }
        content_by_lua_block { ngx.say("never") }
    }
    location @named {
        content_by_lua_block { ngx.say("named location") }
    }
--- request eval
["GET /fails", "GET /denied"]
--- error_code eval
[202, 410]
--- response_body eval
["recovered from /recover\n", "named location\n"]



=== TEST 22: body_filter_by_lua sees each piece of output and the end; what it leaves in ngx.arg[1] is sent
--- config
    location /shout {
        content_by_lua_block {
            ngx.say("first piece")
            ngx.flush(true)
            ngx.say("second piece")
        }
        body_filter_by_lua_block {
            local data, eof = ngx.arg[1], ngx.arg[2]
            ngx.arg[1] = string.upper(data) .. (eof and "[end]\n" or "")
        }
    }
--- request
GET /shout
--- response_body
FIRST PIECE
SECOND PIECE
[end]



=== TEST 23: server-level set, lua_need_request_body and lua_socket_log_errors apply to every location
--- config
    set $greeting "from the server";
    lua_need_request_body on;
    lua_socket_log_errors off;
    location = /both {
        content_by_lua_block { ngx.say(ngx.var.greeting, "; body=", ngx.var.request_body) }
    }
--- request
POST /both
posted text
--- response_body
from the server; body=posted text



=== TEST 24: lua_package_path and lua_package_cpath: ";;" stands for the default path
--- http_config
    lua_package_path '/opt/mine/?.lua;;';
    lua_package_cpath ';;/opt/mine/?.so';
--- config
    location /t {
        content_by_lua_block {
            local p, cp = package.path, package.cpath
            ngx.say(p:sub(1, 16), " ... ", p:sub(-1))
            ngx.say(cp:sub(1, 1), " ... ", cp:sub(-15))
            ngx.say(p:find("./?.lua", 1, true) ~= nil, " ", cp:find("./?.so", 1, true) ~= nil)
        }
    }
--- request
GET /t
--- response_body
/opt/mine/?.lua; ... ;
; ... ;/opt/mine/?.so
true true



=== TEST 25: an included file's Lua chunks are named after it, a long name cut from the left
--- config
    include ../html/a-file-name-long-enough-to-be-cut-in-chunk-names.conf;
--- user_files
>>> a-file-name-long-enough-to-be-cut-in-chunk-names.conf
    location /long {
        content_by_lua_block {
            error("where am I")
        }
    }
--- request
GET /long
--- error_code: 500
--- error_log
content_by_lua(...g-enough-to-be-cut-in-chunk-names.conf:2):2: where am I



=== TEST 26: include splices a file's locations into the server
--- config
    include ../html/extra-locations.conf;
--- user_files
>>> extra-locations.conf
    location /included {
        content_by_lua_block {
            ngx.say("from the included file")
        }
    }
--- request
GET /included
--- response_body
from the included file



=== TEST 27: an include naming no file stops nginx with open()'s error
--- config
    include ../html/not-there.conf;
--- must_die
--- error_log eval
qr/\[emerg\] .*open\(\) ".*conf\/\.\.\/html\/not-there\.conf" failed \(2: No such file or directory\) in .*nginx\.conf:\d+/
