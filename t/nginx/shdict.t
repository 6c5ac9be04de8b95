# Our own plain Test::Nginx file: lua_shared_dict operations, and the per-block restart that
# throws away shared dicts and Lua state between blocks.
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: set/get keep the value's type; add and replace respect existence
--- http_config
    lua_shared_dict box 1m;
--- config
    location /t {
        content_by_lua_block {
            local box = ngx.shared.box
            ngx.say("set: ", box:set("s", "text"))
            box:set("n", 1.5)
            box:set("b", false)
            ngx.say(type(box:get("s")), " ", box:get("n"), " ", type(box:get("n")), " ", box:get("b"))
            ngx.say("add existing: ", box:add("s", "other"))
            ngx.say("add new: ", box:add("fresh", "v"))
            ngx.say("replace missing: ", box:replace("nope", 1))
            ngx.say("replace existing: ", box:replace("s", "again"), " -> ", box:get("s"))
            ngx.say("missing: ", box:get("nothing"))
            ngx.say("no dict: ", ngx.shared.not_declared)
        }
    }
--- request
GET /t
--- response_body
set: truenilfalse
string 1.5 number false
add existing: falseexistsfalse
add new: truenilfalse
replace missing: falsenot foundfalse
replace existing: true -> again
missing: nil
no dict: nil



=== TEST 2: flags are returned only when set
--- http_config
    lua_shared_dict box 1m;
--- config
    location /t {
        content_by_lua_block {
            local box = ngx.shared.box
            box:set("plain", "p")
            box:set("flagged", "f", 0, 42)
            ngx.say(select("#", box:get("plain")), " ", select("#", box:get("flagged")))
            local v, flags = box:get("flagged")
            ngx.say(v, " ", flags)
        }
    }
--- request
GET /t
--- response_body
1 2
f 42



=== TEST 3: incr with and without an initial value, and on a non-number
--- http_config
    lua_shared_dict box 1m;
--- config
    location /t {
        content_by_lua_block {
            local box = ngx.shared.box
            local v, err = box:incr("hits", 1)
            ngx.say("no init: ", v, " ", err)
            v = box:incr("hits", 5, 10)
            ngx.say("with init: ", v)
            v = box:incr("hits", -3)
            ngx.say("decrement: ", v)
            box:set("word", "abc")
            v, err = box:incr("word", 1)
            ngx.say("on a string: ", v, " ", err)
            ngx.say("results without init: ", select("#", box:incr("hits", 1)),
                    ", with init: ", select("#", box:incr("hits", 1, 0)))
        }
    }
--- request
GET /t
--- response_body
no init: nil not found
with init: 15
decrement: 12
on a string: nil not a number
results without init: 1, with init: 3



=== TEST 4: delete, and get_keys listing live keys
--- http_config
    lua_shared_dict box 1m;
