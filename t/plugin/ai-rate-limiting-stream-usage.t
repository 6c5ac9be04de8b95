# ai-rate-limiting counts the tokens ai-proxy reports for the same response. A stream whose usage
# arrives only in its last event (after the finish_reason chunk) must still be counted in full:
# the limiter's log line, ai-proxy's own token variables (in the access log) and the prometheus
# token counters all show 9 prompt + 26 completion = 35 tokens, and the next request sees the
# window's remainder shrink by exactly 35.
# The blocks share the counters (the limiter's and prometheus's shared dicts) as one nginx reloaded between them.
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
        listen 6796;
        default_type 'application/json';

        location /v1/chat/completions {
            content_by_lua_block {
                ngx.req.read_body()
                local body = ngx.req.get_body_data() or ""
                if not body:find('"stream":true', 1, true) then
                    ngx.print('{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},'
                        .. '"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":3,"total_tokens":5}}')
                    return
                end
                ngx.header["Content-Type"] = "text/event-stream"
                local events = {
                    '{"choices":[{"index":0,"delta":{"role":"assistant","content":"lorem "}}]}',
                    '{"choices":[{"index":0,"delta":{"content":"ipsum "}}]}',
                    '{"choices":[{"index":0,"delta":{"content":"dolor"}}]}',
                    '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
                    -- the usage comes alone, in the very last event before [DONE]
                    '{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":26,"total_tokens":35}}',
                }
                for _, e in ipairs(events) do
                    ngx.print("data: " .. e .. "\\n\\n")
                    ngx.flush(true)
                    ngx.sleep(0.01)
                end
                ngx.print("data: [DONE]\\n\\n")
            }
        }
    }
_EOC_

    $block->set_value("http_config", $http_config);
});

run_tests();

__DATA__

=== TEST 1: a route with ai-proxy (streaming provider), ai-rate-limiting (100 tokens a minute) and prometheus
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local base = "http://127.0.0.1:" .. ngx.var.server_port .. "/apisix/admin/routes/"
            local routes = {
                metrics = '{"uri":"/apisix/prometheus/metrics","plugins":{"public-api":{}}}',
                ["1"] = '{"uri":"/chat","plugins":{'
                    .. '"ai-proxy":{"provider":"openai","auth":{"header":{"Authorization":"Bearer token"}},'
                    .. '"options":{"model":"gpt-4"},"override":{"endpoint":"http://127.0.0.1:6796"}},'
                    .. '"ai-rate-limiting":{"limit":100,"time_window":60},'
                    .. '"prometheus":{}}}',
            }
            for _, id in ipairs({"metrics", "1"}) do
                local res = assert(httpc:request_uri(base .. id, {method = "PUT", body = routes[id]}))
                if res.status >= 300 then
                    ngx.status = res.status
                    ngx.say(res.body)
                    return
                end
            end
            ngx.say("passed")
        }
    }
--- response_body
passed



=== TEST 2: a stream whose usage comes last: the whole stream reaches the client, 100 tokens left before it
--- request
POST /chat
{"stream":true,"messages":[{"role":"user","content":"hi"}]}
--- more_headers
Content-Type: application/json
--- response_headers
X-AI-RateLimit-Remaining-ai-proxy-openai: 100
X-AI-RateLimit-Limit-ai-proxy-openai: 100
--- response_body_like eval
qr/lorem .*ipsum .*dolor.*"total_tokens":35.*\[DONE\]/s
--- error_log
instance name: ai-proxy-openai used tokens: 35
--- no_error_log
failed to get token usage for llm service



=== TEST 3: what ai-proxy reported for that stream: 9 prompt and 26 completion tokens
--- request
GET /apisix/prometheus/metrics
--- response_body_like eval
qr/apisix_llm_completion_tokens\{route_id="1",service_id="",consumer="",node="[^"]*",request_type="ai_stream",request_llm_model="",llm_model="gpt-4"\} 26\n(?:.|\n)*apisix_llm_prompt_tokens\{route_id="1",service_id="",consumer="",node="[^"]*",request_type="ai_stream",request_llm_model="",llm_model="gpt-4"\} 9\n/



=== TEST 4: the next request sees exactly those 35 tokens gone from the window
--- request
POST /chat
{"messages":[{"role":"user","content":"hi"}]}
--- more_headers
Content-Type: application/json
--- response_headers
X-AI-RateLimit-Remaining-ai-proxy-openai: 65
--- error_log
instance name: ai-proxy-openai used tokens: 5



=== TEST 5: streamed again (35 more), then 25 are left for the next request
--- pipelined_requests eval
["POST /chat\n{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
 "POST /chat\n{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"]
--- more_headers
Content-Type: application/json
--- response_headers eval
["X-AI-RateLimit-Remaining-ai-proxy-openai: 60", "X-AI-RateLimit-Remaining-ai-proxy-openai: 25"]
