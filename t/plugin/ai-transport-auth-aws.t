# apisix.plugins.ai-transport.auth-aws from Lua: the built-in SigV4 signer, and a signer
# put in package.loaded (as lua-resty-aws would be) taking over when the module loads.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();

add_block_preprocessor(sub {
    my ($block) = @_;

    if (!$block->request) {
        $block->set_value("request", "GET /t");
    }
});

run_tests();

__DATA__

=== TEST 1: built-in signer: path escaped once, body encoded, signed headers added
--- config
    location /t {
        content_by_lua_block {
            local auth_aws = require("apisix.plugins.ai-transport.auth-aws")
            local params = {
                method = "POST", host = "127.0.0.1", port = 1980,
                path = "/model/vendor.model-v1:0/converse",
                headers = {host = "bedrock.test"},
                body = {messages = {"hello"}},
            }
            local err = auth_aws.sign_request(params, {
                access_key_id = "AKTEST", secret_access_key = "SECRET", session_token = "TOKEN",
            }, "eu-west-3")
            ngx.say("err: ", tostring(err))
            ngx.say("path: ", params.path)
            ngx.say("body: ", params.body)
            ngx.say("Host: ", params.headers.Host, ", host: ", tostring(params.headers.host))
            ngx.say("token: ", params.headers["x-amz-security-token"])
            ngx.say("date ok: ", params.headers["x-amz-date"]:match("^%d+T%d+Z$") ~= nil)
            local pattern = "^AWS4%-HMAC%-SHA256 Credential=AKTEST/%d+/eu%-west%-3/bedrock/aws4_request, "
                .. "SignedHeaders=host;x%-amz%-date;x%-amz%-security%-token, Signature=" .. string.rep("%x", 64) .. "$"
            ngx.say("authorization ok: ", params.headers.authorization:match(pattern) ~= nil)
        }
    }
--- response_body
err: nil
path: /model/vendor.model-v1%3A0/converse
body: {"messages":["hello"]}
Host: bedrock.test, host: nil
token: TOKEN
date ok: true
authorization ok: true



=== TEST 2: bad input gives a message, not an error
--- config
    location /t {
        content_by_lua_block {
            local auth_aws = require("apisix.plugins.ai-transport.auth-aws")
            ngx.say(auth_aws.sign_request({path = "/x"}, "nope", "r"))
            ngx.say(auth_aws.sign_request({path = "/x"}, {}, ""))
            ngx.say(auth_aws.sign_request({path = ""}, {}, "r"))
            ngx.say(auth_aws.sign_request({path = "/x", host = "h"}, {}, "r"))
        }
    }
--- response_body
missing or invalid aws_conf for SigV4 signing
missing or invalid region for SigV4 signing
missing or invalid path for SigV4 signing
SigV4 signing failed: missing access key id or secret access key



=== TEST 3: a signer in package.loaded is used when the module is loaded after it
--- config
    location /t {
        content_by_lua_block {
            local seen
            package.loaded["resty.aws"] = function()
                return { Credentials = function(_, c) return c end }
            end
            package.loaded["resty.aws.request.sign"] = function(config, req)
                seen = config.region .. " " .. config.endpointPrefix .. " " .. req.canonicalURI
                    .. " " .. req.host .. " " .. config.credentials.accessKeyId
                return { headers = { Authorization = "fake", ["X-Amz-Date"] = "D", Host = req.host } }
            end
            package.loaded["apisix.plugins.ai-transport.auth-aws"] = nil
            local auth_aws = require("apisix.plugins.ai-transport.auth-aws")
            local params = { host = "10.0.0.1", port = 443, path = "/model/a:b/converse", body = "{}" }
            local err = auth_aws.sign_request(params, {
                access_key_id = "AK", secret_access_key = "SK", endpoint_prefix = "svc",
            }, "us-west-2")
            package.loaded["resty.aws"] = nil
            package.loaded["resty.aws.request.sign"] = nil
            package.loaded["apisix.plugins.ai-transport.auth-aws"] = nil
            ngx.say(tostring(err), " | ", seen)
            ngx.say(params.headers.authorization, " ", params.headers["x-amz-date"], " ", params.headers.Host)
        }
    }
--- response_body
nil | us-west-2 svc /model/a%253Ab/converse 10.0.0.1 AK
fake D 10.0.0.1
