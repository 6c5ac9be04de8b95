# resty.healthcheck from Lua: checkers made in a block share target state through the shm.
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

=== TEST 1: a target added unhealthy by one checker reads unhealthy from another of the same name
--- config
    location /t {
        content_by_lua_block {
            local healthcheck = require("resty.healthcheck")
            local checks = {active = {type = "http", http_path = "/ping",
                healthy = {interval = 0}, unhealthy = {interval = 0}}}
            local first = assert(healthcheck.new({name = "upstream#probe", shm_name = "upstream-healthcheck", checks = checks}))
            assert(first:add_target("127.0.0.1", 16001, nil, false))
            assert(first:add_target("127.0.0.1", 16002, nil, true))
            first:stop()
            local second = assert(healthcheck.new({name = "upstream#probe", shm_name = "upstream-healthcheck", checks = checks}))
            ngx.say(tostring(second:get_target_status("127.0.0.1", 16001)), " ",
                    tostring(second:get_target_status("127.0.0.1", 16002)))
            local status, err = second:get_target_status("127.0.0.1", 16003)
            ngx.say(tostring(status), " ", err)
            second:stop()
        }
    }
--- response_body
false true
nil target not found
