# The guards against a runaway stream: a provider that never stops is cut off by duration or by
# size, with the line saying which limit hit; before any output the client gets an error status.
# A whole (not streamed) answer is held to max_response_bytes too: refused up front when its
# Content-Length says it is too big, or as soon as the chunks read pass the limit.
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
        listen 6795;
        default_type 'application/json';

        location /whole/ {
            content_by_lua_block {
                -- a plain JSON answer, far bigger than the route accepts; the padding is
                -- a long assistant message so the body stays valid JSON throughout
                local head = '{"choices":[{"index":0,"message":{"role":"assistant","content":"'
                local tail = '"}}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}'
                local body = head .. string.rep("z", 30000) .. tail
                ngx.header["Content-Type"] = "application/json"
                if ngx.var.uri:find("sized", 1, true) then
                    ngx.header["Content-Length"] = #body
                    ngx.print(body)
                    return
                end
                -- no length announced: the same body in 3000-byte chunks
                for i = 1, #body, 3000 do
                    if not ngx.print(body:sub(i, i + 2999)) or not ngx.flush(true) then
                        return
                    end
                end
            }
        }

        location / {
            content_by_lua_block {
                ngx.header["Content-Type"] = "text/event-stream"
                local big = ngx.var.uri:find("big", 1, true)
                for i = 1, 200 do
                    local text = big and string.rep("x", 400) or ("tick" .. i)
                    local ok = ngx.print('data: {"choices":[{"delta":{"content":"' .. text .. '"}}]}\\n\\n')
                    if not ok or not ngx.flush(true) then
                        return
                    end
                    ngx.sleep(0.05)
                end
            }
        }
    }
_EOC_

    $block->set_value("http_config", $http_config);
});

run_tests();

__DATA__

=== TEST 1: routes: one limited by duration, one by size, two whole answers limited by size
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            for id, spec in pairs({
                ["1"] = {"slow", '"max_stream_duration_ms": 300'},
                ["2"] = {"big", '"max_response_bytes": 2000'},
                ["3"] = {"whole/sized", '"max_response_bytes": 4096'},
                ["4"] = {"whole/chunked", '"max_response_bytes": 4096'},
            }) do
                local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                    .. "/apisix/admin/routes/" .. id, {method = "PUT", body =
                    '{"uri":"/s' .. id .. '","plugins":{"ai-proxy":{"provider":"openai-compatible",'
                    .. '"auth":{"header":{"Authorization":"Bearer k"}},' .. spec[2] .. ','
                    .. '"override":{"endpoint":"http://127.0.0.1:6795/' .. spec[1] .. '/v1/chat/completions"}}}}'}))
                assert(res.status < 300, res.body)
            end
            ngx.say("stored")
        }
    }
--- response_body
stored



=== TEST 2: a stream running past max_stream_duration_ms is cut, with what was sent kept
--- request
POST /s1
{"stream":true,"messages":[{"role":"user","content":"go"}]}
--- response_body_like eval
qr/tick1".*tick\d+/s
--- response_body_unlike eval
qr/tick200/
--- error_log eval
qr/aborting AI stream: max_stream_duration_ms exceeded; bytes=\d+ duration_ms=\d+ route_id=1/



=== TEST 3: a stream growing past max_response_bytes is cut
--- request
POST /s2
{"stream":true,"messages":[{"role":"user","content":"go"}]}
--- error_log eval
qr/aborting AI stream: max_response_bytes exceeded; bytes=\d+ duration_ms=\d+ route_id=2/
--- response_body_unlike eval
qr/(?:x{400}.*){10}/s



=== TEST 4: a whole answer whose Content-Length is over max_response_bytes is refused with 502
--- request
POST /s3
{"messages":[{"role":"user","content":"go"}]}
--- error_code: 502
--- response_body chomp
max_response_bytes exceeded
--- error_log eval
qr/aborting AI response: Content-Length 30136 exceeds max_response_bytes 4096/
--- no_error_log
aborting AI stream



=== TEST 5: a whole answer without a length is refused once the chunks read pass the limit
--- request
POST /s4
{"messages":[{"role":"user","content":"go"}]}
--- error_code: 502
--- response_body chomp
max_response_bytes exceeded
--- error_log eval
qr/aborting AI response: body size exceeds max_response_bytes 4096 \(read \d+ bytes\)/
--- no_error_log
aborting AI response: Content-Length
