# Bedrock's ConverseStream answer is binary AWS event-stream, not SSE: the client (speaking
# Bedrock Converse) gets the provider's bytes as they are, while the gateway decodes the frames
# on the side to count tokens and collect the text. A frame whose CRC does not check out is not
# decoded: a bad message CRC loses that frame only, with a warning naming the mismatch; a bad
# prelude CRC leaves the frame and everything behind it undecoded, dropped at the end of the
# stream. Either way the stream goes on to the client and nothing crashes.
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

    # The shared client: sends a streamed Converse request through the route named by ?route=,
    # fetches the same answer straight from the mock, and describes what came back frame by frame.
    if (!$block->config) {
        $block->set_value("config", <<'_EOC_');
    location /t {
        content_by_lua_block {
            local which = ngx.var.arg_route
            local body = '{"stream":true,"messages":[{"role":"user","content":[{"text":"hi"}]}]}'
            local httpc = require("resty.http").new()
            local res = assert(httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                .. "/" .. which .. "/converse", {method = "POST", body = body,
                headers = {["Content-Type"] = "application/json"}}))
            local direct = assert(require("resty.http").new():request_uri(
                "http://127.0.0.1:6781/model/fake.model-" .. which .. "/converse-stream",
                {method = "POST", body = body}))
            ngx.say(res.status, " ", res.headers["Content-Type"])
            ngx.say("same bytes as the provider sent: ", res.body == direct.body and "yes" or "no")

            local s = res.body
            local function u32(at)
                local a, b, c, d = s:byte(at, at + 3)
                return ((a * 256 + b) * 256 + c) * 256 + d
            end
            local pos = 1
            while pos + 15 <= #s do
                local total = u32(pos)
                -- the first header is :event-type: name length, name, type 7, value length, value
                local name_len = s:byte(pos + 12)
                local at = pos + 13 + name_len + 1
                local value_len = s:byte(at) * 256 + s:byte(at + 1)
                local event_type = s:sub(at + 2, at + 1 + value_len)
                local prelude_ok = ngx.crc32_long(s:sub(pos, pos + 7)) == u32(pos + 8)
                local message_ok = ngx.crc32_long(s:sub(pos, pos + total - 5)) == u32(pos + total - 4)
                ngx.say(event_type, " prelude=", prelude_ok and "ok" or "BAD",
                        " message=", message_ok and "ok" or "BAD")
                pos = pos + total
            end
            ngx.say("left over: ", #s - pos + 1)
        }
    }
_EOC_
    }

    my $http_config = <<_EOC_;
    server {
        listen 6781;

        # A Bedrock stand-in: /model/fake.model-MODE/converse-stream answers a short stream in
        # event-stream frames, one frame per chunk. MODE "badcrc" spoils the second text frame's
        # message CRC, "badprelude" its prelude CRC, "badheaders" announces a headers section
        # longer than the frame (both CRCs computed over that lie); "good" sends all intact.
        location /model/ {
            content_by_lua_block {
                local function be32(n)
                    return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256,
                                       math.floor(n / 256) % 256, n % 256)
                end
                local function frame(event_type, payload, spoil)
                    local headers = ""
                    for _, h in ipairs({{":event-type", event_type},
                                        {":content-type", "application/json"},
                                        {":message-type", "event"}}) do
                        headers = headers .. string.char(#h[1]) .. h[1]
                                  .. string.char(7, math.floor(#h[2] / 256), #h[2] % 256) .. h[2]
                    end
                    local total = 12 + #headers + #payload + 4
                    local lengths = be32(total)
                                    .. be32(spoil == "headers" and total - 15 or #headers)
                    local prelude_crc = ngx.crc32_long(lengths)
                    if spoil == "prelude" then
                        prelude_crc = (prelude_crc + 1) % 4294967296
                    end
                    local message = lengths .. be32(prelude_crc) .. headers .. payload
                    local message_crc = ngx.crc32_long(message)
                    if spoil == "message" then
                        message_crc = (message_crc + 1) % 4294967296
                    end
                    return message .. be32(message_crc)
                end

                ngx.req.read_body()
                local req = require("cjson.safe").decode(ngx.req.get_body_data() or "") or {}
                local auth = ngx.var.http_authorization or ""
                local mode = ngx.var.uri:match("fake%.model%-(%a+)/converse%-stream")
                ngx.log(ngx.WARN, "[mock] ", ngx.var.uri, " credential=",
                        auth:match("Credential=([^,]+)") or "none",
                        " stream-field=", req.stream == nil and "absent" or "present")

                local spoil = ({badcrc = "message", badprelude = "prelude", badheaders = "headers"})[mode]
                ngx.header["Content-Type"] = "application/vnd.amazon.eventstream"
                for _, f in ipairs({
                    {"messageStart", '{"role":"assistant"}'},
                    {"contentBlockDelta", '{"contentBlockIndex":0,"delta":{"text":"Hi"}}'},
                    {"contentBlockDelta", '{"contentBlockIndex":0,"delta":{"text":" there"}}', spoil},
                    {"contentBlockStop", '{"contentBlockIndex":0}'},
                    {"messageStop", '{"stopReason":"end_turn"}'},
                    {"metadata", '{"usage":{"inputTokens":9,"outputTokens":2,"totalTokens":11},"metrics":{"latencyMs":7}}'},
                }) do
                    ngx.print(frame(f[1], f[2], f[3]))
                    ngx.flush(true)
                end
            }
        }
    }
_EOC_

    $block->set_value("http_config", $http_config);
});

run_tests();

__DATA__

=== TEST 1: one bedrock route per mock mode, fake keys, the endpoint overridden to the mock
--- config
    location /t {
        content_by_lua_block {
            local cjson = require("cjson.safe")
            -- the token counts the gateway decoded from the stream, logged after each request
            local probe = "return function(conf, ctx) ngx.log(ngx.WARN, '[probe] tokens=', "
                .. "tostring(ctx.var.llm_prompt_tokens), '/', tostring(ctx.var.llm_completion_tokens)) end"
            for id, mode in ipairs({"good", "badcrc", "badprelude", "badheaders"}) do
                local route = {
                    uri = "/" .. mode .. "/converse",
                    plugins = {
                        ["ai-proxy"] = {
                            provider = "bedrock",
                            auth = {aws = {access_key_id = "AKIDLOCALFAKE0001",
                                           secret_access_key = "not-a-real-secret/only-for-this-test"}},
                            provider_conf = {region = "eu-north-1"},
                            options = {model = "fake.model-" .. mode},
                            override = {endpoint = "http://127.0.0.1:6781"},
                        },
                        ["serverless-post-function"] = {phase = "log", functions = {probe}},
                    },
                }
                local res = assert(require("resty.http").new():request_uri("http://127.0.0.1:"
                    .. ngx.var.server_port .. "/apisix/admin/routes/" .. id,
                    {method = "PUT", body = cjson.encode(route)}))
                assert(res.status < 300, res.body)
            end
            ngx.say("stored")
        }
    }
--- response_body
stored



=== TEST 2: intact frames reach the client unchanged and signed; the gateway reads the usage
--- request
GET /t?route=good
--- response_body
200 application/vnd.amazon.eventstream
same bytes as the provider sent: yes
messageStart prelude=ok message=ok
contentBlockDelta prelude=ok message=ok
contentBlockDelta prelude=ok message=ok
contentBlockStop prelude=ok message=ok
messageStop prelude=ok message=ok
metadata prelude=ok message=ok
left over: 0
--- error_log eval
[
    qr{\[mock\] /model/fake\.model-good/converse-stream credential=AKIDLOCALFAKE0001/\d{8}/eu-north-1/bedrock/aws4_request stream-field=absent},
    qr/got token usage from ai service: .*"inputTokens":9/,
    qr/\[probe\] tokens=9\/2/,
]
--- no_error_log
aws-eventstream
dropping incomplete stream frame
[alert]
[crit]



=== TEST 3: a bad message CRC: frame passed on, not decoded, warned about; later frames still count
--- request
GET /t?route=badcrc
--- response_body
200 application/vnd.amazon.eventstream
same bytes as the provider sent: yes
messageStart prelude=ok message=ok
contentBlockDelta prelude=ok message=ok
contentBlockDelta prelude=ok message=BAD
contentBlockStop prelude=ok message=ok
messageStop prelude=ok message=ok
metadata prelude=ok message=ok
left over: 0
--- error_log eval
[
    qr/aws-eventstream: message CRC mismatch at offset 0 expected 894379036 got 894379035,/,
    qr/got token usage from ai service: .*"outputTokens":2/,
    qr/\[probe\] tokens=9\/2/,
]
--- no_error_log
dropping incomplete stream frame
[alert]
[crit]



=== TEST 4: a bad prelude CRC: nothing from that frame on is decoded, the rest dropped at the end
--- request
GET /t?route=badprelude
--- response_body
200 application/vnd.amazon.eventstream
same bytes as the provider sent: yes
messageStart prelude=ok message=ok
contentBlockDelta prelude=ok message=ok
contentBlockDelta prelude=BAD message=ok
contentBlockStop prelude=ok message=ok
messageStop prelude=ok message=ok
metadata prelude=ok message=ok
left over: 0
--- error_log eval
[
    qr/dropping incomplete stream frame at EOF, size: 580,/,
    qr/\[probe\] tokens=0\/0/,
]
--- no_error_log
got token usage from ai service
aws-eventstream
[alert]
[crit]



=== TEST 5: a frame announcing more header bytes than it holds is refused by the decoder, the rest counts
--- request
GET /t?route=badheaders
--- response_body
200 application/vnd.amazon.eventstream
same bytes as the provider sent: yes
messageStart prelude=ok message=ok
contentBlockDelta prelude=ok message=ok
contentBlockDelta prelude=ok message=ok
contentBlockStop prelude=ok message=ok
messageStop prelude=ok message=ok
metadata prelude=ok message=ok
left over: 0
--- error_log eval
[
    qr/aws-eventstream: headers_length 137 exceeds frame body,/,
    qr/\[probe\] tokens=9\/2/,
]
--- no_error_log
dropping incomplete stream frame
[alert]
[crit]
