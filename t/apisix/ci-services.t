# The services t::APISIX files expect from APISIX's CI: the SSE example server on 7737 and
# httpbin at httpbin.local:8280.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
run_tests();

__DATA__

=== TEST 1: streaming chat: six events, each its own chunk, ending with [DONE]
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local httpc = http.new()
            assert(httpc:connect("127.0.0.1", 7737))
            local res = assert(httpc:request({
                method = "POST", path = "/v1/chat/completions",
                headers = { ["Content-Type"] = "application/json" },
                body = [[{"stream": true, "messages": []}]],
            }))
            local chunks = {}
            while true do
                local chunk = res.body_reader()
                if not chunk then break end
                chunks[#chunks + 1] = chunk
            end
            ngx.say(res.status, " ", res.headers["Content-Type"], " ", #chunks)
            ngx.say(chunks[#chunks] == "data: [DONE]\n\n")
            ngx.say(chunks[5]:find('"total_tokens":35', 1, true) ~= nil)
        }
    }
--- request
GET /t
--- response_body
200 text/event-stream 6
true
true



=== TEST 2: non-streaming chat answers one JSON completion; delay=true spaces events out
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local cjson = require("cjson.safe")
            local res = assert(http.new():request_uri("http://localhost:7737/v1/chat/completions", {
                method = "POST", body = [[{"messages": []}]],
            }))
            local doc = cjson.decode(res.body)
            ngx.say(res.status, " ", doc.usage.total_tokens, " ", doc.choices[1].message.content)
            local t0 = ngx.now()
            res = assert(http.new():request_uri("http://localhost:7737/v1/chat/completions?delay=true", {
                method = "POST", body = [[{"stream": true}]],
            }))
            ngx.say(ngx.now() - t0 >= 1.1)
        }
    }
--- request
GET /t
--- response_body
200 35 Hello there! How can I assist you today?
true



=== TEST 3: httpbin echoes a POST
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local cjson = require("cjson.safe")
            local res = assert(http.new():request_uri("http://httpbin.local:8280/post", {
                method = "POST", body = [[{"a":1}]], headers = { ["Content-Type"] = "application/json" },
            }))
            local doc = cjson.decode(res.body)
            ngx.say(res.status, " ", doc.json.a, " ", doc.data)
        }
    }
--- request
GET /t
--- response_body
200 1 {"a":1}



=== TEST 4: httpbin's /anything echoes any method and path, the method included
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local cjson = require("cjson.safe")
            for _, m in ipairs({"POST", "PUT"}) do
                local res = assert(http.new():request_uri("http://httpbin.local:8280/anything/x?q=1", {
                    method = m, body = "plain words", headers = { ["Content-Type"] = "text/plain" },
                }))
                local doc = cjson.decode(res.body)
                ngx.say(res.status, " ", doc.method, " ", doc.data, " ", doc.url)
            end
            local res = assert(http.new():request_uri("http://httpbin.local:8280/post", {method = "PUT"}))
            ngx.say(res.status)
        }
    }
--- request
GET /t
--- response_body
200 POST plain words http://httpbin.local:8280/anything/x?q=1
200 PUT plain words http://httpbin.local:8280/anything/x?q=1
405
