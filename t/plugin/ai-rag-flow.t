# ai-rag end to end against doubles of its two services: what the embeddings and the search
# services receive, how their failures reach the client, and where the search result lands in
# the body the upstream gets (the echo server below answers with that body).
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
            listen 2673;
            default_type 'application/json';

            location /embed {
                content_by_lua_block {
                    local json = require("cjson.safe")
                    ngx.req.read_body()
                    local body = json.decode(ngx.req.get_body_data())
                    ngx.log(ngx.INFO, "embed double: key ", ngx.req.get_headers()["api-key"],
                        ", input ", body.input, ", model ", tostring(body.model))
                    if body.input == "nothing" then
                        ngx.say([[{"data":[]}]])
                        return
                    end
                    ngx.say([[{"data":[{"embedding":[0.25,-1.5,3]}]}]])
                }
            }

            location /search {
                content_by_lua_block {
                    local json = require("cjson.safe")
                    ngx.req.read_body()
                    local body = json.decode(ngx.req.get_body_data())
                    local q = body.vectorQueries[1]
                    ngx.log(ngx.INFO, "search double: key ", ngx.req.get_headers()["api-key"],
                        ", kind ", q.kind, ", fields ", q.fields, ", vector ", table.concat(q.vector, " "))
                    if q.fields == "broken" then
                        ngx.status = 503
                        ngx.print("index offline")
                        return
                    end
                    ngx.print("doc: use a pipeline")
                }
            }
        }

        server {
            listen 2674;

            location / {
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

=== TEST 1: route with both providers on the doubles
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local res, err = httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                .. "/apisix/admin/routes/1", {method = "PUT", body = [[{
                "uri": "/chat",
                "plugins": {
                    "ai-rag": {
                        "embeddings_provider": {
                            "azure_openai": {"endpoint": "http://127.0.0.1:2673/embed", "api_key": "emb-key"}
                        },
                        "vector_search_provider": {
                            "azure_ai_search": {"endpoint": "http://127.0.0.1:2673/search", "api_key": "search-key"}
                        }
                    }
                },
                "upstream": {"type": "roundrobin", "nodes": {"127.0.0.1:2674": 1}}
            }]]})
            ngx.say(res and res.status or err)
        }
    }
--- response_body
201



=== TEST 2: the result is appended after the client's messages; ai_rag is gone, other fields stay
--- request
POST /chat
{"model":"m1","messages":[{"role":"system","content":"be brief"}],"ai_rag":{"vector_search":{"fields":"vec"},"embeddings":{"input":"ci tools","model":"e1"}}}
--- response_body eval
qr/^\{(?=.*"model":"m1")(?=.*"messages":\[\{"(role":"system","content":"be brief|content":"be brief","role":"system)"\},\{"(role":"user","content":"doc: use a pipeline|content":"doc: use a pipeline","role":"user)"\}\])(?!.*ai_rag).*\}$/
--- error_log
embed double: key emb-key, input ci tools, model e1
search double: key search-key, kind vector, fields vec, vector 0.25 -1.5 3



=== TEST 3: no ai_rag field
--- request
POST /chat
{"messages":[]}
--- error_code: 400
--- error_log
request body must have "ai-rag" field



=== TEST 4: an embeddings answer without data is a 500 carrying that answer
--- request
POST /chat
{"ai_rag":{"vector_search":{"fields":"vec"},"embeddings":{"input":"nothing"}}}
--- error_code: 500
--- response_body
{"data":[]}
--- error_log
could not get embeddings: {"data":[]}



=== TEST 5: the search service's status and body reach the client
--- request
POST /chat
{"ai_rag":{"vector_search":{"fields":"broken"},"embeddings":{"input":"x"}}}
--- error_code: 503
--- response_body chomp
index offline
--- error_log
could not get vector_search result: index offline



=== TEST 6: route whose embeddings service does not listen
--- config
    location /t {
        content_by_lua_block {
            local httpc = require("resty.http").new()
            local res, err = httpc:request_uri("http://127.0.0.1:" .. ngx.var.server_port
                .. "/apisix/admin/routes/1", {method = "PUT", body = [[{
                "uri": "/chat",
                "plugins": {
                    "ai-rag": {
                        "embeddings_provider": {
                            "azure_openai": {"endpoint": "http://127.0.0.1:2675/embed", "api_key": "k"}
                        },
                        "vector_search_provider": {
                            "azure_ai_search": {"endpoint": "http://127.0.0.1:2673/search", "api_key": "k"}
                        }
                    }
                },
                "upstream": {"type": "roundrobin", "nodes": {"127.0.0.1:2674": 1}}
            }]]})
            ngx.say(res and res.status or err)
        }
    }
--- response_body
200



=== TEST 7: a refused connection is a 500 with resty.http's error
--- request
POST /chat
{"ai_rag":{"vector_search":{"fields":"vec"},"embeddings":{"input":"x"}}}
--- error_code: 500
--- response_body chomp
connection refused
--- error_log
could not get embeddings: connection refused
