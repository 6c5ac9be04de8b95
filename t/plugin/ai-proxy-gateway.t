# ai-proxy end to end: a route whose plugin sends the chat request to a mock LLM server
# (declared in http_config below) and hands its answer back, error bodies included.
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
        listen 6799;
        default_type 'application/json';

        location /ok/v1/chat/completions {
            content_by_lua_block {
                ngx.req.read_body()
                local body = require("cjson.safe").decode(ngx.req.get_body_data())
                ngx.header["X-Not-Forwarded"] = "mock"
                ngx.say([[{"model":"mock-model","choices":[{"index":0,"message":{"role":"assistant","content":"four, said ]]
                    .. body.model .. [["}}],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}]])
            }
        }

        location /echo/v1/chat/completions {
            content_by_lua_block {
                ngx.req.read_body()
                ngx.print(ngx.req.get_body_data())
            }
        }

        location /overloaded/v1/chat/completions {
            content_by_lua_block {
                ngx.status = 503
                ngx.header["Content-Type"] = "application/problem+json"
                ngx.say([[{"error":{"type":"overloaded","message":"try again later"}}]])
            }
        }

        location /limited/v1/chat/completions {
            content_by_lua_block {
                ngx.status = 429
                ngx.header["Content-Type"] = "text/plain"
                ngx.print("slow down")
            }
        }

        location /stream/v1/chat/completions {
            content_by_lua_block {
                ngx.header["Content-Type"] = "text/event-stream"
                for i, word in ipairs({"one", "two"}) do
                    ngx.print('data: {"choices":[{"delta":{"content":"' .. word .. '"}}]}\\n\\n')
                    ngx.flush(true)
                end
                ngx.print('data: {"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":2,"total_tokens":4}}\\n\\n')
                ngx.print("data: [DONE]\\n\\n")
            }
        }
    }
_EOC_

    $block->set_value("http_config", $http_config);
});

run_tests();

__DATA__

=== TEST 1: routes, one per mock behaviour
--- config
    location /t {
        content_by_lua_block {
            local function route(id, uri, path, extra)
                local httpc = require("resty.http").new()
                local res, err = httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                    .. "/apisix/admin/routes/" .. id, {method = "PUT", body = [[{
                    "uri": "]] .. uri .. [[",
                    "plugins": {
                        "ai-proxy": {
                            "provider": "openai-compatible",
                            "auth": {"header": {"Authorization": "Bearer secret"}},
                            ]] .. (id == "6" and "" or [["options": {"model": "pinned-model"},]]) .. [[
                            "override": {"endpoint": "http://127.0.0.1:6799/]] .. path .. [[/v1/chat/completions"}
                            ]] .. (extra or "") .. [[
                        }
                    }
                }]]})
                if not res then
                    return 500, err
                end
                return res.status, res.body
            end
            for _, r in ipairs({
                {"1", "/ok", "ok"},
                {"2", "/overloaded", "overloaded"},
                {"3", "/limited", "limited"},
                {"4", "/stream", "stream"},
                {"5", "/small", "ok", [[, "max_req_body_size": 16]]},
                {"6", "/echo", "echo"},
            }) do
                local code, body = route(r[1], r[2], r[3], r[4])
                if code >= 300 then
                    ngx.status = code
                    ngx.say(body)
                    return
                end
            end
            ngx.say("passed")
        }
    }
--- response_body
passed



=== TEST 2: a plain answer comes back with the provider's body and Content-Type only; the pinned model was sent
--- request
POST /ok
{"model":"client-model","messages":[{"role":"user","content":"2+2?"}]}
--- response_headers
X-Not-Forwarded:
Content-Type: application/json
--- response_body_like eval
qr/"content":"four, said pinned-model"/
--- access_log eval
qr/client-model pinned-model \d+ 7 3 10 false false 0 /



=== TEST 3: a 503 from the provider reaches the client with its body and Content-Type
--- request
POST /overloaded
{"messages":[{"role":"user","content":"hi"}]}
--- error_code: 503
--- response_headers
Content-Type: application/problem+json
--- response_body
{"error":{"type":"overloaded","message":"try again later"}}
--- error_log
ai-proxy exits with http status code 503



=== TEST 4: a 429 from the provider reaches the client with its body and Content-Type
--- request
POST /limited
{"messages":[{"role":"user","content":"hi"}]}
--- error_code: 429
--- response_headers
Content-Type: text/plain
--- response_body chomp
slow down



=== TEST 5: a stream is forwarded event by event and its usage is counted
--- request
POST /stream
{"stream":true,"messages":[{"role":"user","content":"count"}]}
--- response_headers
Content-Type: text/event-stream
--- response_body eval
qr/"content":"one".*"content":"two".*\[DONE\]/s
--- access_log eval
qr/"  pinned-model \d+ 2 2 4 true false 0 /



=== TEST 6: a body over max_req_body_size is refused with 413
--- request
POST /small
{"messages":[{"role":"user","content":"far too long for the limit"}]}
--- error_code: 413
--- error_log
failed to read request body: could not get body: request size 69 is greater than the maximum size 16 allowed



=== TEST 7: only JSON bodies are accepted
--- request
POST /ok
a=1
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- response_body chomp
unsupported content-type: application/x-www-form-urlencoded, only application/json is supported



=== TEST 8: a body that is not JSON gets cjson's own message
--- request
POST /ok
{"messages": oops}
--- error_code: 400
--- response_body
{"message":"could not parse JSON request body: Expected value but found invalid token at character 14"}



=== TEST 9: a body nothing rewrote is forwarded byte for byte, spacing and key order kept
--- request
POST /echo
{ "messages" : [ {"role": "user", "content": "hi"} ],   "temperature" : 0.5 }
--- response_body chomp
{ "messages" : [ {"role": "user", "content": "hi"} ],   "temperature" : 0.5 }



=== TEST 10: an empty body is refused with the request module's message
--- request
POST /ok
--- error_code: 400
--- response_body
{"message":"could not get body: request body is empty"}



=== TEST 11: the stream reaches the client in the provider's chunks, not buffered whole
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            assert(httpc:connect("127.0.0.1", ngx.var.server_port))
            local res = assert(httpc:request({method = "POST", path = "/stream",
                headers = {["Content-Type"] = "application/json"},
                body = '{"stream":true,"messages":[{"role":"user","content":"count"}]}'}))
            local chunks = {}
            while true do
                local chunk = res.body_reader()
                if not chunk then break end
                chunks[#chunks + 1] = chunk
            end
            ngx.say(#chunks, " chunks; first: ", chunks[1]:match('"content":"(%w+)"'))
        }
    }
--- response_body
4 chunks; first: one



=== TEST 12: a provider the schema does not know gets the schema's message
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                .. "/apisix/admin/routes/9", {method = "PUT", body = [[{"uri":"/x","plugins":{"ai-proxy":
                {"provider":"no-such-llm","auth":{"header":{"k":"v"}}}}}]]}))
            ngx.status = res.status
            ngx.print(res.body)
        }
    }
--- error_code: 400
--- response_body
{"error_msg":"failed to check the configuration of plugin ai-proxy err: property \"provider\" validation failed: matches none of the enum values"}
