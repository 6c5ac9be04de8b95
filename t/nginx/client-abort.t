# Our own plain Test::Nginx file: a client that goes away while Lua runs (lua_check_client_abort,
# ngx.on_abort), and a client that half-closes its socket. The sleeps and waits leave the abort
# (0.1-0.2 s in) a margin of most of a second on either side: a loaded machine is late by tenths.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: with the check on, a client leaving mid-sleep ends the request; the log phase still runs
--- config
    location /t {
        lua_check_client_abort on;
        content_by_lua_block {
            ngx.sleep(2)
            ngx.log(ngx.WARN, "should not wake up")
        }
        log_by_lua_block {
            ngx.log(ngx.WARN, "logged with status ", ngx.status)
        }
    }
--- request
GET /t
--- timeout: 0.2
--- abort
--- ignore_response
--- wait: 1
--- error_log
client prematurely closed connection
logged with status 499
--- no_error_log
should not wake up
[error]



=== TEST 2: ngx.on_abort's handler runs as a thread of the request; returning from it lets the handler go on
--- config
    location /t {
        lua_check_client_abort on;
        rewrite_by_lua_block {
            local ok, err = ngx.on_abort(function()
                ngx.log(ngx.WARN, "abort handler ran")
            end)
            ngx.log(ngx.WARN, "registered: ", ok, " ", err)
            ngx.log(ngx.WARN, "second: ", select(2, ngx.on_abort(function() end)))
            ngx.sleep(1)
            ngx.log(ngx.WARN, "rewrite went on")
        }
        content_by_lua_block { ngx.say("late") }
    }
--- request
GET /t
--- timeout: 0.2
--- abort
--- ignore_response
--- wait: 1.5
--- error_log
registered: 1 nil
second: duplicate call
client prematurely closed connection
abort handler ran
rewrite went on



=== TEST 3: ngx.exit in the abort handler ends the request at once
--- config
    location /t {
        lua_check_client_abort on;
        access_by_lua_block {
            ngx.on_abort(function()
                ngx.log(ngx.WARN, "leaving with 444")
                ngx.exit(444)
            end)
            ngx.sleep(2)
            ngx.log(ngx.WARN, "access went on")
        }
        content_by_lua_block { ngx.say("late") }
    }
--- request
GET /t
--- timeout: 0.2
--- abort
--- ignore_response
--- wait: 0.5
--- error_log
leaving with 444
--- no_error_log
access went on
[error]



=== TEST 4: without the check, ngx.on_abort refuses and a leaving client goes unnoticed
--- config
    location /t {
        content_by_lua_block {
            local ok, err = ngx.on_abort(function() end)
            ngx.log(ngx.WARN, "on_abort: ", ok, " ", err)
            ngx.sleep(0.3)
            ngx.log(ngx.WARN, "slept to the end")
        }
    }
--- request
GET /t
--- timeout: 0.1
--- abort
--- ignore_response
--- wait: 1.5
--- error_log
on_abort: nil lua_check_client_abort is off
slept to the end
--- no_error_log
client prematurely closed connection



=== TEST 5: a body cut short by the client fails ngx.req.socket's read with "client aborted"
--- config
    location /t {
        content_by_lua_block {
            local sock = ngx.req.socket()
            local data, err = sock:receive(10)
            ngx.log(ngx.WARN, "read: ", data, " ", err)
        }
    }
--- raw_request eval
"POST /t HTTP/1.0\r
Host: localhost\r
Content-Length: 10\r
\r
abc"
--- timeout: 0.2
--- abort
--- ignore_response
--- wait: 1
--- error_log
read: nil client aborted



=== TEST 6: a client that half-closes after its request still gets the response
--- config
    location /t {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.say("body: ", ngx.req.get_body_data())
        }
    }
--- request
POST /t
hello
--- shutdown: 1
--- response_body
body: hello
