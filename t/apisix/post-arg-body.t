# post_arg.* variables: route vars and Lua code read the request body parsed by its
# Content-Type (JSON, urlencoded form, multipart/form-data); a JSONPath name gives a list.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
no_shuffle();

run_tests();

__DATA__

=== TEST 1: a route chosen by a body field, which also answers with another field read from Lua
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local fn = "return function(conf, ctx) return 200, tostring(ctx.var['post_arg.colour']) end"
            local function put(id, vars)
                local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                    .. "/apisix/admin/routes/" .. id, {method = "PUT", body = [[{
                        "uri": "/paint",
                        "vars": ]] .. vars .. [[,
                        "plugins": {"serverless-pre-function": {"phase": "access", "functions": ["]] .. fn .. [["]}}
                    }]]}))
                ngx.say(res.status, " ", res.body:find("invalid expression", 1, true) and "invalid" or "")
            end
            put("brush", [=[[["post_arg.tool", "==", "brush"]]]=])
            put("roller", [=[[["post_arg.coats[*].layer", "has", "primer"]]]=])
            put("bad", [=[[["post_arg.coats[.layer", "has", "primer"]]]=])
        }
    }
--- request
GET /t
--- response_body
201 
201 
400 invalid



=== TEST 2: multipart, urlencoded and JSON bodies each pick their route
--- pipelined_requests eval
["POST /paint\n--b7\r\nContent-Disposition: form-data; name=\"tool\"\r\n\r\nbrush\r\n--b7\r\nContent-Disposition: form-data; name=\"colour\"\r\n\r\nteal\r\n--b7--\r\n",
 "POST /paint\ntool=brush&colour=ochre",
 "POST /paint\n{\"coats\": [{\"layer\": \"primer\"}, {\"layer\": \"gloss\"}], \"colour\": \"red\"}",
 "POST /paint\n{\"coats\": [{\"layer\": \"gloss\"}], \"colour\": \"red\"}"]
--- more_headers eval
["Content-Type: multipart/form-data; boundary=b7",
 "Content-Type: application/x-www-form-urlencoded",
 "Content-Type: application/json",
 "Content-Type: application/json"]
--- response_body eval
["teal", "ochre", "red", "{\"error_msg\":\"404 Route Not Found\"}\n"]
--- error_code eval
[200, 200, 200, 404]



=== TEST 3: a body of another type matches nothing and says why
--- request
POST /paint
tool=brush
--- more_headers
Content-Type: text/plain
--- error_code: 404
--- error_log
failed to fetch post args value by key: tool error: unsupported content-type: text/plain
