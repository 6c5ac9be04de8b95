# Our own plain Test::Nginx file: ngx.req.socket() reads the request body as a cosocket
# (fixed sizes, lines, up to a delimiter in pieces), and Lua 5.1's module() for user files.
use Test::Nginx::Socket::Lua 'no_plan';

our $HtmlDir = html_dir;

no_long_string();
no_shuffle();
run_tests();

__DATA__

=== TEST 1: fixed-size reads stop at the end of the body with "closed" and the rest
--- config
    location /t {
        content_by_lua_block {
            local sock, err = ngx.req.socket()
            if not sock then
                ngx.say("no socket: ", err)
                return
            end
            while true do
                local data, err, partial = sock:receive(3)
                if not data then
                    ngx.say("err=", err, " rest=[", partial, "]")
                    break
                end
                ngx.say("got [", data, "]")
            end
        }
    }
--- request
POST /t
abcdefgh
--- response_body
got [abc]
got [def]
err=closed rest=[gh]
--- no_error_log
[error]



=== TEST 2: a sized receiveuntil hands out the part in pieces, then one nil ends it
--- config
    location /t {
        content_by_lua_block {
            local sock = assert(ngx.req.socket())
            local part = sock:receiveuntil("--sep")
            for round = 1, 2 do
                local pieces = {}
                while true do
                    local data, err = part(2)
                    if not data then
                        if err then ngx.say("err: ", err) return end
                        break
                    end
                    pieces[#pieces + 1] = "[" .. data .. "]"
                end
                ngx.say(round, ": ", table.concat(pieces))
            end
            ngx.say("tail: ", sock:receive("*a"))
        }
    }
--- request
POST /t
one--sepxy--sep-end
--- response_body
1: [on][e]
2: [xy][]
tail: -end



=== TEST 3: no body, a body already read, and the socket after its request ended
--- config
    location /nobody {
        content_by_lua_block {
            ngx.say(ngx.req.socket())
        }
    }
    location /read {
        content_by_lua_block {
            ngx.req.read_body()
            ngx.say(ngx.req.socket())
        }
    }
    location /keep {
        content_by_lua_block {
            local holder = require "holder"
            holder.use()
        }
    }
--- user_files
>>> holder.lua
module("holder", package.seeall)

local kept

function use()
    if not kept then
        kept = assert(ngx.req.socket())
        ngx.say("kept ", _NAME)
        return
    end
    ngx.say("later: ", kept:receive(1))
end
--- http_config eval
    "lua_package_path '$::HtmlDir/?.lua;;';"
--- request eval
["GET /nobody", "POST /read\nabc", "POST /keep\nxyz", "POST /keep\nxyz"]
--- response_body eval
["nilno body\n", "nilrequest body already exists\n", "kept holder\n", "later: nilclosed\n"]
