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



=== TEST 6: a route whose functions read a registered variable (from the route's labels), a counter variable and post_arg.*
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                .. "/apisix/admin/routes/vars-route", {method = "PUT", body = [[{
                    "uri": "/vars",
                    "labels": {"team": "blue"},
                    "plugins": {
                        "serverless-pre-function": {
                            "phase": "rewrite",
                            "functions": ["return function(conf, ctx) ngx.say('team ', ctx.var.my_team, ' tick ', ctx.var.my_tick, ' size ', ctx.var['post_arg.box.size']) end"]
                        },
                        "serverless-post-function": {
                            "phase": "rewrite",
                            "functions": ["return function(conf, ctx) ngx.say('tick ', ctx.var.my_tick, ' route ', ctx.matched_route.value.uri) end"]
                        }
                    },
                    "upstream": {"nodes": {"127.0.0.1:1980": 1}, "type": "roundrobin"}
                }]]}))
            ngx.say(res.status)
        }
    }
--- response_body
201



=== TEST 7: the registered getters see the route; the uncached one counts on the request's ctx; the upstream is not called after ngx.say
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            core.ctx.register_var("my_team", function(ctx)
                return ctx.matched_route and ctx.matched_route.value.labels.team
            end)
            core.ctx.register_var("my_tick", function(ctx)
                ctx.my_ticks = (ctx.my_ticks or 0) + 1
                return ctx.my_ticks
            end, {no_cacheable = true})
            local httpc = require("resty.http").new()
            local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port .. "/vars",
                {method = "POST", body = '{"box": {"size": 3}}',
                 headers = {["Content-Type"] = "application/json"}}))
            ngx.print(res.status, "\n", res.body)
        }
    }
--- response_body
200
team blue tick 1 size 3
tick 2 route /vars
