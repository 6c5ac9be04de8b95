# apisix.plugin from Lua answers from the C# plugin registry (no Lua copy of it), example-plugin is
# a registered plugin with a metadata schema, and the admin API lists every loaded plugin's fields.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
log_level("info");
run_tests();

__DATA__

=== TEST 1: get, plugin_attr and check_schema of a loaded plugin
--- extra_yaml_config
plugin_attr:
    example-plugin:
        val: 7
--- config
    location /t {
        content_by_lua_block {
            local plugin = require("apisix.plugin")
            local p = plugin.get("example-plugin")
            ngx.say(p.name, " ", p.priority, " ", p.version, " ", p.metadata_schema.required[1])
            ngx.say(plugin.get("no-such-plugin"), " ", plugin.get_stream("limit-conn"))
            ngx.say(plugin.plugin_attr("example-plugin").val, " ", plugin.plugin_attr("nothing-here"))
            local conf = {}
            local ok, err = p.check_schema(conf)
            ngx.say(ok, " ", err)
            ok, err = p.check_schema({ikey = 3, skey = "x"}, require("apisix.core").schema.TYPE_METADATA)
            ngx.say(ok, " ", err)
            local confs = {["request-id"] = {}}
            ok, err = plugin.check_schema(confs)
            ngx.say(ok, " ", err, " ", confs["request-id"].header_name)
            ok, err = plugin.check_schema({["not-loaded"] = {}})
            ngx.say(ok, " ", err)
            ngx.say(plugin.conf_version({a = 1}) == plugin.conf_version({a = 1}),
                    " ", plugin.conf_version({a = 1}) == plugin.conf_version({a = 2}))
        }
    }
--- request
GET /t
--- response_body
example-plugin 0 0.1 ikey
nil nil
7 nil
false property "i" is required
true nil
true nil X-Request-Id
false unknown plugin [not-loaded]
true false



=== TEST 2: process_encrypt_field walks the path and calls the Lua operation on each string
--- config
    location /t {
        content_by_lua_block {
            local plugin = require("apisix.plugin")
            local function shout(s) return s:upper() end
            local conf = {a = {b = {"x", "y"}, c = {k = "v"}}, list = {{p = "q"}, {p = "r"}}}
            plugin.process_encrypt_field(conf, "a.b", shout, "demo", "encrypt")
            plugin.process_encrypt_field(conf, "a.c", shout, "demo", "encrypt")
            plugin.process_encrypt_field(conf, "list.p", shout, "demo", "encrypt")
            plugin.process_encrypt_field(conf, "missing.path", shout, "demo", "encrypt")
            ngx.say(conf.a.b[1], conf.a.b[2], " ", conf.a.c.k, " ", conf.list[1].p, conf.list[2].p)
            local function refuse() return nil, "no way" end
            plugin.process_encrypt_field(conf, "a.c", refuse, "demo", "encrypt")
            ngx.say(conf.a.c.k)
        }
    }
--- request
GET /t
--- response_body
XY V QR
V
--- error_log
failed to encrypt the conf of plugin [demo] key [c.k], err: no way



=== TEST 3: enable_data_encryption is unknown until the first encryption, then true; apisix.ssl round trip
--- yaml_config
apisix:
    node_listen: 1984
    data_encryption:
        enable_encrypt_fields: true
        keyring:
            - 0123456789abcdef
deployment:
    role: traditional
    role_traditional:
        config_provider: etcd
    admin:
        admin_key: null
--- config
    location /t {
        content_by_lua_block {
            local plugin = require("apisix.plugin")
            local ssl = require("apisix.ssl")
            ngx.say(plugin.enable_data_encryption)
            local conf = {username = "u", password = "secret"}
            plugin.encrypt_conf("basic-auth", conf, require("apisix.core").schema.TYPE_CONSUMER)
            ngx.say(plugin.enable_data_encryption, " ", conf.password ~= "secret")
            ngx.say(ssl.aes_decrypt_pkey(conf.password, "data_encrypt"))
            local enc = ssl.aes_encrypt_pkey("plain", "data_encrypt")
            ngx.say(enc ~= "plain", " ", ssl.aes_decrypt_pkey(enc, "data_encrypt"))
            ngx.say(ssl.aes_encrypt_pkey("plain", "other"))
            ngx.say(ssl.aes_decrypt_pkey("!!!", "data_encrypt"))
        }
    }
