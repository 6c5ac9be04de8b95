# Our own plain Test::Nginx file: ngx.sleep, ngx.timer.at and ngx.thread.* on the emulated
# worker's scheduler. Timings are asserted loosely (bounds, not exact values).
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: ngx.sleep suspends the handler for at least the time asked
--- config
    location /t {
        content_by_lua_block {
            ngx.update_time()
            local t0 = ngx.now()
            ngx.sleep(0.2)
            ngx.update_time()
            local d = ngx.now() - t0
            ngx.say(d >= 0.18 and "slept at least 0.2s" or ("slept " .. d))
        }
    }
--- request
GET /t
--- response_body
slept at least 0.2s



=== TEST 2: a timer writes to a shared dict that a later request of the same block reads
--- http_config
    lua_shared_dict notes 1m;
--- config
    location /start {
        content_by_lua_block {
            local ok, err = ngx.timer.at(0, function(premature, who, n)
                ngx.shared.notes:set("by_timer", who .. " " .. n .. " " .. tostring(premature))
            end, "timer", 7)
            ngx.say("scheduled: ", ok, " ", err)
        }
    }
    location /check {
        content_by_lua_block {
            ngx.sleep(0.2)
            ngx.say("note: ", ngx.shared.notes:get("by_timer"))
        }
    }
--- request eval
["GET /start", "GET /check"]
--- response_body eval
["scheduled: 1 nil\n", "note: timer 7 false\n"]



=== TEST 3: a delayed timer fires after the handler yields, not before
--- http_config
    lua_shared_dict notes 1m;
--- config
    location /t {
        content_by_lua_block {
            local notes = ngx.shared.notes
            ngx.timer.at(0.1, function() notes:set("fired", "yes") end)
            ngx.say("right away: ", notes:get("fired"))
            ngx.sleep(0.3)
            ngx.say("later: ", notes:get("fired"))
        }
    }
--- request
GET /t
--- response_body
right away: nil
later: yes



=== TEST 4: a timer callback has no request: ngx.var is unavailable, ngx.log works
--- config
    location /t {
        content_by_lua_block {
            ngx.timer.at(0, function()
                ngx.log(ngx.WARN, "timer phase is ", ngx.get_phase())
            end)
            ngx.sleep(0.1)
            ngx.say("phase here: ", ngx.get_phase())
        }
    }
--- request
GET /t
--- response_body
phase here: content
--- error_log
timer phase is timer



=== TEST 5: a spawned thread runs at once until it yields
--- config
    location /t {
        content_by_lua_block {
            local th = ngx.thread.spawn(function()
                ngx.say("thread: before sleep")
                ngx.sleep(0.05)
                ngx.say("thread: after sleep")
                return "r1", 2
            end)
            ngx.say("entry: after spawn")
            local ok, a, b = ngx.thread.wait(th)
            ngx.say("entry: waited ", ok, " ", a, " ", b)
        }
    }
--- request
GET /t
--- response_body
thread: before sleep
entry: after spawn
thread: after sleep
entry: waited true r1 2



