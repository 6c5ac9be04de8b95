# serverless-pre-function / serverless-post-function: user Lua run in a chosen phase of the
# gateway, in the worker that serves the request.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();

add_block_preprocessor(sub {
    my ($block) = @_;
    if (!$block->request) {
        $block->set_value("request", "GET /t");
    }
});

run_tests();

__DATA__

=== TEST 1: admin checks the functions: a chunk that is not a function is refused
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local function put(id, plugins)
                local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                    .. "/apisix/admin/routes/" .. id, {method = "PUT",
                    body = '{"uri":"/fn' .. id .. '","plugins":' .. plugins .. '}'}))
                ngx.say(res.status, " ", res.body)
            end
            put(1, [[{"serverless-post-function":{"functions":["return 42"]}}]])
            put(2, [[{"serverless-pre-function":{"functions":["return function( end"]}}]])
        }
    }
--- response_body eval
qr/^400 \{"error_msg":"failed to check the configuration of plugin serverless-post-function err: only accept Lua function, the input code type is number"\}
\n400 \{"error_msg":"failed to check the configuration of plugin serverless-pre-function err: failed to loadstring: [^\n]*"\}
\n$/



=== TEST 2: a function in the access phase answers for the route, reading the request's variables
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                .. "/apisix/admin/routes/3", {method = "PUT", body = [[{
                    "uri": "/greet",
                    "plugins": {
                        "serverless-pre-function": {
                            "phase": "access",
                            "functions": ["return function(conf, ctx) return 201, 'hello ' .. ctx.var.arg_name end"]
                        },
                        "serverless-post-function": {
                            "phase": "log",
                            "functions": ["return function(conf, ctx) ngx.log(ngx.WARN, 'logged status ', ngx.var.status) end"]
                        }
                    }
                }]]}))
            ngx.say(res.status)
        }
    }
--- response_body
201



=== TEST 3: the access function ends the request, the log function runs afterwards
--- request
GET /greet?name=ada
--- error_code: 201
--- response_body chomp
hello ada
--- error_log
logged status 201



=== TEST 4: ctx.var is the request's APISIX context: a value one function stores, the next reads, with the route id
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                .. "/apisix/admin/routes/note-route", {method = "PUT", body = [[{
                    "uri": "/note",
                    "plugins": {
                        "serverless-pre-function": {
                            "phase": "rewrite",
                            "functions": [
                                "return function(conf, ctx) ctx.var.my_note = 'kept' end",
                                "return function(conf, ctx) return 200, ctx.var.my_note .. ' on ' .. ctx.var.route_id end"
                            ]
                        }
                    }
                }]]}))
            ngx.say(res.status)
        }
    }
--- response_body
201



=== TEST 5: the note comes back
--- request
GET /note
--- response_body chomp
kept on note-route
