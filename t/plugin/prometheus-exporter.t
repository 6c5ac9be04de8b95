# The prometheus exporter page as served through public-api: the series of a request (status,
# latency histogram, bandwidth) with their labels, HELP/TYPE before each metric's first series,
# route and service names with prefer_name, one count when the plugin is on a global rule and
# on the route too, labels blanked by the plugin metadata, and extra labels from plugin_attr.
BEGIN {
    $ENV{TEST_NGINX_USE_HUP} = 1;
}

use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
no_shuffle();

add_block_preprocessor(sub {
    my ($block) = @_;

    if (!$block->request) {
        $block->set_value("request", "GET /t");
    }

    my $http_config = <<_EOC_;
    server {
        listen 6797;
        location / {
            content_by_lua_block {
                ngx.say("hello from ", ngx.var.uri)
            }
        }
    }
_EOC_

    $block->set_value("http_config", $http_config);
});

run_tests();

__DATA__

=== TEST 1: routes: the metrics page, a counted route (named, in a named service), a global rule
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local base = "http://127.0.0.1:" .. ngx.var.server_port .. "/apisix/admin/"
            local puts = {
                {"routes/metrics", '{"uri":"/apisix/prometheus/metrics","plugins":{"public-api":{}}}'},
                {"services/s1", '{"name":"shop","upstream":{"nodes":{"127.0.0.1:6797":1},"type":"roundrobin"}}'},
                {"routes/r1", '{"name":"hello-route","uri":"/hello","service_id":"s1","plugins":{"prometheus":{"prefer_name":true}}}'},
                {"routes/r2", '{"uri":"/hel*","host":"foo.com","upstream":{"nodes":{"127.0.0.1:6797":1},"type":"roundrobin"},"plugins":{"prometheus":{}}}'},
                {"global_rules/g1", '{"plugins":{"prometheus":{}}}'},
            }
            for _, p in ipairs(puts) do
                local res = assert(httpc:request_uri(base .. p[1], {method = "PUT", body = p[2]}))
                if res.status >= 300 then
                    ngx.status = res.status
                    ngx.say(p[1], ": ", res.body)
                    return
                end
            end
            ngx.say("stored")
        }
    }
--- response_body
stored



=== TEST 2: requests: two to the named route, one to the wildcard route by host, one unmatched
--- pipelined_requests eval
["GET /hello", "GET /hello", "GET /hello1", "GET /nowhere"]
--- more_headers
Host: foo.com
--- error_code eval
[200, 200, 200, 404]



=== TEST 3: the page: text/plain, counters by name (prefer_name), by id and wildcard pattern, unmatched with empty labels
--- request
GET /apisix/prometheus/metrics
--- response_headers
Content-Type: text/plain
--- response_body_like eval
qr/# HELP apisix_bandwidth Total bandwidth in bytes consumed per service in APISIX
# TYPE apisix_bandwidth counter
apisix_bandwidth\{type="egress",route="",service="",consumer="",node="",request_type="traditional_http",request_llm_model="",llm_model=""\} \d+
(?:.|\n)*apisix_http_status\{code="200",route="hello-route",matched_uri="\/hello",matched_host="",service="shop",consumer="",node="127.0.0.1",request_type="traditional_http",request_llm_model="",llm_model="",response_source="upstream"\} 2
apisix_http_status\{code="200",route="r2",matched_uri="\/hel\*",matched_host="foo.com",service="",consumer="",node="127.0.0.1",request_type="traditional_http",request_llm_model="",llm_model="",response_source="upstream"\} 1
apisix_http_status\{code="404",route="",matched_uri="",matched_host="",service="",consumer="",node="",request_type="traditional_http",request_llm_model="",llm_model="",response_source="apisix"\} 1
/



=== TEST 4: the latency histogram has every bucket, in numeric order, then count and sum
--- request
GET /apisix/prometheus/metrics
--- response_body_like eval
qr/apisix_http_latency_bucket\{type="request",route="r2",service="",consumer="",node="127.0.0.1",request_type="traditional_http",request_llm_model="",llm_model="",le="1"\} \d+
apisix_http_latency_bucket\{type="request",route="r2",[^\n]*le="2"\} \d+
apisix_http_latency_bucket\{type="request",route="r2",[^\n]*le="5"\} \d+
(?:apisix_http_latency_bucket\{type="request",route="r2",[^\n]*\n){11}apisix_http_latency_bucket\{type="request",route="r2",[^\n]*le="60000"\} 1
apisix_http_latency_bucket\{type="request",route="r2",[^\n]*le="\+Inf"\} 1
(?:.|\n)*apisix_http_latency_count\{type="request",route="r2",[^\n]*\} 1
/



=== TEST 5: a method the page does not serve: public-api answers 404
--- request
POST /apisix/prometheus/metrics
--- error_code: 404



=== TEST 6: metadata blanks the node label of http_status only; refusing to blank its code
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local url = "http://127.0.0.1:" .. ngx.var.server_port .. "/apisix/admin/plugin_metadata/prometheus"
            local res = assert(httpc:request_uri(url, {method = "PUT",
                body = '{"disabled_labels":{"http_status":["code"]}}'}))
            ngx.say(res.status)
            res = assert(httpc:request_uri(url, {method = "PUT",
                body = '{"disabled_labels":{"http_status":["node"]}}'}))
            ngx.say(res.status)
            assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port .. "/hello"))
            res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port .. "/apisix/prometheus/metrics"))
            ngx.say(res.body:match('apisix_http_status{code="200",route="hello%-route"[^\n]*node="",[^\n]*} 1') and "node blanked" or res.body)
            ngx.say(res.body:match('apisix_bandwidth{type="egress",route="hello%-route",service="shop",consumer="",node="127.0.0.1"') and "bandwidth keeps node" or "no")
        }
    }
--- response_body
400
201
node blanked
bandwidth keeps node



=== TEST 7: extra labels from plugin_attr (a missing variable gives ""), under a custom export uri
--- yaml_config
plugin_attr:
    prometheus:
        export_uri: /my-metrics
        metrics:
            http_status:
                extra_labels:
                    - upstream_addr: $upstream_addr
                    - nothing: $no_such_variable
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local base = "http://127.0.0.1:" .. ngx.var.server_port
            assert(httpc:request_uri(base .. "/apisix/admin/routes/metrics", {method = "PUT",
                body = '{"uri":"/my-metrics","plugins":{"public-api":{}}}'}))
            assert(httpc:request_uri(base .. "/apisix/admin/plugin_metadata/prometheus", {method = "DELETE"}))
            assert(httpc:request_uri(base .. "/hello"))
            local res = assert(httpc:request_uri(base .. "/my-metrics"))
            ngx.say(res.status)
            ngx.say(res.body:match('apisix_http_status{code="200",route="hello%-route",[^\n]*,upstream_addr="127.0.0.1:6797",nothing=""} 1')
                and "extra labels" or res.body)
        }
    }
--- response_body
200
extra labels
