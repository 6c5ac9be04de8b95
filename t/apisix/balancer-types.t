# The balancer types of plain routes (least_conn, chash, ewma) and what goes with them: the
# balancer phase's log context, X-APISIX-Upstream-Status, a backend closing without an answer,
# and apisix.balancer.pick_server called from Lua. Two small backends (below) stand in for the
# upstream servers; the routes come from a standalone apisix.yaml.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
log_level('info');

add_block_preprocessor(sub {
    my ($block) = @_;

    my $backends = <<'_EOC_';
    server {
        listen 6820;
        listen 6821;
        default_type text/plain;

        location /port {
            content_by_lua_block {
                ngx.say(ngx.var.server_port)
            }
        }

        location /vanish {
            content_by_lua_block {
                ngx.exit(ngx.ERROR)
            }
        }
    }
_EOC_
    $block->set_value("http_config", $backends);
});

run_tests();

__DATA__

=== TEST 1: least_conn sends the first request to the heaviest node, in the balancer phase's context
--- apisix_yaml
routes:
  - uri: /port
    upstream:
      type: least_conn
      nodes:
        "127.0.0.1:6820": 1
        "127.0.0.1:6821": 4
#END
--- request
GET /port
--- response_body
6821
--- grep_error_log eval
qr/proxy request to \S+ while connecting to upstream/
--- grep_error_log_out
proxy request to 127.0.0.1:6821 while connecting to upstream



=== TEST 2: chash on a header sent with an underscore keeps every request on one node
--- apisix_yaml
routes:
  - uri: /port
    upstream:
      type: chash
      hash_on: header
      key: my_key
      nodes:
        "127.0.0.1:6820": 1
        "127.0.0.1:6821": 1
#END
--- pipelined_requests eval
["GET /port", "GET /port", "GET /port"]
--- more_headers
my_key: same-user
--- grep_error_log eval
qr/chash_key: "same-user"/
--- grep_error_log_out
chash_key: "same-user"
chash_key: "same-user"
chash_key: "same-user"



=== TEST 3: a backend that closes without answering is a 502 the response names in X-APISIX-Upstream-Status
--- apisix_yaml
routes:
  - uri: /vanish
    upstream:
      nodes:
        "127.0.0.1:6820": 1
#END
--- request
GET /vanish
--- error_code: 502
--- response_headers
X-APISIX-Upstream-Status: 502
--- error_log
upstream prematurely closed connection while reading response header from upstream



=== TEST 4: ewma picks among the nodes and never fails with its shared dicts present
--- apisix_yaml
routes:
  - uri: /port
    upstream:
      type: ewma
      nodes:
        "127.0.0.1:6820": 1
        "127.0.0.1:6821": 1
#END
--- request
GET /port
--- response_body_like
^682[01]$



=== TEST 5: apisix.balancer.pick_server from Lua goes round the nodes by weight and keeps its picker by version
--- init_by_lua_block
    require "resty.core"
    apisix = require("apisix")
    apisix.http_init()
--- config
    location /t {
        content_by_lua_block {
            local balancer = require("apisix.balancer")
            local ctx = {
                upstream_conf = {
                    type = "roundrobin",
                    nodes = {
                        {host = "10.0.0.1", port = 80, weight = 1, priority = 0},
                        {host = "10.0.0.2", port = 80, weight = 3, priority = 0},
                    },
                },
                upstream_key = "t5",
                upstream_version = 1,
            }
            local count = {}
            for i = 1, 8 do
                ctx.balancer_try_count = 0
                local server, err = balancer.pick_server(nil, ctx)
                count[server.host] = (count[server.host] or 0) + 1
            end
            ngx.say(count["10.0.0.1"], " ", count["10.0.0.2"], " ", ctx.balancer_ip ~= nil)
        }
    }
--- request
GET /t
--- response_body
2 6 true
