# A Claude-style client (Anthropic Messages) served by an OpenAI-style provider: the request is
# converted to Chat Completions, the answer and the stream back to Anthropic's shapes.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();

add_block_preprocessor(sub {
    my ($block) = @_;

    if (!$block->request) {
        $block->set_value("request", "GET /t");
    }

    my $http_config = <<_EOC_;
    server {
        listen 6794;
        default_type 'application/json';

        location /plain/v1/chat/completions {
            content_by_lua_block {
                ngx.req.read_body()
                local req = require("cjson.safe").decode(ngx.req.get_body_data())
                ngx.say(require("cjson.safe").encode({
                    id = "c1", object = "chat.completion", model = req.model,
                    choices = {{index = 0, finish_reason = "stop",
                                message = {role = "assistant", content = "seen " .. #req.messages .. " messages"}}},
                    usage = {prompt_tokens = 11, completion_tokens = 4, total_tokens = 15},
                }))
            }
        }

        location /tool/v1/chat/completions {
            content_by_lua_block {
                ngx.say([[{"id":"c2","object":"chat.completion","model":"m","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Oslo\\"}"}}]}}],"usage":{"prompt_tokens":20,"completion_tokens":6,"total_tokens":26}}]])
            }
        }

        location /stream/v1/chat/completions {
            content_by_lua_block {
                ngx.header["Content-Type"] = "text/event-stream"
                ngx.print('data: {"id":"s","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}\\n\\n')
                ngx.flush(true)
                ngx.print('data: {"id":"s","model":"m","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}\\n\\n')
                ngx.print('data: {"id":"s","model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\\n\\n')
                ngx.print("data: [DONE]\\n\\n")
            }
        }

        location /broken/v1/chat/completions {
            content_by_lua_block {
                ngx.status = 400
                ngx.say([[{"error":{"code":"model_not_found","message":"no such model here"}}]])
            }
        }
    }
_EOC_

    $block->set_value("http_config", $http_config);
});

run_tests();

__DATA__

=== TEST 1: one route per provider behaviour, all on the Messages path
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            for id, path in pairs({["1"] = "plain", ["2"] = "tool", ["3"] = "stream", ["4"] = "broken"}) do
                local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                    .. "/apisix/admin/routes/" .. id, {method = "PUT", body =
                    '{"uri":"/' .. path .. '/v1/messages","plugins":{"ai-proxy":{"provider":"openai-compatible",'
                    .. '"auth":{"header":{"Authorization":"Bearer k"}},'
                    .. '"override":{"endpoint":"http://127.0.0.1:6794/' .. path .. '/v1/chat/completions"}}}}'}))
                assert(res.status < 300, res.body)
            end
            ngx.say("stored")
        }
    }
--- response_body
stored



=== TEST 2: a plain reply comes back as an Anthropic message with its usage
--- request
POST /plain/v1/messages
{"model":"claude-x","max_tokens":64,"system":"be brief","messages":[{"role":"user","content":"hi"}]}
--- response_body eval
qr/"type":"message".*"text":"seen 2 messages".*"input_tokens":11.*"output_tokens":4/s



=== TEST 3: a tool call comes back as a tool_use block with parsed input
--- request
POST /tool/v1/messages
{"model":"claude-x","max_tokens":64,"messages":[{"role":"user","content":"weather?"}],"tools":[{"name":"get_weather","input_schema":{"type":"object"}}]}
--- response_body eval
qr/"type":"tool_use".*"name":"get_weather".*"input":\{"city":"Oslo"\}.*"stop_reason":"tool_use"/s



=== TEST 4: a stream comes back as Anthropic events, text deltas and usage included
--- request
POST /stream/v1/messages
{"model":"claude-x","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}
--- response_body eval
qr/event: message_start.*event: content_block_delta.*"text":"Hel".*"text":"lo".*event: message_delta.*"output_tokens":2.*event: message_stop/s



=== TEST 5: a provider's error object comes back in Anthropic's error shape, status kept
--- request
POST /broken/v1/messages
{"model":"claude-x","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}
--- error_code: 400
--- response_body chomp
{"type":"error","error":{"type":"model_not_found","message":"no such model here"}}
