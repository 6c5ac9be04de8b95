# core.resolver and core.utils.dns_parse as Lua sees them: names in the hosts table answer
# first, other names go through dns_parse (which a test, or a plugin, may replace).
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

=== TEST 1: a replaced dns_parse answers for unknown names, every address sorted
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            local utils = require("apisix.core.utils")
            local saved = utils.dns_parse
            local seen_selector
            utils.dns_parse = function(host, selector)
                seen_selector = selector
                return {{address = "10.1.0.9"}, {address = "10.1.0.3"}, {address = "10.1.0.9"}}
            end
            local ips = core.resolver.parse_domain_all("models.example")
            utils.dns_parse = saved
            ngx.say(table.concat(ips, ","), " selector=", seen_selector == require("apisix.core.dns.client").RETURN_ALL)
        }
    }
--- response_body
10.1.0.3,10.1.0.9 selector=true



=== TEST 2: the hosts table wins over dns_parse; an unknown name is an error
--- config
    location /t {
        content_by_lua_block {
            local resolver = require("apisix.core.resolver")
            local utils = require("apisix.core.utils")
            local saved = utils.dns_parse
            utils.dns_parse = function() error("must not be asked") end
            local ips = resolver.parse_domain_all("localhost")
            ngx.say(ips[1], " ", resolver.parse_domain("localhost"))
            utils.dns_parse = saved
            local ip, err = resolver.parse_domain("no-such-name.invalid")
            ngx.say(tostring(ip), " ", err)
        }
    }
--- response_body
127.0.0.1 127.0.0.1
nil failed to query the DNS server: dns client error: 3 name error
--- error_log
failed to parse domain: no-such-name.invalid
