# A Claude-style client (Anthropic Messages) served by an OpenAI-style provider: the request is
# converted to Chat Completions, the answer and the stream back to Anthropic's shapes.
# An error object in the middle of an OpenAI stream has no Anthropic counterpart in the converter:
# it is dropped without a word, and the stream ends as it would have without it.
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

        location ~ ^/(hiccup|dropped)/v1/chat/completions {
            content_by_lua_block {
                -- two text deltas, then the provider gives up with an error object; the
                -- "hiccup" provider still closes with [DONE], the "dropped" one just hangs up
                ngx.header["Content-Type"] = "text/event-stream"
                for _, piece in ipairs({"Par", "tial"}) do
                    ngx.print('data: {"id":"e","model":"m","choices":[{"index":0,"delta":{"content":"' .. piece .. '"}}]}\\n\\n')
                    ngx.flush(true)
                end
                ngx.print('data: {"error":{"type":"server_error","code":"engine_down","message":"the engine stalled"}}\\n\\n')
                ngx.flush(true)
                if ngx.var[1] == "hiccup" then
                    ngx.print("data: [DONE]\\n\\n")
                end
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
            for id, path in pairs({["1"] = "plain", ["2"] = "tool", ["3"] = "stream", ["4"] = "broken",
                                   ["5"] = "hiccup", ["6"] = "dropped"}) do
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



=== TEST 6: an error object mid-stream, then [DONE]: deltas kept, error dropped, closed as end_turn
--- config
    location /t {
        content_by_lua_block {
            -- one line per Anthropic event the client got: its name and what it carries
            local cjson = require("cjson.safe")
            local res = assert(require("resty.http").new():request_uri("http://127.0.0.1:"
                .. ngx.var.server_port .. "/hiccup/v1/messages", {method = "POST",
                headers = {["Content-Type"] = "application/json"},
                body = '{"model":"claude-x","max_tokens":64,"stream":true,'
                    .. '"messages":[{"role":"user","content":"hi"}]}'}))
            ngx.say("status ", res.status, " ", res.headers["Content-Type"])
            for name, data in res.body:gmatch("event: ([%w_]+)\ndata: ([^\n]*)\n\n") do
                local ev = assert(cjson.decode(data))
                local line = {name}
                if ev.index then line[#line + 1] = "#" .. ev.index end
                if ev.content_block then line[#line + 1] = ev.content_block.type end
                if ev.delta and ev.delta.text then line[#line + 1] = ev.delta.text end
                if ev.delta and ev.delta.stop_reason then line[#line + 1] = ev.delta.stop_reason end
                if ev.usage then
                    line[#line + 1] = "in=" .. ev.usage.input_tokens .. " out=" .. ev.usage.output_tokens
                end
                if ev.error then line[#line + 1] = cjson.encode(ev.error) end
                ngx.say(table.concat(line, " "))
            end
            ngx.say("error text seen: ", res.body:find("engine", 1, true) and "yes" or "no")
        }
    }
--- response_body
status 200 text/event-stream
message_start
content_block_start #0 text
content_block_delta #0 Par
content_block_delta #0 tial
content_block_stop #0
message_delta end_turn in=0 out=0
message_stop
error text seen: no
--- no_error_log
[error]
failed to decode SSE data



=== TEST 7: an error object mid-stream, then a hang-up: deltas only, no closing or error event
--- config
    location /t {
        content_by_lua_block {
            -- one line per Anthropic event the client got: its name and what it carries
            local cjson = require("cjson.safe")
            local res = assert(require("resty.http").new():request_uri("http://127.0.0.1:"
                .. ngx.var.server_port .. "/dropped/v1/messages", {method = "POST",
                headers = {["Content-Type"] = "application/json"},
                body = '{"model":"claude-x","max_tokens":64,"stream":true,'
                    .. '"messages":[{"role":"user","content":"hi"}]}'}))
            ngx.say("status ", res.status, " ", res.headers["Content-Type"])
            for name, data in res.body:gmatch("event: ([%w_]+)\ndata: ([^\n]*)\n\n") do
                local ev = assert(cjson.decode(data))
                local line = {name}
                if ev.index then line[#line + 1] = "#" .. ev.index end
                if ev.content_block then line[#line + 1] = ev.content_block.type end
                if ev.delta and ev.delta.text then line[#line + 1] = ev.delta.text end
                if ev.delta and ev.delta.stop_reason then line[#line + 1] = ev.delta.stop_reason end
                if ev.usage then
                    line[#line + 1] = "in=" .. ev.usage.input_tokens .. " out=" .. ev.usage.output_tokens
                end
                if ev.error then line[#line + 1] = cjson.encode(ev.error) end
                ngx.say(table.concat(line, " "))
            end
            ngx.say("error text seen: ", res.body:find("engine", 1, true) and "yes" or "no")
        }
    }
--- response_body
status 200 text/event-stream
message_start
content_block_start #0 text
content_block_delta #0 Par
content_block_delta #0 tial
error text seen: no
--- no_error_log
[error]
dropping incomplete stream frame
