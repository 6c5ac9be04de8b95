# Which route a request takes when routes carry conditions: `vars` (resty.expr rules over
# ctx.var, form fields included), `filter_func` (a Lua function of ctx.var), and the
# traffic-split plugin sending matched requests to another upstream. Two backend ports say
# which one answered.
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
        listen 6832;
        default_type text/plain;

        location / {
            content_by_lua_block {
                ngx.say("backend ", ngx.var.server_port, " got ", ngx.var.request_uri)
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

=== TEST 1: a guarded route and a fallback for the same path
--- admin
PUT /routes/guarded {"uri":"/shop/*","priority":5,"vars":[["arg_lang","==","fr"],["http_x_tier","IN",["gold","silver"]]],"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6832":1}}}
PUT /routes/fallback {"uri":"/shop/*","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6831":1}}}
--- response_body
/routes/guarded 201
/routes/fallback 201



=== TEST 2: both conditions hold: the guarded route (operator names are case-insensitive)
--- request
GET /shop/cart?lang=fr
--- more_headers
X-Tier: silver
--- response_body
backend 6832 got /shop/cart?lang=fr



=== TEST 3: one condition fails: the fallback
--- request
GET /shop/cart?lang=fr
--- more_headers
X-Tier: bronze
--- response_body
backend 6831 got /shop/cart?lang=fr



=== TEST 4: the admin API refuses rules resty.expr refuses
--- admin
PUT /routes/bad1 {"uri":"/bad","vars":["AND",["arg_a","==","1"]],"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6831":1}}}
PUT /routes/bad2 {"uri":"/bad","vars":[["arg_a","is","1"]],"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6831":1}}}
PUT /routes/bad3 {"uri":"/bad","vars":[["arg_a","?","==","1"]],"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6831":1}}}
PUT /routes/bad4 {"uri":"/bad","filter_func":"function(v) return","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6831":1}}}
--- response_body
/routes/bad1 400 {"error_msg":"failed to validate the 'vars' expression: rule too short"}
/routes/bad2 400 {"error_msg":"failed to validate the 'vars' expression: invalid operator 'is'"}
/routes/bad3 400 {"error_msg":"failed to validate the 'vars' expression: bad 'not' expression"}
/routes/bad4 400 {"error_msg":"failed to load 'filter_func' string: [string \"return function(v) return\"]:1: 'end' expected near '<eof>'"}



=== TEST 5: a route with a filter function
--- admin
PUT /routes/ff {"uri":"/big","filter_func":"function(vars) return (tonumber(vars.arg_n) or 0) > 10 end","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6832":1}}}
--- response_body
/routes/ff 201



=== TEST 6: the function says yes
--- request
GET /big?n=11
--- response_body
backend 6832 got /big?n=11



=== TEST 7: the function says no: no route
--- request
GET /big?n=3
--- error_code: 404
--- response_body
{"error_msg":"404 Route Not Found"}



=== TEST 8: a route guarded by a form field
--- admin
PUT /routes/form {"uri":"/form","methods":["POST"],"vars":[["post_arg_kind","==","b c"]],"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6832":1}}}
--- response_body
/routes/form 201



=== TEST 9: the field matches (decoded)
--- request
POST /form
kind=b+c&other=1
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- response_body
backend 6832 got /form



=== TEST 10: the same body as JSON: not a form, no route
--- request
POST /form
{"kind":"b c"}
--- more_headers
Content-Type: application/json
--- error_code: 404



=== TEST 11: traffic-split: a matched request goes to the plugin's upstream
--- admin
PUT /upstreams/u2 {"type":"roundrobin","nodes":{"127.0.0.1:6832":1}}
PUT /routes/split {"uri":"/split","plugins":{"traffic-split":{"rules":[{"match":[{"vars":[["arg_to","==","inline"]]}],"weighted_upstreams":[{"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6832":1}},"weight":1}]},{"match":[{"vars":[["arg_to","==","byid"]]}],"weighted_upstreams":[{"upstream_id":"u2"}]}]}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6831":1}}}
--- response_body
/upstreams/u2 201
/routes/split 201



=== TEST 12: inline upstream, upstream id, and no match (the route's upstream)
--- pipelined_requests eval
["GET /split?to=inline", "GET /split?to=byid", "GET /split?to=none"]
--- response_body eval
["backend 6832 got /split?to=inline\n", "backend 6832 got /split?to=byid\n", "backend 6831 got /split?to=none\n"]
--- error_log
upstream_key: roundrobin#route_split_1_
upstream_id: u2
match_passed: false



=== TEST 13: traffic-split refuses a bad match rule
--- admin
PUT /routes/split2 {"uri":"/split2","plugins":{"traffic-split":{"rules":[{"match":[{"vars":[["arg_to","is","x"]]}]}]}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6831":1}}}
--- response_body
/routes/split2 400 {"error_msg":"failed to check the configuration of plugin traffic-split err: failed to validate the 'vars' expression: invalid operator 'is'"}



=== TEST 14: weights: 2 to 1 over three requests
--- admin
PUT /routes/w {"uri":"/w","plugins":{"traffic-split":{"rules":[{"weighted_upstreams":[{"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6832":1}},"weight":2},{"weight":1}]}]}},"upstream":{"type":"roundrobin","nodes":{"127.0.0.1:6831":1}}}
--- response_body
/routes/w 201



=== TEST 15: two of three to the plugin's upstream, one to the route's
--- config
    location /t {
        content_by_lua_block {
            local ports = {}
            for i = 1, 3 do
                local httpc = require("resty.http").new()
                local res = httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port .. "/w")
                ports[i] = res.body:match("backend (%d+)")
            end
            table.sort(ports)
            ngx.say(table.concat(ports, ","))
        }
    }
--- request
GET /t
--- response_body
6831,6832,6832
