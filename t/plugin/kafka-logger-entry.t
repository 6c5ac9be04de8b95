# kafka-logger next to ai-proxy: the entry each request produces reaches
# apisix.utils.batch-processor-manager through its module table, so a replacement installed
# from init Lua (as an operator's debugging hook would be) sees it. The broker is never reached:
# the port has no Kafka producer and the batch fails with an error that says so.
use t::APISIX 'no_plan';

log_level("info");
repeat_each(1);
no_long_string();
no_root_location();

add_block_preprocessor(sub {
    my ($block) = @_;

    if (!$block->request) {
        $block->set_value("request", "GET /t");
    }

    my $init = $block->extra_init_by_lua // <<_EOC_;
    local mgr = require("apisix.utils.batch-processor-manager")
    local cjson = require("cjson.safe")
    for _, fname in ipairs({"add_entry", "add_entry_to_new_processor"}) do
        local orig = mgr[fname]
        mgr[fname] = function(self, conf, entry, ...)
            local took = orig(self, conf, entry, ...)
            ngx.log(ngx.WARN, "observed ", fname, " -> ", tostring(took), " topic=",
                    conf.kafka_topic, " entry=", cjson.encode(entry))
            return took
        end
    end
_EOC_
    $block->set_value("extra_init_by_lua", $init);

    my $http_config = $block->http_config // <<_EOC_;
    server {
        listen 6811;
        default_type 'application/json';

        location /v1/chat/completions {
            content_by_lua_block {
                ngx.req.read_body()
                ngx.say([[{"model":"asked-model","choices":[{"index":0,"message":{"role":"assistant","content":"forty-two"}}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}]])
            }
        }
    }
_EOC_
    $block->set_value("http_config", $http_config);
});

run_tests();

__DATA__

=== TEST 1: three routes: full AI logging, summaries only, none
--- config
    location /t {
        content_by_lua_block {
            local function route(id, logging)
                local httpc = require("resty.http").new()
                local res, err = httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                    .. "/apisix/admin/routes/" .. id, {method = "PUT", body = [[{
                    "uri": "/chat]] .. id .. [[",
                    "plugins": {
                        "ai-proxy": {
                            "provider": "openai-compatible",
                            "auth": {"header": {"Authorization": "Bearer k"}},
                            "options": {"model": "asked-model"},
                            "override": {"endpoint": "http://127.0.0.1:6811/v1/chat/completions"},
                            "logging": ]] .. logging .. [[
                        },
                        "kafka-logger": {
                            "brokers": [{"host": "127.0.0.1", "port": 19092}],
                            "kafka_topic": "topic-]] .. id .. [[",
                            "batch_max_size": 1
                        }
                    }
                }]]})
                if not res then
                    return 500, err
                end
                return res.status, res.body
            end
            for id, logging in ipairs({
                [[{"summaries": true, "payloads": true}]],
                [[{"summaries": true, "payloads": false}]],
                [[{"summaries": false, "payloads": false}]],
            }) do
                local code, body = route(id, logging)
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



=== TEST 2: summaries and payloads: the entry carries all three AI fields next to the full log
--- request
POST /chat1?lang=en
{"messages":[{"role":"user","content":"the answer to everything?"}]}
--- wait: 1
--- error_log eval
[
qr/observed add_entry -> false topic=topic-1 /,
qr/observed add_entry_to_new_processor -> true topic=topic-1 entry=\{.*"llm_summary":\{[^}]*"model":"asked-model"/,
qr/entry=\{.*"llm_summary":\{[^}]*"total_tokens":7/,
qr/entry=\{.*"llm_request":\{[^}]*"content":"the answer to everything\?"/,
qr/entry=\{.*"llm_request":\{.*"stream":false/,
qr/entry=\{.*"llm_response_text":\{"content":"forty-two"\}/,
qr/entry=\{.*"request":\{.*"method":"POST"/,
qr/entry=\{.*"querystring":\{"lang":"en"\}/,
qr/entry=\{.*"route_id":"1"/,
qr/entry=\{.*"response":\{.*"status":200/,
qr/Batch Processor\[kafka logger\] failed to process entries: failed to send data to Kafka topic: sending to Kafka is not ported .*brokers: \[\{.*"port":19092/,
]



=== TEST 3: the same route twice in one run: the second entry goes to the processor the first created
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            for _, q in ipairs({"first", "again"}) do
                local res, err = httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port .. "/chat1",
                    {method = "POST", body = [[{"messages":[{"role":"user","content":"]] .. q .. [["}]}]]})
                ngx.say(res and res.status or err)
            end
        }
    }
--- response_body
200
200
--- error_log eval
[
qr/observed add_entry -> false topic=topic-1 entry=\{.*"content":"first"/,
qr/observed add_entry_to_new_processor -> true topic=topic-1 entry=\{.*"content":"first"/,
qr/observed add_entry -> true topic=topic-1 entry=\{.*"llm_request":\{[^}]*"content":"again"/,
]



=== TEST 4: summaries only: no request or response text in the entry
--- request
POST /chat2
{"messages":[{"role":"user","content":"secret prompt"}]}
--- error_log eval
qr/observed add_entry_to_new_processor -> true topic=topic-2 entry=\{.*"llm_summary":\{[^}]*"model":"asked-model"/
--- no_error_log
llm_request
llm_response_text
secret prompt



=== TEST 5: no AI logging: a plain full log entry
--- request
POST /chat3
{"messages":[{"role":"user","content":"quiet"}]}
--- error_log eval
qr/observed add_entry_to_new_processor -> true topic=topic-3 entry=\{.*"upstream":"127.0.0.1:6811"/
--- no_error_log
llm_summary
llm_request
llm_response_text



=== TEST 6: the unpatched manager from Lua: a processor per conf, batches of batch_max_size, retries then drop
--- extra_init_by_lua
--- config
    location /t {
        content_by_lua_block {
            local mgr = require("apisix.utils.batch-processor-manager").new("unit")
            local conf = {name = "unit", batch_max_size = 2, max_retry_count = 1, retry_delay = 0,
                          buffer_duration = 60, inactive_timeout = 1}
            local calls = {}
            local function func(entries, size)
                calls[#calls + 1] = #entries .. "/" .. size .. ":" .. table.concat(entries, ",")
                if entries[1] == "bad" then
                    return false, "refused"
                end
                return true
            end
            ngx.say("first add_entry: ", tostring(mgr:add_entry(conf, "a")))
            ngx.say("new processor: ", tostring(mgr:add_entry_to_new_processor(conf, "a", {var = {}}, func)))
            ngx.say("second add_entry: ", tostring(mgr:add_entry(conf, "b")))
            ngx.sleep(0.1)
            ngx.say("after a full batch: ", table.concat(calls, " "))
            mgr:add_entry(conf, "bad")
            -- the buffer timer fires about 2 s later (the first tick finds the entry too young);
            -- poll rather than sleep a fixed time, so that a loaded machine's late timers pass too
            for _ = 1, 60 do
                if #calls >= 3 then break end
                ngx.sleep(0.1)
            end
            ngx.say("after the inactive timeout: ", table.concat(calls, " "))
            ngx.say("pushed: ", mgr.total_pushed_entries)
            local other = {name = "unit", batch_max_size = 0}
            ngx.say("invalid conf: ", tostring(mgr:add_entry_to_new_processor(other, "x", {var = {}}, func)))
        }
    }
--- timeout: 10
--- response_body
first add_entry: false
new processor: true
second add_entry: true
after a full batch: 2/2:a,b
after the inactive timeout: 2/2:a,b 1/2:bad 1/2:bad
pushed: 3
invalid conf: false
--- error_log
Batch Processor[unit] failed to process entries: refused
Batch Processor[unit] exceeded the max_retry_count[2] dropping the entries
error when creating the batch processor: property "batch_max_size" validation failed



=== TEST 7: a route that logs request bodies, without ai-proxy (the mock answers it 404: only the log entry matters)
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local res, err = httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                .. "/apisix/admin/routes/7", {method = "PUT", body = [[{
                "uri": "/bodies",
                "upstream": {"type": "roundrobin", "nodes": {"127.0.0.1:6811": 1}},
                "plugins": {
                    "kafka-logger": {
                        "brokers": [{"host": "127.0.0.1", "port": 19092}],
                        "kafka_topic": "bodies",
                        "include_req_body": true,
                        "max_req_body_bytes": 8,
                        "batch_max_size": 1
                    }
                }
            }]]})
            ngx.status = res and res.status or 500
            ngx.say(res and res.body or err)
        }
    }
--- error_code: 201
--- response_body_like eval
qr/"kafka_topic":"bodies"/



=== TEST 8: no request body: the entry has no body field
--- request
GET /bodies
--- error_code: 404
--- error_log eval
qr/topic=bodies entry=\{(?!.*"body").*"method":"GET"/



=== TEST 9: a body longer than max_req_body_bytes is cut there
--- request
POST /bodies
something long
--- error_code: 404
--- error_log eval
qr/topic=bodies entry=\{.*"body":"somethin"[,}]/
