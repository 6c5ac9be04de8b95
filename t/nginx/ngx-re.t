# Our own plain Test::Nginx file: ngx.re.match/find/gmatch/sub/gsub (PCRE semantics, options).
use Test::Nginx::Socket::Lua 'no_plan';

log_level('info');
no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: match returns the whole match and numbered captures, or nil
--- config
    location /t {
        content_by_lua_block {
            local m = ngx.re.match("order 42 of 7", [[(\w+) (\d+)]], "jo")
            ngx.say(m[0], "|", m[1], "|", m[2])
            ngx.say(ngx.re.match("no digits", [[\d+]]))
            local upper = ngx.re.match("Hello", "^hello$", "i")
            ngx.say(upper and upper[0])
        }
    }
--- request
GET /t
--- response_body
order 42|order|42
nil
Hello



=== TEST 2: named captures appear by name and by number; unmatched groups are false
--- config
    location /t {
        content_by_lua_block {
            local m = ngx.re.match("key=value", [[(?<k>\w+)=(?<v>\w+)(;(?<extra>\w+))?]])
            ngx.say(m.k, " ", m.v, " ", m[1], " ", m[2], " ", m[3], " ", m.extra)
        }
    }
--- request
GET /t
--- response_body
key value key value false false



=== TEST 3: find returns 1-based inclusive positions; ctx.pos starts later and advances
--- config
    location /t {
        content_by_lua_block {
            ngx.say(ngx.re.find("abc123def", [[\d+]], "jo"))
            ngx.say(ngx.re.find("abc", [[\d]]))
            local ctx = { pos = 5 }
            local m = ngx.re.match("a1b2c3", [[\d]], "", ctx)
            ngx.say(m[0], " next pos ", ctx.pos)
        }
    }
--- request
GET /t
--- response_body
46
nil
3 next pos 7



=== TEST 4: gmatch iterates over every match
--- config
    location /t {
        content_by_lua_block {
            local out = {}
            for m in ngx.re.gmatch("a1b22c333", [[[a-z](\d+)]]) do
                out[#out + 1] = m[0] .. ":" .. m[1]
            end
            ngx.say(table.concat(out, " "))
        }
    }
--- request
GET /t
--- response_body
a1:1 b22:22 c333:333



=== TEST 5: sub replaces the first match, gsub all, with templates or a function
--- config
    location /t {
        content_by_lua_block {
            ngx.say(ngx.re.sub("aaa", "a", "b"))
            ngx.say(ngx.re.gsub("a1b22", [[\d]], "#"))
            ngx.say(ngx.re.gsub("john smith", [[(\w+) (\w+)]], "$2, ${1}!"))
            local s, n = ngx.re.gsub("x=1, y=22", [[\d+]], function(m) return "<" .. m[0] * 2 .. ">" end)
            ngx.say(s, " ", n)
            ngx.say(ngx.re.gsub("none here", [[\d]], "#"))
        }
    }
--- request
GET /t
--- response_body
baa1
a#b##3
smith, john!1
x=<2>, y=<44> 2
none here0



=== TEST 6: a bad pattern is an error value, not an exception
--- config
    location /t {
        content_by_lua_block {
            local m, err = ngx.re.match("x", "(unclosed")
            ngx.say(m, " ", type(err), " ", err ~= nil and err:find("unclosed", 1, true) ~= nil)
        }
    }
--- request
GET /t
--- response_body
nil string true



=== TEST 7: the ngx.re module's split, with a limit and with captures kept
--- config
    location /t {
        content_by_lua_block {
            local split = require("ngx.re").split
            local parts = split("a, b,c ,d", [[\s*,\s*]])
            ngx.say(#parts, ": ", table.concat(parts, "|"))
            parts = split("a,b,c,d", ",", nil, nil, 2)
            ngx.say(#parts, ": ", table.concat(parts, "|"))
            parts = split("1-2+3", "([-+])")
            ngx.say(#parts, ": ", table.concat(parts, "|"))
            local res, err = split("abc", "(")
            ngx.say(res, " ", err ~= nil)
        }
    }
--- request
GET /t
--- response_body
4: a|b|c|d
2: a|b,c,d
5: 1|-|2|+|3
nil true



=== TEST 8: sub templates: $N, ${N} and $$ work; a named variable or an unclosed bracket does not compile
--- config
    location /t {
        content_by_lua_block {
            ngx.say((ngx.re.sub("ab", "(a)(b)", "<${2}$1$$$9>")))
            for _, tpl in ipairs({ "[$word]", "[${12]", "[$", "[${}]" }) do
                local s, n, err = ngx.re.sub("ab", "a", tpl)
                ngx.say(tostring(s), " ", err)
            end
        }
    }
--- request
GET /t
--- response_body
<ba$>
nil failed to compile the replacement template
nil failed to compile the replacement template
nil failed to compile the replacement template
nil failed to compile the replacement template
--- error_log
attempt to use named capturing variable "word" (named captures not supported yet)
the closing bracket in "12" variable is missing
lua script: invalid capturing variable name found in "[$"
lua script: invalid capturing variable name found in "[${}]"
