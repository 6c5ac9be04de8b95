# $env:// references in a plugin's conf: plugin.filter hands the plugin a copy with the value of
# the environment variable; a reference to a variable that is not set stays as written. The
# backend below echoes the header proxy-rewrite sets.
BEGIN {
    $ENV{PORT_GREETING} = "hello from the environment";
}

use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();

add_block_preprocessor(sub {
    my ($block) = @_;

    my $backend = <<'_EOC_';
    server {
        listen 6820;
        location / {
            content_by_lua_block {
                ngx.say("greeting: ", ngx.req.get_headers()["x-greeting"] or "-")
            }
        }
    }
_EOC_

    $block->set_value("http_config", $backend);
});

run_tests();

__DATA__

=== TEST 1: two routes whose proxy-rewrite header comes from the environment
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local routes = {
                ["routes/1"] = [[{"uri":"/set","plugins":{"proxy-rewrite":{"headers":{"set":{"X-Greeting":"$env://PORT_GREETING"}}}},
                    "upstream":{"nodes":{"127.0.0.1:6820":1}}}]],
                ["routes/2"] = [[{"uri":"/unset","plugins":{"proxy-rewrite":{"headers":{"set":{"X-Greeting":"$ENV://PORT_NOT_SET"}}}},
                    "upstream":{"nodes":{"127.0.0.1:6820":1}}}]],
            }
            for path, body in pairs(routes) do
                local httpc = http.new()
                local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                    .. "/apisix/admin/" .. path, {method = "PUT", body = body}))
                if res.status >= 300 then
                    ngx.say(path, ": ", res.body)
                    return
                end
            end
            ngx.say("passed")
        }
    }
--- request
GET /t
--- response_body
passed



=== TEST 2: the reference is replaced by the variable's value
--- request
GET /set
--- response_body
greeting: hello from the environment



=== TEST 3: a variable that is not set leaves the reference as written
proxy-rewrite then reads the "$ENV" it finds there as an nginx variable, which is empty.
--- request
GET /unset
--- response_body
greeting: ://PORT_NOT_SET