--- request
GET /t
--- response_body
nil
true true
secret
true plain
plain
nilbase64 decode ssl key failed
--- error_log
base64 decode ssl key failed



=== TEST 4: the admin API's all=true lists each loaded plugin with its schemas
--- config
    location /t {
        content_by_lua_block {
            local json = require("toolkit.json")
            local http = require("resty.http")
            local function t(path, method, body)
                local res = http.new():request_uri("http://127.0.0.1:" .. ngx.var.server_port .. path,
                    {method = method, body = body})
                return res.status, res.body
            end
            local code, body = t('/apisix/admin/plugins?all=true', "GET")
            local all = json.decode(body)
            local ex = all["example-plugin"]
            ngx.say(code, " ", ex.priority, " ", ex.version, " ", ex.metadata_schema.required[2],
                    " ", ex.schema["$comment"])
            ngx.say(all["key-auth"].type, " ", all["key-auth"].consumer_schema ~= nil, " ", all["key-auth"].name)
            code, body = t('/apisix/admin/plugins?all=true&subsystem=stream', "GET")
            ngx.print(code, " ", body)
        }
    }
--- request
GET /t
--- response_body
200 0 0.1 skey this is a mark for our injected plugin schema
auth true nil
200 {}
--- error_log
query parameter "all" will be deprecated soon.



=== TEST 5: example-plugin metadata is checked against its metadata schema
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local function t(path, method, body)
                local res = http.new():request_uri("http://127.0.0.1:" .. ngx.var.server_port .. path,
                    {method = method, body = body})
                return res.status, res.body
            end
            local code, body = t('/apisix/admin/plugin_metadata/example-plugin', "PUT",
                [[{"ikey": -1, "skey": "s"}]])
            ngx.print(code, " ", body)
            code = t('/apisix/admin/plugin_metadata/example-plugin', "PUT",
                [[{"ikey": 2, "skey": "s"}]])
            ngx.say(code)
        }
    }
--- request
GET /t
--- response_body
400 {"error_msg":"invalid configuration: property \"ikey\" validation failed: expected -1 to be at least 0"}
201



=== TEST 6: example-plugin logs each phase of a request it runs on
--- http_config
    server {
        listen 6820;
        location /hello {
            content_by_lua_block {
                ngx.say("hello from the backend")
            }
        }
    }
--- config
    location /t {
        content_by_lua_block {
            local http = require("resty.http")
            local function t(path, method, body)
                local res = http.new():request_uri("http://127.0.0.1:" .. ngx.var.server_port .. path,
                    {method = method, body = body})
                return res.status, res.body
            end
            local code, body = t('/apisix/admin/routes/ex1', "PUT", [[{
                "uri": "/hello",
                "plugins": {"example-plugin": {"i": 4}},
                "upstream": {"nodes": {"127.0.0.1:6820": 1}, "type": "roundrobin"}
            }]])
            if code >= 300 then ngx.say(code, body) return end
            code, body = t("/hello", "GET")
            ngx.print(body)
        }
    }
--- request
GET /t
--- response_body
hello from the backend
--- error_log
plugin rewrite phase, conf: {"i":4}
conf_type: route
plugin access phase, conf: {"i":4}
plugin header_filter phase, conf: {"i":4}
plugin body_filter phase, eof: true, conf: {"i":4}
plugin log phase, conf: {"i":4}



=== TEST 7: load() enables the configured plugins again and returns them by priority
--- extra_yaml_config
plugins:
    - example-plugin
    - request-id
--- config
    location /t {
        content_by_lua_block {
            local plugin = require("apisix.plugin")
            local before = plugin.load_times
            local list = plugin.load()
            for _, p in ipairs(list) do
                ngx.say(p.name, " ", p.priority)
            end
            ngx.say(plugin.load_times - before)
        }
    }
--- request
GET /t
--- response_body
request-id 12015
example-plugin 0
1