=== TEST 6: spawned sleeps run side by side: the shortest finishes first
--- config
    location /t {
        content_by_lua_block {
            local order = {}
            local ths = {}
            for i = 1, 3 do
                ths[i] = ngx.thread.spawn(function()
                    ngx.sleep(0.4 - 0.1 * i)
                    order[#order + 1] = i
                    return i
                end)
            end
            local sum = 0
            for i = 1, 3 do
                local ok, v = ngx.thread.wait(ths[i])
                sum = sum + v
            end
            ngx.say("sum of results: ", sum)
            ngx.say("finish order: ", table.concat(order, " "))
        }
    }
--- request
GET /t
--- response_body
sum of results: 6
finish order: 3 2 1



=== TEST 7: waiting on several threads returns the first to finish
--- config
    location /t {
        content_by_lua_block {
            -- "slow" cannot end before the first wait returns (no race with the clock)
            local released = false
            local slow = ngx.thread.spawn(function()
                while not released do ngx.sleep(0.01) end
                return "slow"
            end)
            local fast = ngx.thread.spawn(function() ngx.sleep(0.05) return "fast" end)
            local ok, who = ngx.thread.wait(slow, fast)
            ngx.say("first: ", who)
            released = true
            ok, who = ngx.thread.wait(slow)
            ngx.say("then: ", who)
        }
    }
--- request
GET /t
--- response_body
first: fast
then: slow



=== TEST 8: a killed thread never finishes its work
--- http_config
    lua_shared_dict notes 1m;
--- config
    location /t {
        content_by_lua_block {
            local notes = ngx.shared.notes
            local th = ngx.thread.spawn(function()
                ngx.sleep(0.1)
                notes:set("finished", true)
            end)
            ngx.say("kill: ", ngx.thread.kill(th))
            local ok, err = ngx.thread.kill(th)
            ngx.say("kill again: ", ok, " ", err)
            ngx.sleep(0.3)
            ngx.say("finished: ", notes:get("finished"))
        }
    }
--- request
GET /t
--- response_body
kill: 1
kill again: nil already waited or killed
finished: nil



=== TEST 9: an error in a thread is returned by wait and logged
--- config
    location /t {
        content_by_lua_block {
            local th = ngx.thread.spawn(function()
                ngx.sleep(0.01)
                error("thread went wrong")
            end)
            local ok, err = ngx.thread.wait(th)
            ngx.say(ok, " ", err:find("thread went wrong", 1, true) ~= nil)
        }
    }
--- request
GET /t
--- response_body
false true
--- error_log
lua user thread aborted: runtime error:
thread went wrong



=== TEST 10: ngx.timer.every runs its callback again and again until the worker stops it
--- http_config
    lua_shared_dict notes 1m;
--- config
    location /t {
        content_by_lua_block {
            local notes = ngx.shared.notes
            local ok, err = ngx.timer.every(0.05, function(premature)
                if not premature then notes:incr("ticks", 1, 0) end
            end)
            ngx.say("every: ", ok, " ", err)
            ngx.sleep(0.5)
            local ticks = notes:get("ticks")
            ngx.say(ticks >= 4 and ticks <= 11 and "ticked several times" or ("ticks: " .. tostring(ticks)))
        }
    }
--- request
GET /t
--- response_body
every: 1 nil
ticked several times



=== TEST 11: coroutine.wrap keeps working with coroutine.resume cleared, and a wrapped error lists every coroutine
--- config
    location /t {
        content_by_lua_block {
            coroutine.resume = nil
            local counter = coroutine.wrap(function()
                for n = 1, 3 do coroutine.yield(n * 10) end
            end)
            ngx.log(ngx.WARN, "counted ", counter(), " ", counter(), " ", counter())
            local inner = coroutine.wrap(function() error("inner blew up") end)
            local outer = coroutine.wrap(function() inner() end)
            outer()
        }
    }
--- request
GET /t
--- error_code: 500
--- error_log eval
["counted 10 20 30", qr/lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):\d+: inner blew up/,
 "stack traceback:", "coroutine 0:", "coroutine 1:", "coroutine 2:"]



=== TEST 12: a spawned thread runs first, then its spawner and the threads posted before it, in order
--- config
    location /t {
        content_by_lua_block {
            local function inner()
                ngx.say("inner runs")
            end
            local function outer()
                ngx.say("outer starts")
                ngx.thread.spawn(inner)
                ngx.say("outer resumes")
            end
            ngx.say("main starts")
            ngx.thread.spawn(outer)
            ngx.say("main resumes")
        }
    }
--- request
GET /t
--- response_body
main starts
outer starts
inner runs
main resumes
outer resumes



=== TEST 13: a thread handle is a coroutine: running while it sleeps, zombie once done but not yet waited
--- config
    location /t {
        content_by_lua_block {
            local napper = ngx.thread.spawn(function() ngx.sleep(0.05) end)
            local quick = ngx.thread.spawn(function() return 7 end)
            ngx.say(type(napper), " ", coroutine.status(napper), " ", coroutine.status(quick))
            local ok, v = ngx.thread.wait(quick)
            ngx.say("waited: ", v, " ", coroutine.status(quick))
        }
    }
--- request
GET /t
--- response_body
thread running zombie
waited: 7 dead



=== TEST 14: ngx.thread.kill refuses what is not its own live child
--- config
    location /t {
        content_by_lua_block {
            ngx.say("self: ", select(2, ngx.thread.kill(coroutine.running())))
            local done = ngx.thread.spawn(function() end)
            ngx.say("finished one: ", select(2, ngx.thread.kill(done)))
            local sleeper = ngx.thread.spawn(function() ngx.sleep(5) end)
            ngx.thread.spawn(function()
                ngx.say("not mine: ", select(2, ngx.thread.kill(sleeper)))
            end)
            ngx.say("mine: ", ngx.thread.kill(sleeper))
            ngx.say("again: ", select(2, ngx.thread.kill(sleeper)))
        }
    }
