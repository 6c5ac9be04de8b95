# The access log t::APISIX configures: APISIX's `main` format; as in nginx, an unset variable
# prints `-` and one set to an empty string prints nothing.
use t::APISIX 'no_plan';

repeat_each(1);
no_long_string();
no_root_location();
run_tests();

__DATA__

=== TEST 1: a request with no route is logged in the main format
--- request
GET /no/such/route?x=1
--- more_headers
User-Agent: probe/1.0
--- error_code: 404
--- access_log eval
qr{^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] localhost "GET /no/such/route\?x=1 HTTP/1\.1" 404 \d+ [\d.]+ "-" "probe/1\.0" - -  "http://localhost"   0 0 0 0 false false 0  0 0 0 ""$}



=== TEST 2: the /t location of the block is logged too; it never ran the `set $request_line`, so that prints empty
--- config
    location /t {
        content_by_lua_block {
            ngx.say("hi")
        }
    }
--- request
GET /t
--- response_body
hi
--- access_log eval
qr{ localhost "" 200 3 }
