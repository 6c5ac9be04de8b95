# apisix_upstream_response_time: empty while the request is routed, then filled in the log
# phase from $upstream_response_time, so a log-phase function sees both agree.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();

add_block_preprocessor(sub {
    my ($block) = @_;
    my $backend = <<'_EOC_';
    server {
        listen 6850;
        location /slowish { content_by_lua_block { ngx.sleep(0.05) ngx.say("done") } }
    }
_EOC_
    $block->set_value("http_config", $backend);
});

run_tests();

__DATA__

=== TEST 1: a route whose log-phase function compares the two
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local res = http.new():request_uri("http://127.0.0.1:" .. ngx.var.server_port
                .. "/apisix/admin/routes/1", {method = "PUT", body = [[{
                "uri": "/slowish",
                "upstream": {"type": "roundrobin", "nodes": {"127.0.0.1:6850": 1}},
                "plugins": {"serverless-post-function": {"phase": "log", "functions": [
                    "return function(conf, ctx) ngx.log(ngx.WARN, 'times: [', tostring(ctx.var.apisix_upstream_response_time), '] [', tostring(ngx.var.upstream_response_time), ']') end"]}}
            }]]})
            ngx.say(res.status)
        }
    }
--- request
GET /t
--- response_body
201



=== TEST 2: both carry the same upstream time
--- request
GET /slowish
--- response_body
done
--- error_log eval
qr/times: \[(\d+\.\d+)\] \[\1\]/
