# The request-guarding tool plugins APISIX's core tests use: echo rewrites answers, uri-blocker and
# csrf refuse requests, cors answers preflights, limit-req delays then refuses, limit-conn counts
# requests in flight, hmac-auth and jwt-auth find consumers by signature; example-plugin's destroy
# runs when the worker exits; syslog and openid-connect are configuration-only here.
# A small backend (in http_config) answers with the method and URI it was sent.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
log_level("info");

add_block_preprocessor(sub {
    my ($block) = @_;

    my $backend = <<'_EOC_';
    server {
        listen 6831;
        default_type text/plain;

        location / {
            content_by_lua_block {
                ngx.say("backend saw ", ngx.req.get_method(), " ", ngx.var.request_uri)
            }
        }
    }
_EOC_
    $block->set_value("http_config", $backend);

    if ($block->admin) {
        my $calls = $block->admin;
        my $config = <<'_EOC_';
    location /t {
        content_by_lua_block {
            local calls = [==[
_EOC_
        $config .= $calls . <<'_EOC_';
]==]
            for line in calls:gmatch("[^\n]+") do
                local method, path, body = line:match("^(%S+)%s+(%S+)%s*(.*)$")
                local httpc = require("resty.http").new()
                local res, err = httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                    .. "/apisix/admin" .. path, {method = method, body = body ~= "" and body or nil})
                if not res then
                    ngx.say(path, " ", err)
                elseif res.status >= 300 then
                    ngx.say(path, " ", res.status, " ", (res.body:gsub("\n$", "")))
                else
                    ngx.say(path, " ", res.status)
                end
            end
        }
    }
_EOC_
        $block->set_value("config", $config);
        $block->set_value("request", "GET /t") unless $block->request;
    }
});

run_tests();

__DATA__

