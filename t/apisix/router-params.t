# The radixtree_uri_with_parameter router: `:name` and `*name` segments in route paths, their
# values as uri_param_<name> in ctx.var.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
no_shuffle();

add_block_preprocessor(sub {
    my ($block) = @_;
    if (!$block->yaml_config) {
        $block->set_value("yaml_config", <<_EOC_);
apisix:
    router:
        http: 'radixtree_uri_with_parameter'
_EOC_
    }
});

run_tests();

__DATA__

=== TEST 1: routes with a named segment, a trailing wildcard and an exact path
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local fn = "return function(conf, ctx) return 200, (ctx.var.uri_param_shelf or '-') .. ' ' .. (ctx.var.uri_param_rest or '-') .. ' ' .. ctx.var.route_id end"
            local function put(id, uri)
                local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                    .. "/apisix/admin/routes/" .. id, {method = "PUT", body = [[{
                        "uri": "]] .. uri .. [[",
                        "plugins": {"serverless-pre-function": {"phase": "access", "functions": ["]] .. fn .. [["]}}
                    }]]}))
                ngx.say(res.status)
            end
            put("shelf", "/books/:shelf/list")
            put("rest", "/files/*rest")
            put("exact", "/books/top/list")
        }
    }
--- request
GET /t
--- response_body
201
201
201



=== TEST 2: the parameters come from the matched path; an exact path wins over a parameter
--- pipelined_requests eval
["GET /books/novels/list", "GET /files/a/b.txt", "GET /books/top/list", "GET /books//list"]
--- response_body eval
["novels - shelf", "- a/b.txt rest", "- - exact", "{\"error_msg\":\"404 Route Not Found\"}\n"]
--- error_code eval
[200, 200, 200, 404]
