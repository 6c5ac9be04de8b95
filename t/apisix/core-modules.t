# apisix.core's modules as Lua code reaches them: each answers under its own name and as a field of
# require("apisix.core"), and each call goes to the C# twin (Apisix.Core/Core). Our own data.
BEGIN {
    $ENV{CORE_T_PLAIN} = "plain-value";
    $ENV{CORE_T_DOC} = '{"inner":"found","n":7}';
}
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
run_tests();

__DATA__

=== TEST 1: every module answers under its own name and as a field of apisix.core
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            for _, m in ipairs({"json", "table", "string", "config_util", "env", "os", "id", "request",
                                "response", "ctx", "lrucache", "schema", "timer", "math", "io", "log"}) do
                ngx.say(m, ": ", core[m] == require("apisix.core." .. m))
            end
            ngx.say("tablepool: ", core.tablepool == require("tablepool"))
            ngx.say("version: ", core.version.VERSION)
        }
    }
--- request
GET /t
--- response_body
json: true
table: true
string: true
config_util: true
env: true
os: true
id: true
request: true
response: true
ctx: true
lrucache: true
schema: true
timer: true
math: true
io: true
log: true
tablepool: true
version: 3.17.0



=== TEST 2: core.string raises on wrong types, as upstream's does, and finds plainly
--- config
    location /t {
        content_by_lua_block {
            local s = require("apisix.core.string")
            ngx.say(s.find("a.b.c", ".", 3))
            ngx.say(s.has_prefix("gateway", "gate"), " ", s.has_suffix("gateway", "way"))
            local ok, err = pcall(s.has_prefix, 7, "x")
            ngx.say(ok, " ", err)
            ngx.say(s.rfind_char("a/b/c", "/"))
            ngx.say(s.upper("falls back to string"))
        }
    }
--- request
GET /t
--- response_body_like
44
true true
false .*unexpected type: s:number, prefix:string
4
FALLS BACK TO STRING



=== TEST 3: core.env reads the block's environment, os.setenv writes into it
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            ngx.say(core.env.fetch_by_uri("$ENV://CORE_T_PLAIN"))
            ngx.say(core.env.fetch_by_uri("$env://CORE_T_DOC/inner"))
            ngx.say(core.env.fetch_by_uri("$ENV://CORE_T_DOC/n") + 1)
            ngx.say(select(2, core.env.fetch_by_uri("$ENV://CORE_T_PLAIN/x")))
            ngx.say(core.os.setenv("CORE_T_SET", 42), " ", os.getenv("CORE_T_SET"))
            ngx.say(core.os.setenv(nil, "x"))
        }
    }
--- request
GET /t
--- response_body
plain-value
found
8
decode failed, err: Expected value but found invalid token at character 1, value: plain-value
true 42
falseinvalid argument



=== TEST 4: core.table keeps identity: shared and cyclic tables, shallows, metatables
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            local shared = {v = 1}
            local root = {x = shared, y = shared, keep = {deep = {}}}
            root.self = root
            setmetatable(root.keep, core.json.array_mt)
            local c = core.table.deepcopy(root, {shallows = {"self.keep"}})
            ngx.say(c.x == c.y, " ", c.x ~= shared, " ", c.self == c, " ", c.keep == root.keep,
                    " ", core.table.deepcopy({n = ngx.null}).n == ngx.null)
            local m = core.table.merge({a = {b = 1, c = 2}, d = 1}, {a = {b = 3}, d = core.json.null})
            ngx.say(m.a.b, " ", m.a.c, " ", m.d)
            ngx.say(core.table.insert_tail({1}, 2, 3), " ", core.table.array_find({"p", "q"}, "q"))
            ngx.say(core.table.try_read_attr({a = {b = "deep"}}, "a", "b"), " ", core.table.try_read_attr({a = 1}, "a", "b"))
            local code, err = core.table.patch({a = "str"}, "a/b", 1)
            ngx.say(code, " ", err)
            local _, _, node = core.table.patch({}, "k/l", "v")
            ngx.say(core.json.encode(node))
            ngx.say(core.table.deep_eq({a = {1, 2}}, {a = {1, 2}}), " ", core.table.set_eq({a = 1}, {b = 1}))
            local picked = core.table.pick({a = 1, b = 2, c = 3}, {a = true, c = true})
            ngx.say(picked.a, picked.b, picked.c)
        }
    }
--- request
GET /t
--- response_body
true true true true true
3 2 nil
3 2
deep nil
400 invalid sub-path: /a
{"k":{"l":"v"}}
true false
1nil3



=== TEST 5: core.json: force encodes any value, null_as_nil drops nulls, delay_encode only when printed
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            local loop = {}
            loop.me = loop
            ngx.say(core.json.encode(loop, true):match('^{"me":{"me":"table: 0x%x+"}}$') ~= nil)
            ngx.say(core.json.encode({f = print}))
            local t = core.json.decode('{"a":null,"b":{"c":null,"d":[]}}', {null_as_nil = true})
            ngx.say(core.json.encode(t))
            ngx.say(core.json.decode("null", {null_as_nil = true}))
            ngx.say(tostring(core.json.delay_encode({"x/y"})))
        }
    }
--- request
GET /t
--- response_body
true
nilCannot serialise function: type not supported
{"b":{"d":[]}}
nil
["x/y"]



