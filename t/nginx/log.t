# Our own plain Test::Nginx file: ngx.log and print() lines in the error log, the log level
# filter, and the runner's error_log / no_error_log / grep_error_log sections.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: each level is written with its own tag; debug is below the file's log level
--- config
    location /t {
        content_by_lua_block {
            ngx.log(ngx.ERR, "an error line")
            ngx.log(ngx.WARN, "a warn line")
            ngx.log(ngx.NOTICE, "a notice line")
            ngx.log(ngx.INFO, "an info line")
            ngx.log(ngx.DEBUG, "a debug line")
            ngx.say("logged")
        }
    }
--- request
GET /t
--- response_body
logged
--- error_log
[error]
an error line
[warn]
a warn line
[notice]
a notice line
[info]
an info line
--- no_error_log
a debug line
[debug]



=== TEST 2: a log line names the Lua chunk and line, then the request context
--- config
    location /t {
        content_by_lua_block {
            ngx.log(ngx.WARN, "where am I")
            ngx.say("ok")
        }
    }
--- request
GET /t?x=1
--- response_body
ok
--- error_log eval
qr/\[warn\] \d+#\d+: \*\d+ \[lua\] content_by_lua\(nginx\.conf:\d+\):2: where am I, client: 127\.0\.0\.1, server: localhost, request: "GET \/t\?x=1 HTTP\/1\.1", host: "localhost"/



=== TEST 3: arguments are concatenated the way ngx.say does it
--- config
    location /t {
        content_by_lua_block {
            ngx.log(ngx.WARN, "n=", 10 / 2, " f=", 0.25, " b=", true, " nil=", nil, " null=", ngx.null)
            ngx.say("ok")
        }
    }
--- request
GET /t
--- response_body
ok
--- error_log
n=5 f=0.25 b=true nil=nil null=null



=== TEST 4: print() logs at notice level
--- config
    location /t {
        content_by_lua_block {
            print("from print ", 3)
            ngx.say("ok")
        }
    }
--- request
GET /t
--- response_body
ok
--- error_log eval
qr/\[notice\] .*from print 3/



=== TEST 5: grep_error_log collects every match, in order
--- config
    location /t {
        content_by_lua_block {
            for i = 1, 3 do
                ngx.log(ngx.INFO, "tick ", i, " of 3")
            end
            ngx.log(ngx.INFO, "tock")
            ngx.say("ok")
        }
    }
--- request
GET /t
--- response_body
ok
--- grep_error_log eval
qr/tick \d+/
--- grep_error_log_out
tick 1
tick 2
tick 3



=== TEST 6: grep_error_log with a plain string pattern
--- config
    location /t {
        content_by_lua_block {
            ngx.log(ngx.WARN, "repeat me")
            ngx.log(ngx.WARN, "repeat me")
            ngx.say("ok")
        }
    }
--- request
GET /t
--- response_body
ok
--- grep_error_log: repeat me
--- grep_error_log_out
repeat me
repeat me



=== TEST 7: error_log patterns may be several, each a literal substring
--- config
    location /t {
        content_by_lua_block {
            ngx.log(ngx.WARN, "price: $5 (approx.) [sale]")
            ngx.say("ok")
        }
    }
--- request
GET /t
--- response_body
ok
--- error_log
price: $5 (approx.)
[sale]
--- no_error_log
price: $6



=== TEST 8: a runtime error logs the chunk position and traceback at error level
--- config
    location /t {
        content_by_lua_block {
            local t = nil
            return t.field
        }
    }
--- request
GET /t
--- error_code: 500
--- error_log eval
[
    qr/\[error\] .*lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):3: attempt to index/,
    qr/stack traceback:/,
]



=== TEST 9: the levels above error have their own tags too; stderr's tag is empty
--- config
    location /t {
        content_by_lua_block {
            ngx.log(ngx.CRIT, "a crit line")
            ngx.log(ngx.ALERT, "an alert line")
            ngx.log(ngx.EMERG, "an emerg line")
            ngx.log(ngx.STDERR, "a stderr line")
            ngx.say(ngx.STDERR, " ", ngx.EMERG, " ", ngx.ALERT, " ", ngx.CRIT, " ", ngx.ERR,
                " ", ngx.WARN, " ", ngx.NOTICE, " ", ngx.INFO, " ", ngx.DEBUG)
        }
    }
--- request
GET /t
--- response_body
0 1 2 3 4 5 6 7 8
--- error_log eval
[
    qr/\[crit\] .*a crit line/,
    qr/\[alert\] .*an alert line/,
    qr/\[emerg\] .*an emerg line/,
    qr/ \[\] \d+#\d+: \*\d+ .*a stderr line/,
]



=== TEST 10: a level raised by log_level hides info lines: with warn, info is not written
--- config
    location /t {
        content_by_lua_block {
            ngx.log(ngx.INFO, "quiet info line")
            ngx.log(ngx.WARN, "loud warn line")
            ngx.say("done")
        }
    }
--- log_level: warn
--- request
GET /t
--- response_body
done
--- error_log
loud warn line
--- no_error_log
quiet info line



=== TEST 11: the access log has the request in nginx's combined format
--- config
    location /t {
        content_by_lua_block {
            ngx.say("logged")
        }
    }
--- request
GET /t?x=1
--- more_headers
User-Agent: access-log-probe
--- response_body
logged
--- access_log eval
qr/^127\.0\.0\.1 - - \[\d+\/\w+\/\d+:\d+:\d+:\d+ [+-]\d{4}\] "GET \/t\?x=1 HTTP\/1\.1" 200 \d+ "-" "access-log-probe"$/
--- no_access_log
GET /elsewhere



=== TEST 12: a log line's client is the address realip put in place
--- http_config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Real-IP;
--- config
    location /t {
        content_by_lua_block {
            ngx.log(ngx.WARN, "seen")
            ngx.say(ngx.var.remote_addr)
        }
    }
--- request
GET /t
--- more_headers
X-Real-IP: 10.0.0.9
--- response_body
10.0.0.9
--- error_log eval
qr/seen, client: 10\.0\.0\.9, server: localhost, request: "GET \/t HTTP\/1\.1"/



=== TEST 13: a line from the log phase says the request is being logged; content's does not
--- config
    location /t {
        content_by_lua_block {
            ngx.log(ngx.WARN, "from content")
            ngx.say("ok")
        }
        log_by_lua_block {
            ngx.log(ngx.WARN, "from log")
        }
    }
--- request
GET /t
--- response_body
ok
--- error_log eval
[qr/from content, client: 127\.0\.0\.1, server: localhost, request: "GET \/t HTTP\/1\.1"/,
qr/from log while logging request, client: 127\.0\.0\.1, server: localhost, request: "GET \/t HTTP\/1\.1"/]
