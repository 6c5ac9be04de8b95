# body-transformer as the port builds it, beyond what upstream's files exercise: XML attributes,
# repeated and empty elements in a response, a template that does not compile, and the Lua
# modules the plugin stands on (xml2lua, rapidjson) called directly. The template compiler's
# own rules (code and comment lines, escapes) are checked by BodyTransformerLibsTests (xunit).
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
log_level("info");

add_block_preprocessor(sub {
    my ($block) = @_;

    my $backend = <<'_EOC_';
    server {
        listen 6830;


        location /xml {
            content_by_lua_block {
                ngx.header["Content-Type"] = "text/xml"
                ngx.print([[<r:shelf xmlns:r="urn:x" owner="ann"><r:book id="7">Dune</r:book><r:book id="9">Emma</r:book><r:empty/></r:shelf>]])
            }
        }
    }
_EOC_
    $block->set_value("http_config", $backend);
    $block->set_value("request", "GET /t") unless $block->request;
});

run_tests();

__DATA__

=== TEST 1: XML answer: namespaces dropped, attributes under _attr, repeated elements an array, empty element ""
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            local tpl = [[{* require("apisix.core").json.stably_encode(shelf) *}]]
            local conf = {uri = "/shelf", plugins = {["body-transformer"] = {response = {
                input_format = "xml", template = ngx.encode_base64(tpl)}},
                ["proxy-rewrite"] = {uri = "/xml"}},
                upstream = {type = "roundrobin", nodes = {["127.0.0.1:6830"] = 1}}}
            local httpc = require("resty.http").new()
            local base = "http://127.0.0.1:" .. ngx.var.server_port
            local res = httpc:request_uri(base .. "/apisix/admin/routes/1",
                {method = "PUT", body = core.json.encode(conf)})
            assert(res.status < 300, res.body)
            res = httpc:request_uri(base .. "/shelf")
            ngx.status = res.status
            ngx.say(res.body)
        }
    }
--- response_body
{"_attr":{"owner":"ann","r":"urn:x"},"book":[{"1":"Dune","_attr":{"id":"7"}},{"1":"Emma","_attr":{"id":"9"}}],"empty":""}



=== TEST 2: a template that does not compile answers 503 with the compile error
--- config
    location /t {
        content_by_lua_block {
            local core = require("apisix.core")
            local conf = {uri = "/bad", plugins = {["body-transformer"] = {request = {
                template = "{% if then %}x"}}},
                upstream = {type = "roundrobin", nodes = {["127.0.0.1:6830"] = 1}}}
            local httpc = require("resty.http").new()
            local base = "http://127.0.0.1:" .. ngx.var.server_port
            local res = httpc:request_uri(base .. "/apisix/admin/routes/1",
                {method = "PUT", body = core.json.encode(conf)})
            assert(res.status < 300, res.body)
            res = httpc:request_uri(base .. "/bad", {method = "POST", body = "x"})
            ngx.say(res.status, " ", res.body:match("request template compile") or res.body)
        }
    }
--- response_body
503 request template compile
--- error_log
transform(): request template compile:



=== TEST 3: xml2lua and rapidjson as Lua modules
--- config
    location /t {
        content_by_lua_block {
            local xml2lua = require("xml2lua")
            local handler = require("xmlhandler.tree"):new()
            xml2lua.parser(handler):parse([[<a k="v"><b>1</b><b>2</b><c> t </c></a>]])
            local a = handler.root.a
            ngx.say(a._attr.k, " ", #a.b, " ", a.b[2], " [", a.c, "]")
            local ok, err = pcall(function()
                xml2lua.parser(require("xmlhandler.tree"):new()):parse("<a><b></a>")
            end)
            ngx.say(ok, " ", (tostring(err):match("Unbalanced Tag %(/a%)")))

            local rapidjson = require("rapidjson")
            ngx.say(rapidjson.encode({b = 1, a = {}, c = rapidjson.array({})}, {sort_keys = true}))
        }
    }
--- response_body
v 2 2 [t]
false Unbalanced Tag (/a)
{"a":{},"b":1,"c":[]}
