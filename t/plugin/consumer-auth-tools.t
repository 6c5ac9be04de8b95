# The tool plugins and consumers: key-auth and basic-auth find a consumer (also through a
# credential), the consumer's own plugins and its group's join the route's, plugin configs and
# global rules add theirs; limit-count, proxy-rewrite, response-rewrite and ip-restriction do
# their one job each. A small backend (in http_config) echoes what it was sent.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
log_level("info");

add_block_preprocessor(sub {
    my ($block) = @_;

    my $backend = <<'_EOC_';
    server {
        listen 6820;
        default_type text/plain;

        location / {
            content_by_lua_block {
                local h = ngx.req.get_headers()
                ngx.say(ngx.req.get_method(), " ", ngx.var.request_uri)
                for _, name in ipairs({"host", "apikey", "authorization", "x-consumer-username",
                                       "x-credential-identifier", "x-consumer-custom-id", "x-added"}) do
                    if h[name] then ngx.say(name, "=", h[name]) end
                end
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

=== TEST 1: a consumer with key-auth and limit-count, a route with key-auth
--- admin
PUT /consumers {"username":"jack","labels":{"custom_id":"c-7"},"plugins":{"key-auth":{"key":"jack-key"},"limit-count":{"count":2,"time_window":60,"rejected_code":429}}}
PUT /routes/1 {"uri":"/auth/*","plugins":{"key-auth":{}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6820":1}}}
--- response_body
/consumers 201
/routes/1 201



=== TEST 2: no key: 401 with the realm
--- request
GET /auth/a
--- error_code: 401
--- response_headers
WWW-Authenticate: apikey realm="key"
--- response_body
{"message":"Missing API key in request"}



=== TEST 3: a wrong key: 401, and the warning names the cause
--- request
GET /auth/a
--- more_headers
apikey: nope
--- error_code: 401
--- response_body
{"message":"Invalid API key in request"}
--- error_log
failed to find consumer: invalid api key



=== TEST 4: the key in the query string finds jack; the consumer headers reach the upstream
--- request
GET /auth/q?apikey=jack-key
--- response_body
GET /auth/q?apikey=jack-key
host=localhost
x-consumer-username=jack
x-consumer-custom-id=c-7
--- error_log
find consumer jack, config changed: true



=== TEST 5: jack's limit-count joins the route: the third request in the window is refused
--- pipelined_requests eval
["GET /auth/1", "GET /auth/2", "GET /auth/3"]
--- more_headers
apikey: jack-key
--- error_code eval
[200, 200, 429]



=== TEST 6: a credential of jack with basic-auth, a route with basic-auth hiding the credentials
--- admin
PUT /consumers/jack/credentials/pass-1 {"plugins":{"basic-auth":{"username":"jack-b","password":"s3cret"}}}
PUT /routes/2 {"uri":"/basic","plugins":{"basic-auth":{"hide_credentials":true}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6820":1}}}
--- response_body
/consumers/jack/credentials/pass-1 201
/routes/2 201



=== TEST 7: basic-auth through the credential: the consumer is jack, the credential is named
--- request
GET /basic
--- more_headers
Authorization: Basic amFjay1iOnMzY3JldA==
--- response_body
GET /basic
host=localhost
x-consumer-username=jack
x-credential-identifier=pass-1
x-consumer-custom-id=c-7



=== TEST 8: basic-auth with a wrong password
--- request
GET /basic
--- more_headers
Authorization: Basic amFjay1iOndyb25n
--- error_code: 401
--- response_headers
WWW-Authenticate: Basic realm="basic"
--- response_body
{"message":"Invalid user authorization"}



=== TEST 9: a consumer group's plugin, a plugin config and a global rule each add theirs
--- admin
PUT /consumer_groups/gold {"plugins":{"response-rewrite":{"headers":{"set":{"X-Group":"gold"}}}}}
PUT /consumers {"username":"rose","group_id":"gold","plugins":{"key-auth":{"key":"rose-key"}}}
PUT /plugin_configs/7 {"plugins":{"proxy-rewrite":{"uri":"/rewritten","headers":{"add":{"X-Added":"from-config"}}}}}
PUT /routes/3 {"uri":"/merged","plugin_config_id":7,"plugins":{"key-auth":{}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6820":1}}}
PUT /global_rules/1 {"plugins":{"response-rewrite":{"headers":{"set":{"X-Global":"yes"}}}}}
--- response_body
/consumer_groups/gold 201
/consumers 201
/plugin_configs/7 201
/routes/3 201
/global_rules/1 201



=== TEST 10: the merged request: rewritten uri, added header, group and global headers
--- request
GET /merged
--- more_headers
apikey: rose-key
--- response_headers
X-Group: gold
X-Global: yes
--- response_body
GET /rewritten
host=localhost
apikey=rose-key
x-consumer-username=rose
x-added=from-config



=== TEST 11: the admin API refuses a route naming a plugin config that does not exist
--- admin
DELETE /global_rules/1
PUT /routes/4 {"uri":"/no-config","plugin_config_id":99,"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6820":1}}}
--- response_body
/global_rules/1 200
/routes/4 400 {"error_msg":"failed to fetch plugin config info by plugin config id [99], response code: 404"}
--- no_error_log
[crit]



=== TEST 12: response-rewrite replaces the body and status; ip-restriction refuses a blacklisted client
--- admin
PUT /routes/5 {"uri":"/rewrite-body","plugins":{"response-rewrite":{"status_code":202,"body":"replaced\n"}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6820":1}}}
PUT /routes/6 {"uri":"/filtered","plugins":{"response-rewrite":{"filters":[{"regex":"GET","replace":"got","scope":"global"}]}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6820":1}}}
PUT /routes/7 {"uri":"/blocked","plugins":{"ip-restriction":{"blacklist":["127.0.0.0/24"]}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6820":1}}}
--- response_body
/routes/5 201
/routes/6 201
/routes/7 201



=== TEST 13: the fixed body
--- request
GET /rewrite-body
--- error_code: 202
--- response_body
replaced



=== TEST 14: the regex filter over the upstream body
--- request
GET /filtered
--- response_body
got /filtered
host=localhost



=== TEST 15: the blacklisted client
--- request
GET /blocked
--- error_code: 403
--- response_body
{"message":"Your IP address is not allowed"}



=== TEST 16: schema checks from Lua: key-auth's consumer schema, limit-count's exclusive fields
--- config
    location /t {
        content_by_lua_block {
            local key_auth = require("apisix.plugins.key-auth")
            ngx.say(key_auth.type, " ", key_auth.priority)
            ngx.say(tostring(select(2, key_auth.check_schema({}, 1))))
            local conf = {}
            ngx.say(tostring(key_auth.check_schema(conf)), " ", conf.header, " ", conf.query)
            local lc = require("apisix.plugins.limit-count")
            ngx.say(tostring(select(2, lc.check_schema({count = 1, time_window = 1, rules = {{count = 1, time_window = 1, key = "a"}}}))))
        }
    }
--- request
GET /t
--- response_body
auth 2500
property "key" is required
true apikey apikey
count/time_window and rules cannot be specified at the same time
