using FluentAssertions;
using Xunit;

namespace Apisix.Tests.OpenResty;

public class CJsonModuleTests
{
    private static Task<string> Run(string lua) => OpenRestyWorld.RunAsync(lua);

    [Fact]
    public async Task EncodeScalarsArraysObjects()
    {
        var body = await Run("""
            local cjson = require("cjson")
            ngx.say(cjson.encode({1, 2, "x", true}))
            ngx.say(cjson.encode({}))
            ngx.say(cjson.encode(setmetatable({}, cjson.empty_array_mt)))
            ngx.say(cjson.encode(cjson.empty_array))
            ngx.say(cjson.encode({a = ngx.null}))
            ngx.say(cjson.encode(cjson.null))
            ngx.say(cjson.encode(nil))
            ngx.say(cjson.encode("a/b"))
            ngx.say(cjson.encode(1.5), " ", cjson.encode(10), " ", cjson.encode(1/3))
            ngx.say(cjson.encode({[1] = "a", [3] = "c"}))
            ngx.say(cjson.encode({[2.5] = 1}))
            ngx.say(cjson.encode(setmetatable({1, 2, x = 1}, cjson.array_mt)))
            """);
        body.Should().Be("""
            [1,2,"x",true]
            {}
            []
            []
            {"a":null}
            null
            null
            "a\/b"
            1.5 10 0.33333333333333
            ["a",null,"c"]
            {"2.5":1}
            [1,2]

            """);
    }

    [Fact]
    public async Task EncodeErrors()
    {
        var body = await Run("""
            local cjson = require("cjson")
            local safe = require("cjson.safe")
            ngx.say(safe.encode({f = function() end}))
            ngx.say(safe.encode({[true] = 1}))
            ngx.say(safe.encode({[1] = 1, [100] = 2}))
            ngx.say(safe.encode(0/0))
            local t = {} t.t = t
            ngx.say(safe.encode(t))
            local ok, err = pcall(cjson.encode, {f = print})
            ngx.say(ok, " ", err)
            ok, err = pcall(cjson.encode)
            ngx.say(ok, " ", err)
            """);
        body.Should().Be("""
            nilCannot serialise function: type not supported
            nilCannot serialise boolean: table key must be a number or string
            nilCannot serialise table: excessively sparse array
            nilCannot serialise number: must not be NaN or Infinity
            nilCannot serialise, excessive nesting (1001)
            false Cannot serialise function: type not supported
            false bad argument #1 to 'encode' (expected 1 argument)

            """);
    }

    [Fact]
    public async Task DecodeAndErrors()
    {
        var body = await Run("""
            local cjson = require("cjson")
            local safe = require("cjson.safe")
            local v = cjson.decode('{"a":[1,2,{"b":null}],"s":"x\\u00e9","n":1.5,"i":3,"t":true}')
            ngx.say(#v.a, " ", v.a[3].b == ngx.null, " ", v.s == "x\195\169", " ", v.n, " ", v.i, " ", math.type(v.i), " ", v.t)
            ngx.say(getmetatable(v.a) == nil)
            ngx.say(cjson.encode(cjson.decode("[]")))
            ngx.say(safe.decode("{bad"))
            ngx.say(safe.decode("[1,2"))
            ngx.say(safe.decode(nil))
            local ok, err = pcall(cjson.decode, "x")
            ngx.say(ok, " ", err)
            safe.decode_array_with_array_mt(true)
            local a = safe.decode("[]")
            ngx.say(getmetatable(a) == cjson.array_mt, " ", safe.encode(a), " ", safe.encode(safe.decode('{"x":[]}')))
            ngx.say(cjson.decode_array_with_array_mt(), " ", safe.decode_array_with_array_mt())
            """);
        body.Should().Be("""
            3 true true 1.5 3 integer true
            true
            {}
            nilExpected object key string but found invalid token at character 2
            nilExpected comma or array end but found T_END at character 5
            nilbad argument #1 to 'decode' (string expected, got nil)
            false Expected value but found invalid token at character 1
            true [] {"x":[]}
            false true

            """);
    }

    [Fact]
    public async Task SettingsPerInstance()
    {
        var body = await Run("""
            local cjson = require("cjson")
            local safe = require("cjson.safe")
            safe.encode_escape_forward_slash(false)
            ngx.say(cjson.encode("a/b"), " ", safe.encode("a/b"))
            local c2 = cjson.new()
            c2.encode_empty_table_as_object(false)
            ngx.say(c2.encode({}), " ", cjson.encode({}))
            c2.encode_sparse_array(true)
            local sp = c2.decode(c2.encode({[1] = 1, [100] = 2}))
            ngx.say(sp["1"], " ", sp["100"])
            c2.encode_skip_unsupported_value_types(true)
            ngx.say(c2.encode({a = print, b = 1}))
            c2.encode_invalid_numbers("null")
            ngx.say(c2.encode({math.huge}))
            ngx.say(cjson.null == ngx.null, " ", safe.array_mt == cjson.array_mt)
            """);
        body.Should().Be("""
            "a\/b" "a/b"
            [] {}
            1 2
            {"b":1}
            [null]
            true true

            """);
    }
}