--- request
GET /t
--- response_body
self: not user thread
finished one: already terminated
not mine: killer not parent
mine: 1
again: already waited or killed



=== TEST 15: an every-timer is set again as soon as it fires, however long its handler takes
--- http_config
    lua_shared_dict ticks 1m;
--- config
    location /t {
        content_by_lua_block {
            local ticks = ngx.shared.ticks
            ticks:set("n", 0)
            local ok = ngx.timer.every(0.05, function()
                ticks:incr("n", 1)
                ngx.sleep(0.5)
            end)
            ngx.sleep(0.32)
            ngx.say("several handlers started while the first slept: ", ticks:get("n") >= 3)
        }
    }
--- request
GET /t
--- response_body
several handlers started while the first slept: true



=== TEST 16: lua_max_pending_timers caps the timers waiting to fire
--- http_config
    lua_max_pending_timers 3;
--- config
    location /t {
        content_by_lua_block {
            for i = 1, 4 do
                local ok, err = ngx.timer.at(10, function() end)
                ngx.say(i, ": ", ok, " ", err)
            end
        }
    }
--- request
GET /t
--- response_body
1: 1 nil
2: 1 nil
3: 1 nil
4: nil too many pending timers



=== TEST 17: a semaphore hands one resource to each waiter, in turn, and times out without one
--- config
    location /t {
        content_by_lua_block {
            local semaphore = require "ngx.semaphore"
            local sem = semaphore.new(0)
            local function taker(name)
                local ok, err = sem:wait(1)
                ngx.say(name, ": ", ok, " ", err)
            end
            local a = ngx.thread.spawn(taker, "first")
            local b = ngx.thread.spawn(taker, "second")
            ngx.say("count before: ", sem:count())
            sem:post(2)
            ngx.thread.wait(a)
            ngx.thread.wait(b)
            ngx.say("count after: ", sem:count())
            ngx.say("nothing left: ", sem:wait(0.01))
        }
    }
--- request
GET /t
--- response_body
count before: -2
first: true nil
second: true nil
count after: 0
nothing left: falsetimeout



=== TEST 18: ngx.exit in a header filter replaces the response
--- config
    location /gone {
        content_by_lua_block { ngx.say("never seen") }
        header_filter_by_lua_block { return ngx.exit(410) }
    }
--- request
GET /gone
--- error_code: 410
--- response_body_like: 410 Gone



=== TEST 19: lines logged in init_worker_by_lua and in a timer carry ngx_lua's fake connection number and name their context
--- http_config
    init_worker_by_lua_block {
        ngx.log(ngx.WARN, "worker starts")
        ngx.timer.at(0.01, function() ngx.log(ngx.WARN, "timer runs") end)
    }
--- config
    location /t {
        content_by_lua_block {
            ngx.sleep(0.05)
            ngx.say("ok")
        }
    }
--- request
GET /t
--- response_body
ok
--- error_log eval
[qr/\[warn\] \d+#\d+: \*\d+ \[lua\] .*worker starts, context: init_worker_by_lua\*$/,
 qr/\[warn\] \d+#\d+: \*\d+ \[lua\] .*timer runs, context: ngx\.timer$/]



=== TEST 20: subrequests issued by several user threads start once the handler has yielded
--- config
    location /t {
        content_by_lua_block {
            local function fetch(name)
                local res = ngx.location.capture("/leaf/" .. name)
                ngx.say(name, " -> ", res.status, " ", res.body)
            end
            ngx.thread.spawn(fetch, "alpha")
            ngx.thread.spawn(fetch, "beta")
            ngx.say("handler done")
        }
    }
    location ~ ^/leaf/(\w+)$ {
        content_by_lua_block { ngx.print("leaf ", ngx.var[1]) }
    }
--- request
GET /t
--- response_body
handler done
alpha -> 200 leaf alpha
beta -> 200 leaf beta



=== TEST 21: a subrequest's ngx.exit(201) and ngx.exit(204) are the statuses the capture sees
--- config
    location /t {
        content_by_lua_block {
            for _, code in ipairs({ "201", "204", "set" }) do
                local res = ngx.location.capture("/code/" .. code)
                ngx.say(code, ": ", res.status, " [", res.body, "]")
            end
        }
    }
    location ~ ^/code/(\d+)$ {
        content_by_lua_block { ngx.exit(tonumber(ngx.var[1])) }
    }
    location = /code/set {
        content_by_lua_block { ngx.status = 202 ngx.exit(201) }
    }
--- request
GET /t
--- response_body
201: 201 []
204: 204 []
set: 202 []
