# Our own plain Test::Nginx file: nginx's resolver when the configuration names its own name
# servers and none of them answers (this world has no DNS): a loopback one refuses the query, the
# lookup times out after resolver_timeout, and connects by name fail with that error.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a cosocket connect by name times out when the name server refuses
--- config
    resolver 127.0.0.1:1953;
    resolver_timeout 300ms;
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            local ok, err = sock:connect("no-such-host.test", 80)
            ngx.say("connect: ", ok, " ", err)
        }
    }
--- request
GET /t
--- response_body
connect: nil no-such-host.test could not be resolved (110: Operation timed out)
--- error_log
send() failed (111: Connection refused) while resolving, resolver: 127.0.0.1:1953



=== TEST 2: an IP literal needs no lookup
--- config
    resolver 127.0.0.1:1953;
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            local ok, err = sock:connect("127.0.0.1", tonumber(ngx.var.server_port))
            ngx.say("connect: ", ok, " ", err)
            sock:close()
        }
    }
--- request
GET /t
--- response_body
connect: 1 nil
--- no_error_log
while resolving



=== TEST 3: proxy_pass to a name that cannot be resolved answers 502
--- config
    resolver 127.0.0.1:1953;
    resolver_timeout 200ms;
    location /t {
        set $backend no-such-host.test;
        proxy_pass http://$backend/;
    }
--- request
GET /t
--- error_code: 502
--- error_log
no-such-host.test could not be resolved (110: Operation timed out)



=== TEST 4: two cosockets looking up one name: the second joins the first lookup and sends nothing
--- config
    resolver 127.0.0.1:1953;
    resolver_timeout 300ms;
    location /t {
        content_by_lua_block {
            local function connect(who)
                local sock = ngx.socket.tcp()
                local ok, err = sock:connect("shared-name.test", 80)
                ngx.say(who, ": ", ok, " ", err)
            end
            local a = ngx.thread.spawn(connect, "first")
            local b = ngx.thread.spawn(connect, "second")
            ngx.thread.wait(a)
            ngx.thread.wait(b)
        }
    }
--- request
GET /t
--- response_body
first: nil shared-name.test could not be resolved (110: Operation timed out)
second: nil shared-name.test could not be resolved (110: Operation timed out)
--- grep_error_log eval: qr/send\(\) failed \(111: Connection refused\) while resolving/
--- grep_error_log_out
send() failed (111: Connection refused) while resolving
send() failed (111: Connection refused) while resolving
