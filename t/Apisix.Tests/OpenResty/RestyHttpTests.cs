using Xunit;

namespace Apisix.Tests.OpenResty;

public class RestyHttpTests
{
    private const string Upstream = """
            location /hello {
                content_by_lua_block {
                    ngx.say("hello world")
                }
            }
            location /echo {
                content_by_lua_block {
                    ngx.req.read_body()
                    local h = ngx.req.get_headers()
                    ngx.header["X-Echo"] = "yes"
                    ngx.say(ngx.req.get_method(), " ", ngx.var.args or "-")
                    ngx.say("host: ", h.host)
                    ngx.say("ua: ", h["user-agent"])
                    ngx.say("cl: ", h["content-length"] or "-")
                    ngx.say("x: ", h["x-test"] or "-")
                    ngx.say("body: ", ngx.req.get_body_data() or "-")
                }
            }
            location /chunks {
                content_by_lua_block {
                    ngx.print("a")
                    ngx.flush(true)
                    ngx.sleep(0.02)
                    ngx.print("bb")
                    ngx.flush(true)
                    ngx.sleep(0.02)
                    ngx.print("data: {\"x\":1}\n\n")
                    ngx.flush(true)
                }
            }
            location /fixed {
                content_by_lua_block {
                    ngx.header["Content-Length"] = 10
                    ngx.print("0123456789")
                }
            }
            location /status {
                content_by_lua_block {
                    ngx.status = 201
                    ngx.header["X-Multi"] = { "1", "2" }
                    ngx.say("created")
                }
            }
        """;

    private static Task Expect(string lua, string expected) => OpenRestyWorld.ExpectAsync(lua, expected, Upstream);

    [Fact]
    public Task RequestUriGet() => Expect("""
            local http = require("resty.http")
            local httpc = http.new()
            local res, err = httpc:request_uri("http://127.0.0.1:1980/hello")
            ngx.say(res.status, " ", res.reason, " ", res.has_body)
            ngx.say(res.headers["content-type"], " ", res.headers["Content-Type"])
            ngx.print(res.body)
            """, """
            200 OK true
            text/plain text/plain
            hello world

            """);

    [Fact]
    public Task RequestUriPostWithQueryAndHeaders() => Expect("""
            local http = require("resty.http")
            local res, err = http.new():request_uri("http://127.0.0.1:1980/echo", {
                method = "POST", body = "hi there", query = { a = 1 },
                headers = { ["X-Test"] = "v" }, keepalive = false,
            })
            ngx.say(res.status, " ", res.headers["x-echo"])
            ngx.print(res.body)
            res = http.new():request_uri("http://127.0.0.1:1980/echo?q=2")
            ngx.print(res.body)
            """, """
            200 yes
            POST a=1
            host: 127.0.0.1:1980
            ua: lua-resty-http/0.17.2 (Lua) ngx_lua/10031
            cl: 8
            x: v
            body: hi there
            GET q=2
            host: 127.0.0.1:1980
            ua: lua-resty-http/0.17.2 (Lua) ngx_lua/10031
            cl: -
            x: -
            body: -

            """);

    [Fact]
    public Task BodyReaderGivesOneChunkPerFlush() => Expect("""
            local http = require("resty.http")
            local httpc = http.new()
            httpc:set_timeout(2000)
            local ok, err = httpc:connect({ scheme = "http", host = "127.0.0.1", port = 1980 })
            ngx.say("connect: ", ok, " ", err)
            local res, err = httpc:request({ method = "GET", path = "/chunks" })
            ngx.say(res.status, " ", res.headers["Transfer-Encoding"])
            while true do
                local chunk, err = res.body_reader()
                if err then ngx.say("err: ", err) break end
                if not chunk then break end
                ngx.say("[", chunk, "]")
            end
            ngx.say("after: ", res.body_reader())
            httpc:close()
            """, """
            connect: true nil
            200 chunked
            [a]
            [bb]
            [data: {"x":1}

            ]
            after: nil

            """);

    [Fact]
    public Task ContentLengthReaderAndLegacyConnect() => Expect("""
            local http = require("resty.http")
            local httpc = http.new()
            assert(httpc:connect("127.0.0.1", 1980))
            local res = assert(httpc:request({ path = "/fixed" }))
            ngx.say(res.headers["Content-Length"], " ", res:read_body())
            ngx.say(httpc:set_keepalive())
            httpc = http.new()
            assert(httpc:connect("127.0.0.1", 1980))
            res = assert(httpc:request({ path = "/fixed" }))
            ngx.say(res.body_reader(4), " ", res.body_reader(4), " ", res.body_reader(4), " ", res.body_reader(4))
            httpc:close()
            """, """
            10 0123456789
            1
            0123 4567 89 nil

            """);

    [Fact]
    public Task StatusMultiHeadersErrorsAndParseUri() => Expect("""
            local http = require("resty.http")
            local res = http.new():request_uri("http://127.0.0.1:1980/status")
            ngx.say(res.status, " ", type(res.headers["x-multi"]), " ", table.concat(res.headers["x-multi"], ","), " ", res.body)
            ngx.say(http.new():request_uri("http://127.0.0.1:1999/"))
            local posted = http.new():request_uri("http://127.0.0.1:1980/echo", { method = "POST" })
            ngx.say(posted.status, " cl=", posted.body:match("cl: (%d+)"))
            ngx.say(http.new():request_uri("not a uri"))
            local p = http.new():parse_uri("https://example.com/a/b?x=1", false)
            ngx.say(p[1], " ", p[2], " ", p[3], " ", p[4], " ", p[5])
            p = http.new():parse_uri("http://[::1]:8080")
            ngx.say(p[1], " ", p[2], " ", p[3], " ", p[4])
            """, """
            201 table 1,2 created

            nilconnection refused
            200 cl=0
            nilbad uri: not a uri
            https example.com 443 /a/b x=1
            http [::1] 8080 /

            """);

    [Fact]
    public async Task RequestsToOwnServerWithReturnLocations()
    {
        await using var w = await OpenRestyWorld.StartAsync("""
            server {
                listen 1984;
                location = /p/exact { return 200 "exact"; }
                location ~ ^/p/.*\.txt$ { return 200 "regex"; }
                location /p/ { return 200 "prefix"; }
                location /t {
                    content_by_lua_block {
                        local http = require("resty.http")
                        local out = {}
                        for _, p in ipairs({"/p/exact", "/p/x.txt", "/p/other"}) do
                            local res = http.new():request_uri("http://127.0.0.1:" .. ngx.var.server_port .. p)
                            out[#out + 1] = res.body
                        end
                        ngx.say(table.concat(out, " "))
                    }
                }
            }
            """);
        var body = await w.BodyAsync();
        Assert.Equal("exact regex prefix\n", body);
    }
}
