# Our own plain Test::Nginx file: the part of Penlight's pl.stringx APISIX's plugins use.
# Real nginx has no such library of its own: under `diff`, point the real side at APISIX's Lua
# dependencies with --lua-path (see docs/runner.md).
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: rfind gives where the last plain occurrence starts, nil when there is none
--- config
    location /t {
        content_by_lua_block {
            local rfind = require("pl.stringx").rfind
            ngx.say(rfind("a.b.c", "."), " ", rfind("logs__2024__x", "__"), " ",
                    tostring(rfind("abc", "z")), " ", rfind("aaa", "aa"), " ", tostring(rfind("abcabc", "c", 1, 5)))
        }
    }
--- request
GET /t
--- response_body
4 11 nil 2 3



=== TEST 2: strip, lstrip and rstrip, with spaces or given characters
--- config
    location /t {
        content_by_lua_block {
            local s = require("pl.stringx")
            ngx.say("[", s.strip("  mozilla \t"), "][", s.lstrip("--x--", "-"), "][", s.rstrip("x]]", "]"), "]")
            ngx.say(s.startswith("curl/8", "curl"), " ", s.endswith("file.log", ".txt"))
        }
    }
--- request
GET /t
--- response_body
[mozilla][x--][x]
true false
