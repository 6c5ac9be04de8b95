# ai-aws-content-moderation against a Comprehend double that checks the call as AWS would: the
# target and content type of the JSON protocol, and the SigV4 signature, recomputed here in Lua
# (resty.sha256 / resty.hmac) from the headers and body that arrived. A wrong signature answers
# 403, which the plugin turns into a 500, so a block expecting 400 or 200 proves the signature.
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

    my $http_config = $block->http_config // <<_EOC_;
        server {
            listen 2671;

            location / {
                content_by_lua_block {
                    local json = require("cjson.safe")
                    local hmac = require("resty.hmac")
                    local sha256 = require("resty.sha256")
                    local to_hex = require("resty.string").to_hex

                    local function hash(s)
                        local d = sha256:new()
                        d:update(s)
                        return to_hex(d:final())
                    end
                    local function mac(key, s)
                        return hmac:new(key, hmac.ALGOS.SHA256):final(s)
                    end

                    ngx.req.read_body()
                    local body = ngx.req.get_body_data() or ""
                    local h = ngx.req.get_headers()
                    local auth = h["Authorization"] or ""
                    local key_id, date, region, service, signed, sig = auth:match(
                        "^AWS4%-HMAC%-SHA256 Credential=([^/]+)/(%d+)/([^/]+)/([^/]+)/aws4_request, "
                        .. "SignedHeaders=([^,]+), Signature=(%x+)\$")
                    if not sig then
                        ngx.status = 403
                        ngx.say("malformed authorization: ", auth)
                        return
                    end
                    local lines = {}
                    for name in signed:gmatch("[^;]+") do
                        lines[#lines + 1] = name .. ":" .. (h[name] or "")
                    end
                    local canonical = table.concat({ngx.req.get_method(), "/", "",
                        table.concat(lines, "\\n") .. "\\n", signed, hash(body)}, "\\n")
                    local to_sign = table.concat({"AWS4-HMAC-SHA256", h["X-Amz-Date"],
                        date .. "/" .. region .. "/" .. service .. "/aws4_request", hash(canonical)}, "\\n")
                    local secrets = { access = "ea+secret", temp = "temp-secret" }
                    local k = mac("AWS4" .. (secrets[key_id] or "?"), date)
                    k = mac(mac(mac(k, region), service), "aws4_request")
                    if to_hex(mac(k, to_sign)) ~= sig then
                        ngx.status = 403
                        ngx.say("signature mismatch")
                        return
                    end
                    ngx.log(ngx.INFO, "comprehend double: signed ", signed, " for ", service, " in ", region,
                        ", target ", h["X-Amz-Target"], ", type ", h["Content-Type"],
                        ", token ", tostring(h["X-Amz-Security-Token"]), ", length ", h["Content-Length"])

                    local req = json.decode(body)
                    local text = req.TextSegments[1].Text
                    if text == "not json please" then
                        ngx.header["Content-Type"] = "text/plain"
                        ngx.say("{}")
                        return
                    end
                    local scores = {
                        insulting = { toxicity = 0.2, labels = { INSULT = 0.45, HATE_SPEECH = 0.1 } },
                        hateful = { toxicity = 0.3, labels = { INSULT = 0.1, HATE_SPEECH = 0.95 } },
                    }
                    local s = scores[text] or { toxicity = 0.01, labels = { INSULT = 0.01 } }
                    local labels = {}
                    for name, score in pairs(s.labels) do
                        labels[#labels + 1] = { Name = name, Score = score }
                    end
                    ngx.header["Content-Type"] = "application/x-amz-json-1.1"
                    ngx.say(json.encode({ ResultList = {{ Toxicity = s.toxicity, Labels = labels }} }))
                }
            }
        }

        server {
            listen 2672;

            location /echo {
                content_by_lua_block {
                    ngx.req.read_body()
                    ngx.print(ngx.req.get_body_data() or "")
                }
            }
        }
_EOC_

    $block->set_value("http_config", $http_config);
});

run_tests();

__DATA__

=== TEST 1: route: an INSULT limit, a session token, the double as endpoint
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local res, err = httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                .. "/apisix/admin/routes/1", {method = "PUT", body = [[{
                "uri": "/echo",
                "plugins": {
                    "ai-aws-content-moderation": {
                        "comprehend": {
                            "access_key_id": "temp",
                            "secret_access_key": "temp-secret",
                            "session_token": "session-xyz",
                            "region": "eu-central-1",
                            "endpoint": "http://127.0.0.1:2671"
                        },
                        "moderation_categories": { "INSULT": 0.4 }
                    }
                },
                "upstream": { "type": "roundrobin", "nodes": { "127.0.0.1:2672": 1 } }
            }]]})
            if not res then
                ngx.say(err)
                return
            end
            ngx.say(res.status)
        }
    }
--- response_body
201



=== TEST 2: a configured category over its limit rejects; every header is signed, the token too
--- request
POST /echo
insulting
--- error_code: 400
--- response_body chomp
request body exceeds INSULT threshold
--- error_log
comprehend double: signed content-length;content-type;host;x-amz-date;x-amz-security-token;x-amz-target for comprehend in eu-central-1, target Comprehend_20171127.DetectToxicContent, type application/x-amz-json-1.1, token session-xyz, length 59



=== TEST 3: a category without a limit is not looked at; low toxicity passes to the upstream
--- request
POST /echo
hateful
--- error_code: 200
--- response_body chomp
hateful



=== TEST 4: an answer that is not JSON has no results
--- request
POST /echo
not json please
--- error_code: 500
--- response_body chomp
failed to get moderation results from response



=== TEST 5: route without session token and with fail_mode warn
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local res, err = httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                .. "/apisix/admin/routes/1", {method = "PUT", body = [[{
                "uri": "/echo",
                "plugins": {
                    "ai-aws-content-moderation": {
                        "comprehend": {
                            "access_key_id": "access",
                            "secret_access_key": "ea+secret",
                            "region": "us-east-1",
                            "endpoint": "http://127.0.0.1:2671"
                        },
                        "fail_mode": "warn",
                        "moderation_threshold": 0.25
                    }
                },
                "upstream": { "type": "roundrobin", "nodes": { "127.0.0.1:2672": 1 } }
            }]]})
            if not res then
                ngx.say(err)
                return
            end
            ngx.say(res.status)
        }
    }
--- response_body
200



=== TEST 6: the threshold is the route's; no token header when none is configured
--- request
POST /echo
hateful
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
request body exceeds toxicity threshold
--- error_log
signed content-length;content-type;host;x-amz-date;x-amz-target for comprehend in us-east-1
token nil



=== TEST 7: fail_mode warn lets a non-JSON body through with a warning
--- request
POST /echo
hateful
--- more_headers
Content-Type: Text/Plain
--- error_code: 200
--- response_body chomp
hateful
--- error_log
ai-aws-content-moderation skipped: unsupported content-type: text/plain



=== TEST 8: an empty body is a bad request
--- request
POST /echo
--- error_code: 400
