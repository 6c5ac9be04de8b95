# A bounded load run through ai-proxy-multi, loopback only: 1000 chat requests, 50 at a time,
# over three instances of which one fails every other request. Every answer must be the good
# reply to its own request (fallback hides the failures) or the documented 502; none lost or
# mixed up. The block prints its figures.
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
    lua_shared_dict load_counts 1m;
    server {
        listen 6797;
        default_type 'application/json';

        location / {
            content_by_lua_block {
                local name = ngx.var.uri:match("^/(%w+)/")
                local n = ngx.shared.load_counts:incr(name, 1, 0)
                if name == "flaky" and n % 2 == 0 then
                    ngx.status = 500
                    ngx.say('{"error":"flaky"}')
                    return
                end
                ngx.req.read_body()
                local body = require("cjson.safe").decode(ngx.req.get_body_data())
                ngx.say(require("cjson.safe").encode({
                    choices = {{message = {role = "assistant", content = name .. ":" .. body.messages[1].content}}},
                    usage = {prompt_tokens = 1, completion_tokens = 1, total_tokens = 2},
                }))
            }
        }
    }
_EOC_

    $block->set_value("http_config", $http_config);
});

run_tests();

__DATA__

=== TEST 1: route with three instances, one of them flaky
--- config
    location /t {
        content_by_lua_block {
            local function instance(name)
                return '{"name":"' .. name .. '","provider":"openai-compatible","weight":1,'
                    .. '"auth":{"header":{"Authorization":"Bearer k"}},'
                    .. '"override":{"endpoint":"http://127.0.0.1:6797/' .. name .. '/v1/chat/completions"}}'
            end
            local httpc = require("resty.http").new()
            local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                .. "/apisix/admin/routes/1", {method = "PUT", body =
                '{"uri":"/chat","plugins":{"ai-proxy-multi":{"fallback_strategy":["http_5xx"],"instances":['
                .. instance("flaky") .. "," .. instance("steady") .. "," .. instance("calm") .. ']}}}'}))
            ngx.say(res.status < 300 and "stored" or res.body)
        }
    }
--- response_body
stored



=== TEST 2: 1000 requests, 50 concurrent: each gets its own answer
--- config
    location /t {
        content_by_lua_block {
            local total, concurrency = 1000, 50
            local ok, documented, wrong, next_id = 0, 0, 0, 0
            local started = ngx.now()
            local function worker()
                local httpc = require("resty.http").new()
                while next_id < total do
                    next_id = next_id + 1
                    local marker = "req-" .. next_id
                    local res, err = httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port .. "/chat", {
                        method = "POST",
                        body = '{"messages":[{"role":"user","content":"' .. marker .. '"}]}',
                    })
                    if res and res.status == 200 and res.body:find(":" .. marker .. '"', 1, true) then
                        ok = ok + 1
                    elseif res and res.status == 502 then
                        documented = documented + 1
                    else
                        wrong = wrong + 1
                        ngx.log(ngx.WARN, "unexpected answer for ", marker, ": ",
                                res and (res.status .. " " .. res.body) or err)
                    end
                end
            end
            local threads = {}
            for i = 1, concurrency do
                threads[i] = ngx.thread.spawn(worker)
            end
            for i = 1, concurrency do
                ngx.thread.wait(threads[i])
            end
            local elapsed = ngx.now() - started
            local counts = ngx.shared.load_counts
            ngx.say("answered: ", ok + documented + wrong, " ok: ", ok, " 502: ", documented, " wrong: ", wrong)
            ngx.say("upstream calls: flaky=", counts:get("flaky") or 0, " steady=", counts:get("steady") or 0,
                    " calm=", counts:get("calm") or 0)
            ngx.log(ngx.WARN, string.format("load: %d requests in %.2f s, %.0f req/s",
                                            total, elapsed, total / elapsed))
        }
    }
--- timeout: 120
--- response_body_like eval
qr/^answered: 1000 ok: 1000 502: 0 wrong: 0\nupstream calls: flaky=\d+ steady=\d+ calm=\d+\n$/
--- error_log eval
qr/load: 1000 requests in [\d.]+ s, \d+ req\/s/