--- config
    location /t {
        content_by_lua_block {
            local box = ngx.shared.box
            for _, k in ipairs({"k3", "k1", "k2"}) do box:set(k, k) end
            box:delete("k2")
            local keys = box:get_keys(0)
            table.sort(keys)
            ngx.say(#keys, ": ", table.concat(keys, ","))
            ngx.say("deleted: ", box:get("k2"))
        }
    }
--- request
GET /t
--- response_body
2: k1,k3
deleted: nil



=== TEST 5: expiry: exptime, ttl, expire, and flush_all
--- http_config
    lua_shared_dict box 1m;
--- config
    location /t {
        content_by_lua_block {
            local box = ngx.shared.box
            box:set("short", "s", 0.2)
            box:set("forever", "f")
            local ttl = box:ttl("short")
            ngx.say("ttl in range: ", ttl > 0 and ttl <= 0.2)
            ngx.say("no expiry ttl: ", box:ttl("forever"))
            ngx.say("ttl missing: ", box:ttl("none"))
            ngx.say("expire: ", box:expire("forever", 100))
            ttl = box:ttl("forever")
            ngx.say("new ttl in range: ", ttl > 99 and ttl <= 100)
            ngx.sleep(0.3)
            ngx.say("after expiry: ", box:get("short"))
            box:flush_all()
            ngx.say("after flush_all: ", box:get("forever"), " keys=", #box:get_keys(0))
        }
    }
--- request
GET /t
--- response_body
ttl in range: true
no expiry ttl: 0
ttl missing: nilnot found
expire: true
new ttl in range: true
after expiry: nil
after flush_all: nil keys=0



=== TEST 6: lists: lpush then rpop is first in, first out
--- http_config
    lua_shared_dict box 1m;
--- config
    location /t {
        content_by_lua_block {
            local box = ngx.shared.box
            ngx.say(box:lpush("q", "first"), " ", box:lpush("q", "second"), " ", box:lpush("q", 3))
            ngx.say("llen: ", box:llen("q"))
            ngx.say(box:rpop("q"), " ", box:rpop("q"), " ", box:rpop("q"), " ", box:rpop("q"))
            box:set("scalar", 1)
            ngx.say("push on scalar: ", box:lpush("scalar", "x"))
        }
    }
--- request
GET /t
--- response_body
1 2 3
llen: 3
first second 3 nil
push on scalar: nilvalue not a list



=== TEST 7: within one block, dicts and module state last across requests
--- http_config
    lua_shared_dict box 1m;
--- config
    location /t {
        content_by_lua_block {
            package.loaded.scratch = package.loaded.scratch or { n = 0 }
            local s = package.loaded.scratch
            s.n = s.n + 1
            local n = ngx.shared.box:incr("n", 1, 0)
            ngx.say("module n=", s.n, " dict n=", n)
        }
    }
--- request eval
["GET /t", "GET /t"]
--- response_body eval
["module n=1 dict n=1\n", "module n=2 dict n=2\n"]



=== TEST 8: block A leaves a dict value, a global and a loaded module behind
--- http_config
    lua_shared_dict box 1m;
--- config
    location /t {
        content_by_lua_block {
            ngx.shared.box:set("left", "over")
            leftover_global = "still here?"
            package.loaded.scratch = { n = 99 }
            ngx.say(ngx.shared.box:get("left"), " ", leftover_global, " ", package.loaded.scratch.n)
        }
    }
--- request
GET /t
--- response_body
over still here? 99



=== TEST 9: block B starts from a fresh nginx: all of block A's state is gone
--- http_config
    lua_shared_dict box 1m;
--- config
    location /t {
        content_by_lua_block {
            ngx.say(ngx.shared.box:get("left"), " ", leftover_global, " ", package.loaded.scratch)
        }
    }
--- request
GET /t
--- response_body
nil nil nil



=== TEST 10: an expired entry stays until reclaimed: get misses it, get_stale and ttl still see it
--- http_config
    lua_shared_dict box 1m;
--- config
    location /t {
        content_by_lua_block {
            local box = ngx.shared.box
            box:set("c", 3)
            box:set("a", 1, 0.1)
            box:set("b", 2, 0.1, 5)
            ngx.sleep(0.2)
            ngx.say("get a: ", box:get("a"))
            local v, flags, stale = box:get_stale("b")
            ngx.say("get_stale b: ", v, " ", flags, " ", stale)
            v, flags, stale = box:get_stale("a")
            ngx.say("get_stale a: ", v, " ", flags, " ", stale)
            ngx.say("ttl of expired a is negative: ", box:ttl("a") < 0)
            ngx.say("get_stale missing: ", box:get_stale("zzz"))
            ngx.say("add over expired a: ", (box:add("a", "again")), " ", box:get("a"))
            ngx.say("flush_expired removed: ", box:flush_expired())
            local keys = box:get_keys(0)
            table.sort(keys)
            ngx.say("keys left: ", table.concat(keys, ","))
            local ok, err = box:expire("zzz", 1)
            ngx.say("expire on a missing key: ", ok, " ", err)
            ngx.say("incr with init and init_ttl: ", (box:incr("n", 5, 10, 0.1)))
            ngx.sleep(0.2)
            ngx.say("counter after its init_ttl: ", box:get("n"))
            box:flush_all()
            ngx.say("flush_all then add c: ", (box:add("c", "new")), " ", box:get("c"))
        }
    }
--- request
GET /t
--- response_body
get a: nil
get_stale b: 2 5 true
get_stale a: 1 nil true
ttl of expired a is negative: true
get_stale missing: nil
add over expired a: true again
flush_expired removed: 1
keys left: a,c
expire on a missing key: nil not found
incr with init and init_ttl: 15
counter after its init_ttl: nil
flush_all then add c: true new



=== TEST 11: get frees expired entries at the least recently used end, so get_stale loses them
--- http_config
    lua_shared_dict box 1m;
--- config
    location /t {
        content_by_lua_block {
            local box = ngx.shared.box
            box:set("old1", "x", 0.05)
            box:set("old2", "y", 0.05)
            box:set("fresh", "z")
            ngx.sleep(0.1)
            ngx.say("before any get: ", box:get_stale("old2"))
            -- old1 is now the least recently used; a get of anything frees it
            ngx.say("get fresh: ", box:get("fresh"))
            ngx.say("old1 after: ", box:get_stale("old1"), ", old2 after: ", (box:get_stale("old2")))
        }
    }
--- request
GET /t
--- response_body
before any get: yniltrue
get fresh: z
old1 after: nil, old2 after: y



=== TEST 12: list operations on a key holding a plain value say so; on a missing key they find nothing
--- http_config
    lua_shared_dict box 1m;
--- config
    location /t {
        content_by_lua_block {
            local box = ngx.shared.box
            box:set("plain", "not a list")
            ngx.say("llen: ", box:llen("plain"))
            ngx.say("lpop: ", box:lpop("plain"))
            ngx.say("rpop: ", box:rpop("plain"))
            ngx.say("lpush: ", box:lpush("plain", 1))
            ngx.say("missing llen: ", box:llen("missing"), ", lpop: ", box:lpop("missing"))
            box:rpush("list", "only")
            ngx.say("rpop: ", box:rpop("list"), ", then: ", box:rpop("list"), ", llen: ", box:llen("list"))
        }
    }
--- request
GET /t
--- response_body
llen: nilvalue not a list
lpop: nilvalue not a list
rpop: nilvalue not a list
lpush: nilvalue not a list
missing llen: 0, lpop: nil
rpop: only, then: nil, llen: 0