=== TEST 1: routes with echo, uri-blocker, cors, csrf and limit-req; bad confs are refused
--- admin
PUT /routes/1 {"uri":"/echo","plugins":{"echo":{"before_body":"[","after_body":"]","headers":{"X-Echoed":"yes"}}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6831":1}}}
PUT /routes/2 {"uri":"/blocked/*","plugins":{"uri-blocker":{"block_rules":["drop(%20|\\s)+table"],"case_insensitive":true,"rejected_msg":"not here"}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6831":1}}}
PUT /routes/3 {"uri":"/cors","plugins":{"cors":{"allow_origins":"http://one.test,http://two.test","allow_methods":"GET,PUT","max_age":30}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6831":1}}}
PUT /routes/4 {"uri":"/form","plugins":{"csrf":{"key":"form-key"}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6831":1}}}
PUT /routes/5 {"uri":"/slow","plugins":{"limit-req":{"rate":1,"burst":0,"key":"remote_addr","nodelay":true,"rejected_code":429}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6831":1}}}
PUT /routes/6 {"uri":"/bad","plugins":{"cors":{"allow_credential":true}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6831":1}}}
PUT /routes/6 {"uri":"/bad","plugins":{"uri-blocker":{"block_rules":["a("]}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6831":1}}}
PUT /routes/6 {"uri":"/bad","plugins":{"limit-conn":{"conn":1,"burst":0,"key":"remote_addr"}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6831":1}}}
--- response_body
/routes/1 201
/routes/2 201
/routes/3 201
/routes/4 201
/routes/5 201
/routes/6 400 {"error_msg":"failed to check the configuration of plugin cors err: you can not set '*' for other option when 'allow_credential' is true"}
/routes/6 400 {"error_msg":"failed to check the configuration of plugin uri-blocker err: pcre_compile() failed: missing ) in \"a(\""}
/routes/6 400 {"error_msg":"failed to check the configuration of plugin limit-conn err: value should match only one schema, but matches none"}



=== TEST 2: echo wraps the body and sets its header
--- request
GET /echo
--- response_headers
X-Echoed: yes
--- response_body chomp
[backend saw GET /echo
]



=== TEST 3: uri-blocker matches the raw (still escaped) request URI, case-insensitively
--- request
GET /blocked/x?q=DROP%20TABLE
--- error_code: 403
--- response_body
{"error_msg":"not here"}



=== TEST 4: a preflight from a listed origin is answered by cors itself
--- request
OPTIONS /cors
--- more_headers
Origin: http://two.test
--- error_code: 200
--- response_headers
Access-Control-Allow-Origin: http://two.test
Access-Control-Allow-Methods: GET,PUT
Access-Control-Max-Age: 30
Vary: Origin
--- response_body



=== TEST 5: an origin not in the list gets no cors headers
--- request
GET /cors
--- more_headers
Origin: http://three.test
--- response_headers
Access-Control-Allow-Origin:
--- response_body
backend saw GET /cors



=== TEST 6: csrf sets its token cookie on a safe request and refuses an unsafe one without it
--- pipelined_requests eval
["GET /form", "POST /form"]
--- error_code eval
[200, 401]
--- response_headers_like eval
["Set-Cookie: apisix-csrf-token=[A-Za-z0-9+/=]+;path=/;SameSite=Lax;Expires=\\w{3}, \\d\\d-\\w{3}-\\d+ \\d\\d:\\d\\d:\\d\\d GMT", ""]
--- response_body eval
["backend saw GET /form\n", "{\"error_msg\":\"no csrf token in headers\"}\n"]



=== TEST 7: limit-req with nodelay: the second request within the second is refused
--- pipelined_requests eval
["GET /slow", "GET /slow"]
--- error_code eval
[200, 429]



=== TEST 8: consumers for hmac-auth and jwt-auth, routes that require them
--- admin
PUT /consumers {"username":"signer","plugins":{"hmac-auth":{"key_id":"signer-id","secret_key":"signer-secret"},"jwt-auth":{"key":"tok-key","secret":"tok-secret"}}}
PUT /routes/7 {"uri":"/signed","plugins":{"hmac-auth":{"signed_headers":["date","x-extra"]}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6831":1}}}
PUT /routes/8 {"uri":"/token","plugins":{"jwt-auth":{}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6831":1}}}
--- response_body
/consumers 201
/routes/7 201
/routes/8 201



=== TEST 9: hmac-auth: a signature over the listed headers passes, a wrong one does not
--- config
    location /t {
        content_by_lua_block {
            local hmac = require("resty.hmac")
            local date = ngx.http_time(ngx.time())
            local function call(secret)
                local text = "signer-id\nGET /signed\ndate: " .. date .. "\nx-extra: 42\n"
                local sig = ngx.encode_base64(hmac:new(secret, hmac.ALGOS.SHA256):final(text))
                local res = require("resty.http").new():request_uri(
                    "http://127.0.0.1:" .. ngx.var.server_port .. "/signed", {headers = {
                        Date = date, ["X-Extra"] = "42",
                        Authorization = 'Signature keyId="signer-id",algorithm="hmac-sha256",'
                            .. 'headers="@request-target date x-extra",signature="' .. sig .. '"'}})
                ngx.print(res.status, " ", res.body)
            end
            call("signer-secret")
            call("not-the-secret")
        }
    }
--- request
GET /t
--- response_body
200 backend saw GET /signed
401 {"message":"client request can't be validated"}
--- error_log
client request can't be validated: Invalid signature



=== TEST 10: jwt-auth: a good token passes, an expired one is refused
--- pipelined_requests eval
["GET /token", "GET /token?jwt=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJrZXkiOiJ0b2sta2V5IiwiZXhwIjoxNTAwMDAwMDAwfQ.Li6tarjesJcqwO2UM8u9oO1lwIZsubNLpQlNVN5vkq8"]
--- more_headers
Cookie: jwt=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJrZXkiOiJ0b2sta2V5IiwiZXhwIjo0MTAyNDQ0ODAwfQ.N0m_vUFMnYttibkMedSnJETfy24y3O7zIdEM0_7a_WM
--- error_code eval
[200, 401]
--- response_body eval
["backend saw GET /token\n", "{\"message\":\"failed to verify jwt\"}\n"]
--- error_log
failed to verify jwt: 'exp' claim expired at Fri, 14 Jul 2017 02:40:00 GMT



=== TEST 11: example-plugin's destroy runs when the worker exits
--- extra_init_by_lua
    local mod = require("apisix.plugins.example-plugin")
    mod.destroy = function()
        ngx.log(ngx.WARN, "example-plugin says goodbye")
    end
--- config
    location /t {
        return 200 "up";
    }
--- request
GET /t
--- response_body chomp
up
--- no_error_log
example-plugin says goodbye
--- shutdown_error_log
example-plugin says goodbye



=== TEST 12: a standalone route naming a plugin that is not enabled is left out
--- yaml_config
deployment:
    role: data_plane
    role_data_plane:
        config_provider: yaml
--- extra_yaml_config
plugins:
  - echo
--- apisix_yaml
routes:
  - id: 1
    uri: /logged
    plugins:
      syslog:
        host: 127.0.0.1
        port: 5140
    upstream:
      type: roundrobin
      nodes:
        "127.0.0.1:6831": 1
#END
--- request
GET /logged
--- error_code: 404
--- error_log
unknown plugin [syslog]
