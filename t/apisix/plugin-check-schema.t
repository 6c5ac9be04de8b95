# Lua code can require the C# plugins under their upstream names and call check_schema, which
# writes schema defaults into the caller's own table.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
run_tests();

__DATA__

=== TEST 1: a valid ai-proxy conf is accepted and gains its defaults in place
--- config
    location /t {
        content_by_lua_block {
            local plugin = require("apisix.plugins.ai-proxy")
            local conf = {
                provider = "deepseek",
                auth = { header = { Authorization = "Bearer k" } },
                options = { model = "m" },
            }
            local ok, err = plugin.check_schema(conf)
            ngx.say(plugin.name, " ", plugin.priority, " ", ok, " ", err)
            ngx.say(conf.timeout, " ", conf.keepalive, " ", conf.ssl_verify)
        }
    }
--- request
GET /t
--- response_body
ai-proxy 1040 true nil
30000 true true



=== TEST 2: an invalid conf is refused with the schema's message
--- config
    location /t {
        content_by_lua_block {
            local plugin = require("apisix.plugins.ai-proxy-multi")
            local ok, err = plugin.check_schema({ instances = {} })
            ngx.say(ok, " ", err)
        }
    }
--- request
GET /t
--- response_body
false property "instances" validation failed: expect array to have at least 1 items
