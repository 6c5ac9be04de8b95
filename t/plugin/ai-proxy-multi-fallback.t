# ai-proxy-multi falling back between instances: which failures move on to the next instance,
# what the client sees when none does, and what the error log keeps of the failed attempt.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();

add_block_preprocessor(sub {
    my ($block) = @_;

    if (!$block->request) {
        $block->set_value("request", "GET /t");
    }

    my $http_config = $block->http_config // <<_EOC_;
    server {
        listen 6798;
        default_type 'application/json';

        location /good/v1/chat/completions {
            content_by_lua_block {
                ngx.say([[{"choices":[{"message":{"role":"assistant","content":"from the good one"}}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}]])
            }
        }

        location /down/v1/chat/completions {
            content_by_lua_block {
                ngx.status = 502
                ngx.say([[{"error":"backend down"}]])
            }
        }

        location /busy/v1/chat/completions {
            content_by_lua_block {
                ngx.status = 429
                ngx.say([[{"error":"quota"}]])
            }
        }

        location /slow/v1/chat/completions {
            content_by_lua_block {
                ngx.sleep(0.3)
                ngx.status = 500
                ngx.say([[{"error":"slow failure"}]])
            }
        }
    }
_EOC_

    $block->set_value("http_config", $http_config);
});

run_tests();

__DATA__

=== TEST 1: routes: a failing instance first (higher priority), a good one as fallback
--- config
    location /t {
        content_by_lua_block {
            local function instance(name, path, priority)
                return [[{"name": "]] .. name .. [[", "provider": "openai-compatible", "weight": 1,
                    "priority": ]] .. priority .. [[, "auth": {"header": {"Authorization": "Bearer k"}},
                    "override": {"endpoint": "http://127.0.0.1:6798/]] .. path .. [[/v1/chat/completions"}}]]
            end
            local function route(id, instances, extra)
                local httpc = require("resty.http").new()
                local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                    .. "/apisix/admin/routes/" .. id, {method = "PUT", body =
                        '{"uri": "/r' .. id .. '", "plugins": {"ai-proxy-multi": {"instances": ['
                        .. instances .. ']' .. extra .. '}}}'}))
                if res.status >= 300 then
                    ngx.say(id, ": ", res.status, " ", res.body)
                end
            end
            route(1, instance("down", "down", 10) .. "," .. instance("good", "good", 0), [[, "fallback_strategy": ["http_5xx"] ]])
            route(2, instance("down", "down", 10) .. "," .. instance("good", "good", 0), [[, "fallback_strategy": ["http_429"] ]])
            route(3, instance("busy", "busy", 10) .. "," .. instance("good", "good", 0), [[, "fallback_strategy": "http_429", "max_retries": 0]])
            route(4, instance("down", "down", 10) .. "," .. instance("busy", "busy", 0), [[, "fallback_strategy": ["http_5xx", "http_429"] ]])
            route(5, instance("slow", "slow", 10) .. "," .. instance("good", "good", 0), [[, "fallback_strategy": ["http_5xx"], "retry_on_failure_within_ms": 100]])
            route(6, instance("busy", "busy", 10) .. "," .. instance("good", "good", 0), [[, "fallback_strategy": "http_429"]])
            ngx.say("done")
        }
    }
--- response_body
done



=== TEST 2: a 502 with http_5xx in the strategy falls back; the failed body is logged, not returned
--- request
POST /r1
{"messages":[{"role":"user","content":"hi"}]}
--- response_body_like eval
qr/from the good one/
--- error_log
ai instance down returned status 502, falling back to good. upstream error body: {"error":"backend down"}



=== TEST 3: a 502 when the strategy only covers 429 reaches the client with its body
--- request
POST /r2
{"messages":[{"role":"user","content":"hi"}]}
--- error_code: 502
--- response_body
{"error":"backend down"}
--- no_error_log
falling back



=== TEST 4: max_retries 0 stops the fallback and returns the 429
--- request
POST /r3
{"messages":[{"role":"user","content":"hi"}]}
--- error_code: 429
--- response_body
{"error":"quota"}
--- error_log
reached max_retries 0, not retrying



=== TEST 5: every instance failing ends with 502 once the picker has nothing left
--- request
POST /r4
{"messages":[{"role":"user","content":"hi"}]}
--- error_code: 502
--- error_log
ai instance down returned status 502, falling back to busy
failed to pick new AI instance: all servers tried
--- ignore_error_log



=== TEST 6: a failure slower than retry_on_failure_within_ms is returned, not retried
--- request
POST /r5
{"messages":[{"role":"user","content":"hi"}]}
--- error_code: 500
--- response_body
{"error":"slow failure"}
--- error_log eval
qr/ai instance failed after \d+(\.\d+)?ms, exceeding retry_on_failure_within_ms 100, not retrying/



=== TEST 7: a 429 falls back when the strategy is the string form
--- request
POST /r6
{"messages":[{"role":"user","content":"hi"}]}
--- response_body_like eval
qr/from the good one/
--- error_log
ai instance busy returned status 429, falling back to good. upstream error body: {"error":"quota"}



=== TEST 8: the picker kept for the route serves later requests the same way
--- request eval
[
"POST /r4\n{\"messages\":[{\"role\":\"user\",\"content\":\"one\"}]}",
"POST /r4\n{\"messages\":[{\"role\":\"user\",\"content\":\"two\"}]}",
]
--- error_code eval
[502, 502]
--- grep_error_log eval
qr/failed to get server from current priority \d+/
--- grep_error_log_out
failed to get server from current priority 10
failed to get server from current priority 0
--- ignore_error_log
