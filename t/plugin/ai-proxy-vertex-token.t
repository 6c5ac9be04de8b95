# Vertex AI with a service account: the gateway trades a signed JWT for an access token at the
# account's token_uri and caches it for the token's expires_in less expire_early_secs (default
# 60). Here the token server is local and hands out "token-1", "token-2"... with expires_in 62,
# so a token lives 2 s in the cache: requests within that reuse it, the next one after fetches
# a new one; max_ttl caps that time further. The provider mock answers with the Authorization
# header it was sent.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();

add_block_preprocessor(sub {
    my ($block) = @_;

    if (!$block->request) {
        $block->set_value("request", "GET /t");
    }

    my $http_config = <<_EOC_;
    lua_shared_dict token_server 1m;

    server {
        listen 6782;
        default_type 'application/json';

        location /oauth/token {
            content_by_lua_block {
                local cjson = require("cjson.safe")
                ngx.req.read_body()
                local form = ngx.decode_args(ngx.req.get_body_data() or "")
                local function part(i)
                    local seg = {}
                    for p in (form.assertion or ""):gmatch("[^.]+") do
                        seg[#seg + 1] = p
                    end
                    local b64 = (seg[i] or ""):gsub("-", "+"):gsub("_", "/")
                    return ngx.decode_base64(b64 .. string.rep("=", (4 - #b64 % 4) % 4)) or ""
                end
                local header = cjson.decode(part(1)) or {}
                local claims = cjson.decode(part(2)) or {}
                local n = ngx.shared.token_server:incr("calls", 1, 0)
                ngx.log(ngx.WARN, "[token-server] call ", n, " grant_type=", form.grant_type,
                        " alg=", header.alg, " iss=", claims.iss, " aud=", claims.aud,
                        " scope=", claims.scope, " lifetime=", (claims.exp or 0) - (claims.iat or 0),
                        " signature_bytes=", #part(3))
                ngx.say(cjson.encode({access_token = "token-" .. n, token_type = "Bearer", expires_in = 62}))
            }
        }

        location /v1/chat/completions {
            content_by_lua_block {
                ngx.say(require("cjson.safe").encode({
                    object = "chat.completion", model = "gemini-local",
                    choices = {{index = 0, finish_reason = "stop", message = {role = "assistant",
                                content = ngx.var.http_authorization or "no authorization"}}},
                    usage = {prompt_tokens = 1, completion_tokens = 1, total_tokens = 2},
                }))
            }
        }
    }
_EOC_

    $block->set_value("http_config", $http_config);
});

run_tests();

__DATA__

=== TEST 1: vertex-ai routes whose service account trades its JWT at the local token server
--- config
    location /t {
        content_by_lua_block {
            local cjson = require("cjson.safe")
            -- a key made for this test alone (openssl genrsa 2048); it signs nothing real
            local account = {
                type = "service_account",
                project_id = "local-project",
                client_email = "gateway-under-test@local-project.iam.gserviceaccount.com",
                token_uri = "http://127.0.0.1:6782/oauth/token",
                private_key = [[
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDytYJ2bIPDaXZx
5+EpYMUSY75w6QVon7owSJKKcVa/C6A3K2dth43UNt0BCEOKka64o3l0MPQcAJ4K
k2t0V6OYDUam4za6mJJPyv3zqrBhiZK1GWiJU3n2owMCCnN7p1oi/G31f6OuBX1N
5/snqaF/EKg5c1yMdXb8BmVRzviSKAgexiu6o3wEtbh8Y0ASvBOl7gQSBXgPXrBH
/Hhs+Wd4fEXpqfKes1HNQKfNOBwiHb3MPZxCcSaaoAwxOfU8ofWUbijWFtBAuAKw
QLn9i1uWP9kWctwhZ9nOYq3pLfR7q5cEDxP0m+fIqGLykicct9BX5gzf7epFztJU
7Rhus4NlAgMBAAECggEABzWmlDN5f4TCuLP5X4QJHph5Z/u4BilWe8gwGC4xNDgZ
cIIYzqtb5m2hx33SGcvli4UJns60dZ98ElbaNojC6omca2ks70KIeBfQztvnZOJU
Cg6g6RFielXRyU37q7TnK8phTs1VlJ4DoJyPPJignDhnstsvKNn1aJudB17VSewZ
MDMFFR9CWAnCYkSGpeLLzMSYrkfvToou1qu0dENm9bN0PqMF1+sDmZ/F+AqJcZEm
WP1jUNv2jdgErcpQiZa0nGL6zpwmbOtwzbIxtX02Y6oSTrHbk1KKRPF2FoVpuZdi
B7105y2N/VqBJQjRi2nB5g71D2/9UZ3pub9gAYmHGQKBgQD8xpP+obFz8/uLvUO8
PAgEiPhE6jOkBveTO10tww/sHoZSVgamiefQlgpDTObK+4MxJSgo0cpNHta4c3ti
bfMDybnVGR5LLA0rYG/37QViw1eEvZjDDf0qU1Fu3XQN+/QESu4RhHT82ScpYHpS
U8JLZd1TumfpzXuJVhMLzGnVWQKBgQD1zg85vFtFE2BnEFZDcpKRSnkXHPShtD5M
YEi/V6Tf50UnvOTi0oESmt/Ja4G+i9CCT7xq07vvG6ZHcCjZXtevAowxmhAWN016
jXT7kn1f53Wybx6j6t3FFP36LKJct8nFI0CNDjjYeMKMYOIzgEw8esgKuVttcAsL
wrWn6mEA7QKBgQC3gBD/0LHZ00zQ7Ny3UX0gja5tmPdUJBqmL3o9NlXgu2gXbYv2
ajZ3HfTlVnZU9LEQhEDbITETO0f1LyBrHBZGsbLOGCX9vETzMFcYTGCUieqG2nyD
XSxkBYggS3Nsk3NZimu5G8cxpxLe3sLt8RAjXBeIKNI20IzV7j51WjeaQQKBgGj/
s7tK/YXdSBHeharcF0XfFSjNYqZskywW+RxbOP+4D+9wnilSGHa1F6E3vj2CBfiU
TP0pIx95pSbg/2ITRHjq0q4hjHug9gTCxlTsd4fvHHSzSNhmbINSe0dRp62JiLQg
YeOfTqMRurEydY3gYTB4llkWYrq14NIOQ4DN+s/lAoGAMniOOBSOgKDkLX+WYKw3
Fnaj3zj2NY+dabjzFZoAdWTRLfBV64hBpO6/D6aoWjwxbxMlN+w/FYtab5v7mU95
AnCi5+Mz7mcBJ/J9GwAbWVa2MPLvTb6ZgQPvrQ+Pz9Vsz1fQm8bIeMvagEB4GSWu
kYRtSZdg74E5HftbqAVcj7w=
-----END PRIVATE KEY-----
]],
            }
            local function store(id, uri, gcp)
                gcp.service_account_json = cjson.encode(account)
                local route = {
                    uri = uri,
                    plugins = {
                        ["ai-proxy"] = {
                            provider = "vertex-ai",
                            auth = {gcp = gcp},
                            options = {model = "gemini-local"},
                            override = {endpoint = "http://127.0.0.1:6782/v1/chat/completions"},
                        },
                    },
                }
                local res = assert(require("resty.http").new():request_uri("http://127.0.0.1:"
                    .. ngx.var.server_port .. "/apisix/admin/routes/" .. id,
                    {method = "PUT", body = cjson.encode(route)}))
                assert(res.status < 300, res.body)
            end
            -- route 1 keeps the default expire_early_secs (60): 62 - 60 = 2 s in the cache;
            -- route 2 takes nothing off but caps the TTL with max_ttl: 1 s in the cache
            store(1, "/vertex", {})
            store(2, "/vertex-capped", {expire_early_secs = 0, max_ttl = 1})
            ngx.say("stored")
        }
    }
--- response_body
stored



=== TEST 2: requests within the 2 s TTL share token-1; after it has passed, token-2 is fetched
--- config
    location /t {
        content_by_lua_block {
            local function ask(label)
                local res = assert(require("resty.http").new():request_uri("http://127.0.0.1:"
                    .. ngx.var.server_port .. "/vertex", {method = "POST",
                    headers = {["Content-Type"] = "application/json"},
                    body = '{"messages":[{"role":"user","content":"who am I?"}]}'}))
                local body = require("cjson.safe").decode(res.body)
                ngx.say(label, ": ", res.status, " ",
                        body and body.choices and body.choices[1].message.content or res.body)
            end
            ask("first")
            ask("second")
            ask("third")
            ngx.sleep(2.5)
            ask("after the TTL")
            ask("right after")
            ngx.say("token server calls: ", ngx.shared.token_server:get("calls"))
        }
    }
--- timeout: 15
--- log_level: debug
--- response_body
first: 200 Bearer token-1
second: 200 Bearer token-1
third: 200 Bearer token-1
after the TTL: 200 Bearer token-2
right after: 200 Bearer token-2
token server calls: 2
--- error_log eval
[
    qr{\[token-server\] call 1 grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer alg=RS256 iss=gateway-under-test\@local-project\.iam\.gserviceaccount\.com aud=http://127\.0\.0\.1:6782/oauth/token scope=https://www\.googleapis\.com/auth/cloud-platform lifetime=3600 signature_bytes=256},
    qr/\[token-server\] call 2 /,
    qr/set gcp access token in cache with ttl: 2, key: /,
]
--- no_error_log
[token-server] call 3
[error]



=== TEST 3: max_ttl caps the cache time below what the token server grants
--- config
    location /t {
        content_by_lua_block {
            local function token()
                local res = assert(require("resty.http").new():request_uri("http://127.0.0.1:"
                    .. ngx.var.server_port .. "/vertex-capped", {method = "POST",
                    headers = {["Content-Type"] = "application/json"},
                    body = '{"messages":[{"role":"user","content":"who am I?"}]}'}))
                return require("cjson.safe").decode(res.body).choices[1].message.content
            end
            local first, again = token(), token()
            ngx.sleep(1.5)
            local later = token()
            ngx.say("reused at once: ", first == again and "yes" or "no")
            ngx.say("renewed after 1.5 s: ", first ~= later and "yes" or "no")
        }
    }
--- timeout: 15
--- log_level: debug
--- response_body
reused at once: yes
renewed after 1.5 s: yes
--- error_log eval
qr/set gcp access token in cache with ttl: 1, key: route#2#/
--- no_error_log
[error]