=== TEST 6: config_util: time units and clean handlers
--- config
    location /t {
        content_by_lua_block {
            local util = require("apisix.core.config_util")
            ngx.say(util.parse_time_unit("2h15m"), " ", util.parse_time_unit("1s500ms"), " ", util.parse_time_unit(3))
            ngx.say(select(2, util.parse_time_unit("5s5")))
            local item = {clean_handlers = {}}
            local id = util.add_clean_handler(item, function(it) ngx.say("first fired") end)
            util.add_clean_handler(item, function(it) ngx.say("second fired") end)
            util.cancel_clean_handler(item, id)
            util.fire_all_clean_handlers(item)
            ngx.say(#item.clean_handlers)
            for i, v in util.iterate_values({{n = 1}, "skip", {n = 3}}) do
                ngx.say(i, "=", v.n)
            end
        }
    }
--- request
GET /t
--- response_body
8100 1.5 3
specific unit conflicts with the default unit second
second fired
0
1=1
3=3



=== TEST 7: ctx.var reads request variables through C#, caches them, and refuses non-string keys
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            local ctx = {route_id = "r9"}
            core.ctx.set_vars_meta(ctx)
            ngx.say(ctx.var.cookie_session, " ", ctx.var.arg_q, " ", ctx.var.http_x_probe, " ", ctx.var.method)
            ngx.say(ctx.var.route_id, " ", ctx.var._cache.cookie_session)
            core.ctx.register_var("shout", function(c) return c.route_id:upper() end)
            ngx.say(ctx.var.shout)
            local ok, err = pcall(function() return ctx.var[1] end)
            ngx.say(ok, " ", (err:gsub("^.-:%d+: ", "")))
        }
    }
--- more_headers
Cookie: session=s1; other=2
X-Probe: yes
--- request
GET /t?q=find
--- response_body
s1 find yes GET
r9 s1
R9
false invalid argument, expect string value



=== TEST 8: core.request and core.response from Lua
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            local ctx = {}
            core.ctx.set_vars_meta(ctx)
            -- the first output sends the headers: the lines are gathered and sent by exit
            local out = {}
            local function say(...) out[#out + 1] = table.concat({...}) .. "\n" end
            core.request.add_header(ctx, "X-Multi", "two")
            say(core.json.encode(core.request.headers(ctx)["x-multi"]))
            core.request.set_header(ctx, "X-Multi", "only")
            say(core.request.header(ctx, "X-Multi"), " ", core.request.get_method(), " ", core.request.get_port(ctx))
            local body = core.request.get_body(4, ctx)
            say(select(2, core.request.get_body(2, ctx)))
            core.response.add_header("X-Out", "a")
            core.response.add_header("X-Out", "b")
            say(core.response.get_last_upstream_token("0.010, 0.020 : 0.030"))
            say(core.response.get_response_source(ctx))
            say(core.json.encode({done = true}))
            core.response.exit(201, table.concat(out))
        }
    }
--- request
POST /t
abc
--- more_headers
X-Multi: one
--- error_code: 201
--- response_headers
X-Out: a, b
--- response_body
["one","two"]
only POST 1984
request size 3 is greater than the maximum size 2 allowed
0.030
apisix
{"done":true}



=== TEST 9: core.lrucache keeps one object per key and version; the store evicts the oldest
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            local n = 0
            local function create() n = n + 1 return {n = n} end
            local get = core.lrucache.new({count = 2, ttl = 10})
            local a = get("a", "v1", create)
            ngx.say(get("a", "v1", create) == a, " ", get("a", "v2", create).n)
            get("b", nil, create)
            get("c", nil, create)
            ngx.say(get("a", "v2", create).n)
            local lru = require("resty.lrucache").new(1)
            local key = {}
            lru:set(key, "by identity", 0.05)
            ngx.say(lru:get(key), " ", lru:get({}))
            ngx.sleep(0.1)
            ngx.say(select("#", lru:get(key)), " ", lru:get(key))
        }
    }
--- request
GET /t
--- response_body
true 2
5
by identity nil
2 nil



=== TEST 10: core.schema validates and fills defaults into the caller's table; schema_def from C#
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            local schema = {type = "object", properties = {port = {type = "integer", default = 80}}}
            local conf = {}
            ngx.say(core.schema.check(schema, conf), " ", conf.port)
            ngx.say(core.schema.check(schema, {port = "x"}))
            ngx.say(core.schema.check(core.schema.global_rule, {id = 1}))
            ngx.say(pcall(function() core.schema.x = 1 end))
        }
    }
--- request
GET /t
--- response_body_like
true 80
false.*property "port" validation failed.*
false.*property "plugins" is required
false.*no modification allowed



=== TEST 11: core.utils: addresses, templates and header checks
--- config
    location /t {
        content_by_lua_block {
            local utils = require("apisix.core").utils
            ngx.say(select(2, utils.parse_addr("[::1]:8080")), " ", select(2, utils.parse_addr("example.com")))
            ngx.say(utils.parse_addr("10.0.0.1:90"))
            ngx.say(utils.resolve_var("${a}-$b-${c ?? dflt}-\\$a", {a = "A", b = "B"}))
            ngx.say(utils.resolve_var_with_captures("/p/$1/${2}", {"x", "y"}))
            ngx.say(utils.validate_header_field("X-Ok"), " ", utils.validate_header_field("bad:name"))
            ngx.say(utils.gethostname() ~= "", " ", require("apisix.core.math").gcd(12, 18))
        }
    }
--- request
GET /t
--- response_body
8080 nil
10.0.0.190
A-B-dflt-\$anil3
/p/x/ynil
true false
true 6
