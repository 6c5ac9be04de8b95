# A client that hangs up mid-stream: the gateway stops reading the provider within a few chunks
# instead of draining a long answer nobody will read.
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
    lua_shared_dict provider_stats 1m;
    server {
        listen 6793;
        default_type 'application/json';

        location / {
            content_by_lua_block {
                ngx.header["Content-Type"] = "text/event-stream"
                local stats = ngx.shared.provider_stats
                for i = 1, 100 do
                    local ok = ngx.print('data: {"choices":[{"delta":{"content":"w' .. i .. ' "}}]}\\n\\n')
                    if not ok or not ngx.flush(true) then
                        break
                    end
                    stats:set("sent", i)
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

=== TEST 1: route to a provider with a long stream
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                .. "/apisix/admin/routes/1", {method = "PUT", body =
                '{"uri":"/long","plugins":{"ai-proxy":{"provider":"openai-compatible",'
                .. '"auth":{"header":{"Authorization":"Bearer k"}},'
                .. '"override":{"endpoint":"http://127.0.0.1:6793/v1/chat/completions"}}}}'}))
            ngx.say(res.status < 300 and "stored" or res.body)
        }
    }
--- response_body
stored



=== TEST 2: the client reads two events and hangs up; the provider is not read to the end
--- config
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ngx.var.server_port))
            local body = '{"stream":true,"messages":[{"role":"user","content":"talk"}]}'
            assert(sock:send("POST /long HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                .. "Content-Length: " .. #body .. "\r\n\r\n" .. body))
            local got = 0
            while got < 2 do
                local line = assert(sock:receive("*l"))
                if line:find('"content"', 1, true) then
                    got = got + 1
                end
            end
            sock:close()
            ngx.sleep(1.5)
            local sent = ngx.shared.provider_stats:get("sent")
            -- 1.5 s of a drained stream would be some 30 events; an aborted one stops within a few
            ngx.say(sent < 10 and "stopped early" or ("read on to event " .. sent))
        }
    }
--- timeout: 10
--- response_body
stopped early
--- error_log
client disconnected during AI streaming, aborting upstream read
