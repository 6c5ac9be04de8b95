# ai-aliyun-content-moderation against a stand-in for Aliyun's TextModerationPlus endpoint that
# checks what a real one checks: the form fields, and the HMAC-SHA1 signature, recomputed here
# with an RFC 3986 encoder of its own (a request it cannot verify gets 400, as Aliyun answers).
# It answers a risk level by keywords in the text and logs each text it was asked about, so the
# blocks can see how a long prompt is cut into pieces (by characters, not bytes), which service
# is named for prompts and for answers, and what the plugin logs when the service fails.
use t::APISIX 'no_plan';

log_level("info");
repeat_each(1);
no_long_string();
no_root_location();

add_block_preprocessor(sub {
    my ($block) = @_;

    if (!defined $block->request) {
        $block->set_value("request", "GET /t");
    }

    my $http_config = <<'_EOC_';
    server {
        listen 6797;
        default_type 'application/json';

        location / {
            content_by_lua_block {
                local cjson = require("cjson.safe")
                ngx.req.read_body()
                local body = ngx.req.get_body_data() or ""
                local args = ngx.decode_args(body, 0)

                local function rfc3986(s)
                    return (s:gsub("[^%w%-%._~]", function(c)
                        return string.format("%%%02X", c:byte())
                    end))
                end
                local pieces = {}
                for k, v in pairs(args) do
                    if k ~= "Signature" then
                        pieces[#pieces + 1] = rfc3986(k) .. "=" .. rfc3986(v)
                    end
                end
                table.sort(pieces)
                local to_sign = "POST&%2F&" .. rfc3986(table.concat(pieces, "&"))
                local want = ngx.encode_base64(ngx.hmac_sha1("my-secret&", to_sign))
                if args.Signature ~= want then
                    ngx.log(ngx.WARN, "aliyun stand-in: signature mismatch")
                    ngx.status = 400
                    ngx.header["x-acs-request-id"] = "sig-bad"
                    ngx.print('{"Code":"SignatureDoesNotMatch"}')
                    return
                end

                local checks = {
                    {"Action", args.Action == "TextModerationPlus"},
                    {"Format", args.Format == "JSON"},
                    {"Version", args.Version == "2022-03-02"},
                    {"SignatureMethod", args.SignatureMethod == "HMAC-SHA1"},
                    {"SignatureVersion", args.SignatureVersion == "1.0"},
                    {"RegionId", args.RegionId == "cn-hangzhou"},
                    {"AccessKeyId", args.AccessKeyId == "my-key-id"},
                    {"Timestamp", type(args.Timestamp) == "string"
                        and args.Timestamp:find("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$") ~= nil},
                    {"SignatureNonce", type(args.SignatureNonce) == "string"
                        and #args.SignatureNonce == 36},
                    {"Content-Type", ngx.var.http_content_type == "application/x-www-form-urlencoded"},
                }
                for _, c in ipairs(checks) do
                    if not c[2] then
                        ngx.log(ngx.WARN, "aliyun stand-in: bad field ", c[1])
                        ngx.status = 400
                        ngx.print('{"Code":"InvalidParameter"}')
                        return
                    end
                end
                local sp = cjson.decode(args.ServiceParameters or "")
                if type(sp) ~= "table" or type(sp.content) ~= "string"
                        or type(sp.sessionId) ~= "string" or #sp.sessionId ~= 36 then
                    ngx.log(ngx.WARN, "aliyun stand-in: bad field ServiceParameters")
                    ngx.status = 400
                    return
                end
                local text = sp.content
                ngx.log(ngx.WARN, "aliyun stand-in: service=", args.Service, " bytes=", #text,
                        " text=[", text, "]")

                if text:find("boom", 1, true) then
                    ngx.status = 500
                    ngx.header["x-acs-request-id"] = "req-500"
                    ngx.print("internal error")
                    return
                end
                if text:find("garbage", 1, true) then
                    ngx.header["x-acs-request-id"] = "req-garbage"
                    ngx.print("not json")
                    return
                end
                if text:find("norisk", 1, true) then
                    ngx.print('{"Data":{}}')
                    return
                end
                if text:find("medium", 1, true) then
                    ngx.print('{"Code":200,"Data":{"RiskLevel":"medium"}}')
                    return
                end
                if text:find("kill", 1, true) then
                    ngx.print('{"Code":200,"Data":{"RiskLevel":"high",'
                        .. '"Advice":[{"Answer":"Please keep it friendly."}]}}')
                    return
                end
                ngx.print('{"Code":200,"Data":{"RiskLevel":"none"}}')
            }
        }
    }

    server {
        listen 6798;
        default_type 'application/json';

        location /v1/chat/completions {
            content_by_lua_block {
                ngx.req.read_body()
                local body = ngx.req.get_body_data() or ""
                local answer = "a calm answer"
                if body:find("tell-me", 1, true) then
                    answer = "a medium answer"
                end
                ngx.print('{"id":"c1","object":"chat.completion","model":"gpt-x","choices":[{"index":0,'
                    .. '"message":{"role":"assistant","content":"' .. answer .. '"},"finish_reason":"stop"}],'
                    .. '"usage":{"prompt_tokens":7,"completion_tokens":4,"total_tokens":11}}')
            }
        }
    }
_EOC_

    $block->set_value("http_config", $http_config);
});

run_tests();

__DATA__

=== TEST 1: routes: prompts cut at 12 characters, medium risk denied with 403, answers checked too; one with a wrong secret, one with no service behind it
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local base = "http://127.0.0.1:" .. ngx.var.server_port .. "/apisix/admin/routes/"
            local function route(id, uri, secret, endpoint)
                local res = assert(httpc:request_uri(base .. id, {method = "PUT", body = [[{
                    "uri": "]] .. uri .. [[",
                    "plugins": {
                        "ai-proxy": {
                            "provider": "openai",
                            "auth": {"header": {"Authorization": "Bearer token"}},
                            "override": {"endpoint": "http://127.0.0.1:6798"}
                        },
                        "ai-aliyun-content-moderation": {
                            "endpoint": "]] .. endpoint .. [[",
                            "region_id": "cn-hangzhou",
                            "access_key_id": "my-key-id",
                            "access_key_secret": "]] .. secret .. [[",
                            "risk_level_bar": "medium",
                            "request_check_length_limit": 12,
                            "check_response": true,
                            "response_check_service": "my_answer_check",
                            "deny_code": 403
                        }
                    }
                }]]}))
                return res.status, res.body
            end
            for _, r in ipairs({
                {"1", "/chat", "my-secret", "http://127.0.0.1:6797"},
                {"2", "/chat-wrong-secret", "not-my-secret", "http://127.0.0.1:6797"},
                {"3", "/chat-no-service", "my-secret", "http://127.0.0.1:1"},
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



=== TEST 2: a 26-byte prompt is checked in three pieces of at most 12 characters, then the answer once; every signature verifies
--- request
POST /chat
{"messages":[{"role":"user","content":"hello (world)! it's *fine*"}]}
--- error_code: 200
--- response_body_like eval
qr/a calm answer/
--- grep_error_log eval
qr/aliyun stand-in: service=\S+ bytes=\d+ text=\[[^\]]*\]/
--- grep_error_log_out
aliyun stand-in: service=llm_query_moderation bytes=12 text=[hello (world]
aliyun stand-in: service=llm_query_moderation bytes=12 text=[)! it's *fin]
aliyun stand-in: service=llm_query_moderation bytes=2 text=[e*]
aliyun stand-in: service=my_answer_check bytes=13 text=[a calm answer]
--- no_error_log
signature mismatch
bad field
failed to check content



=== TEST 3: pieces are counted in characters: 19 characters (23 bytes) make a piece of 12 characters and one of 7
--- request
POST /chat
{"messages":[{"role":"user","content":"héllo wörld ünïcode"}]}
--- error_code: 200
--- grep_error_log eval
qr/aliyun stand-in: service=\S+ bytes=\d+/
--- grep_error_log_out
aliyun stand-in: service=llm_query_moderation bytes=14
aliyun stand-in: service=llm_query_moderation bytes=9
aliyun stand-in: service=my_answer_check bytes=13
--- no_error_log
signature mismatch
failed to check content



=== TEST 4: medium risk reaches the bar: 403 with the default refusal as a chat completion with zero usage
--- request
POST /chat
{"model":"gpt-x","messages":[{"role":"user","content":"medium"}]}
--- error_code: 403
--- response_headers
Content-Type: application/json
--- response_body_like eval
qr/^(?=.*"object":"chat\.completion")(?=.*"content":"Your request violate our content policy\.")(?=.*"model":"gpt-x")(?=.*"prompt_tokens":0)/s
--- grep_error_log eval
qr/aliyun stand-in: service=\S+/
--- grep_error_log_out
aliyun stand-in: service=llm_query_moderation



=== TEST 5: high risk with advice: the advice is the refusal's text
--- request
POST /chat
{"messages":[{"role":"user","content":"kill"}]}
--- error_code: 403
--- response_body_like eval
qr/"content":"Please keep it friendly\."/



=== TEST 6: a risky answer is replaced by the refusal, keeping the usage the LLM reported
--- request
POST /chat
{"messages":[{"role":"user","content":"tell-me"}]}
--- error_code: 403
--- response_body_like eval
qr/^(?=.*"content":"Your request violate our content policy\.")(?=.*"prompt_tokens":7)(?=.*"completion_tokens":4)/s
--- response_body_unlike eval
qr/a medium answer/
--- grep_error_log eval
qr/aliyun stand-in: service=\S+ bytes=\d+ text=\[[^\]]*\]/
--- grep_error_log_out
aliyun stand-in: service=llm_query_moderation bytes=7 text=[tell-me]
aliyun stand-in: service=my_answer_check bytes=15 text=[a medium answer]



=== TEST 7: the service answers 500: logged with its request id and body, the request goes on
--- request
POST /chat
{"messages":[{"role":"user","content":"boom"}]}
--- error_code: 200
--- response_body_like eval
qr/a calm answer/
--- error_log
failed to check content: failed to request aliyun text moderation service, status: 500, x-acs-request-id: req-500, body: internal error



=== TEST 8: the service answers something that is not JSON
--- request
POST /chat
{"messages":[{"role":"user","content":"garbage"}]}
--- error_code: 200
--- error_log
failed to check content: failed to decode response, , x-acs-request-id: req-garbage, errExpected value but found invalid token at character 1, body: not json



=== TEST 9: the service's answer has no risk level
--- request
POST /chat
{"messages":[{"role":"user","content":"norisk"}]}
--- error_code: 200
--- error_log
failed to check content: failed to get risk level: {"Data":{}}



=== TEST 10: a prompt of blanks only is not sent to the service
--- request
POST /chat
{"messages":[{"role":"user","content":"  \t \n "}]}
--- error_code: 200
--- grep_error_log eval
qr/aliyun stand-in: service=\S+/
--- grep_error_log_out
aliyun stand-in: service=my_answer_check



=== TEST 11: signed with the wrong secret: the stand-in refuses it, the plugin logs that and lets the request through
--- request
POST /chat-wrong-secret
{"messages":[{"role":"user","content":"kill"}]}
--- error_code: 200
--- response_body_like eval
qr/a calm answer/
--- error_log
aliyun stand-in: signature mismatch
failed to check content: failed to request aliyun text moderation service, status: 400, x-acs-request-id: sig-bad, body: {"Code":"SignatureDoesNotMatch"}



=== TEST 12: nothing listens at the endpoint
--- request
POST /chat-no-service
{"messages":[{"role":"user","content":"kill"}]}
--- error_code: 200
--- error_log
failed to check content: failed to connect: connection refused



=== TEST 13: lua_body_filter called from Lua on a whole answer: the refusal, and the ctx fields it leaves
--- config
    location /t {
        content_by_lua_block {
            local plugin = require("apisix.plugins.ai-aliyun-content-moderation")
            local conf = {
                endpoint = "http://127.0.0.1:6797",
                region_id = "cn-hangzhou",
                access_key_id = "my-key-id",
                access_key_secret = "my-secret",
                check_response = true,
                deny_code = 451,
            }
            assert(plugin.check_schema(conf))
            local ctx = {
                var = {request_type = "ai_chat", llm_response_text = "I will kill"},
                ai_client_protocol = "openai-chat",
            }
            local code, body = plugin.lua_body_filter(conf, ctx, {}, "the answer")
            ngx.say("code: ", code)
            ngx.say("advice: ", body:find("Please keep it friendly.", 1, true) ~= nil)
            ngx.say("session: ", #ctx.session_id)
            ngx.say("risk: ", ctx.var.llm_content_risk_level)
        }
    }
--- response_body
code: 451
advice: true
session: 36
risk: high
--- grep_error_log eval
qr/aliyun stand-in: service=\S+ bytes=\d+/
--- grep_error_log_out
aliyun stand-in: service=llm_response_moderation bytes=11



=== TEST 14: ngx.escape_uri and ngx.encode_args keep !'()* as ngx_lua does (the plugin escapes them itself for signing)
--- config
    location /t {
        content_by_lua_block {
            ngx.say(ngx.escape_uri("it's (ok)!* #1"))
            ngx.say(ngx.encode_args({q = "a!b(c)"}))
        }
    }
--- response_body
it's%20(ok)!*%20%231
q=a!b(c)
