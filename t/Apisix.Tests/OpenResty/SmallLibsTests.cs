using Xunit;

namespace Apisix.Tests.OpenResty;

public class SmallLibsTests
{
    private static Task Expect(string lua, string expected) => OpenRestyWorld.ExpectAsync(lua, expected);

    [Fact]
    public Task ToolkitJsonSortsKeys() => Expect("""
            local json = require("toolkit.json")
            ngx.say(json.encode({ b = 1, a = { z = true, y = "s/t" }, c = { 3, 2, 1 }, e = {} }))
            ngx.say(json.encode({ [1] = "x", [3] = "z" }))
            ngx.say(json.encode({ a = json.null, b = ngx.null }))
            ngx.say(json.encode("q\"\n"), " ", json.encode(1.5), " ", json.encode(10))
            local v, pos = json.decode('{"a":[1,2,{"b":null}],"s":"x\\u00e9\\n","n":-1.5e2}')
            ngx.say(#v.a, " ", v.a[3].b, " ", v.s == "x\195\169\n", " ", v.n, " ", pos)
            ngx.say(json.encode((json.decode('{"o":{},"a":[]}'))))
            ngx.say(json.decode("[1,"))
            ngx.say(pcall(json.encode, { f = print }))
            """, """
            {"a":{"y":"s/t","z":true},"b":1,"c":[3,2,1],"e":[]}
            ["x",null,"z"]
            {"a":null,"b":null}
            "q\"\n" 1.5 10
            3 nil true -150 50
            {"a":[],"o":{}}
            nil4no valid JSON value at line 1, column 4
            falsetype 'function' is not supported by JSON.

            """);

    [Fact]
    public Task InspectRendersTables() => Expect("""
            local inspect = require("inspect")
            ngx.say(inspect({ 1, 2, 3 }))
            ngx.say(inspect({ a = 1, ["b c"] = "x", [5] = true }))
            ngx.say(inspect("it's \"q\"\n"), " ", inspect(nil), " ", inspect(1.5), " ", inspect({}))
            ngx.say(inspect({ 1, n = { 2 } }))
            """, """
            { 1, 2, 3 }
            {
              [5] = true,
              a = 1,
              ["b c"] = "x"
            }
            "it's \"q\"\n" nil 1.5 {}
            { 1,
              n = { 2 }
            }

            """);

    [Fact]
    public Task DigestsHexRandomBase64() => Expect("""
            local str = require("resty.string")
            local md5 = require("resty.md5"):new()
            md5:update("hel") md5:update("lo")
            ngx.say(str.to_hex(md5:final()))
            local sha1 = require("resty.sha1"):new()
            sha1:update("hello")
            ngx.say(str.to_hex(sha1:final()))
            local sha256 = require("resty.sha256"):new()
            sha256:update("hello")
            ngx.say(str.to_hex(sha256:final()))
            ngx.say(#require("resty.random").bytes(16))
            local b64 = require("ngx.base64")
            ngx.say(b64.encode_base64url("\255\254\253hello?"))
            ngx.say(b64.decode_base64url(b64.encode_base64url("\255\254\253hello?")) == "\255\254\253hello?")
            ngx.say(b64.decode_base64url("a*b"))
            """, """
            5d41402abc4b2a76b9719d911017c592
            aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d
            2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
            16
            __79aGVsbG8_
            true
            nilinvalid input

            """);

    [Fact]
    public Task Aes() => Expect("""
            local aes = require("resty.aes")
            local str = require("resty.string")
            local a = aes:new("secret")
            local enc = a:encrypt("hello world")
            ngx.say(str.to_hex(enc), " ", a:decrypt(enc))
            local key, iv = "0123456789abcdef", "fedcba9876543210"
            local b = assert(aes:new(key, nil, aes.cipher(128, "cbc"), { iv = iv }))
            local e2 = b:encrypt("data")
            ngx.say(#e2, " ", b:decrypt(e2))
            ngx.say(b:decrypt("0123456789abcdef"))
            ngx.say(aes:new("short", nil, aes.cipher(128, "cbc"), { iv = iv }))
            ngx.say(aes.cipher(100, "cbc"))
            local g = assert(aes:new(string.rep("k", 32), nil, aes.cipher(256, "gcm"), { iv = string.rep("i", 12) }))
            local r = g:encrypt("msg")
            ngx.say(#r[1], " ", #r[2], " ", g:decrypt(r[1], r[2]))
            local c = assert(aes:new(key, nil, aes.cipher(128, "ctr"), { iv = iv }))
            ngx.say(c:decrypt(c:encrypt("counter mode")))
            """, """
            25f3160d93859d62b732fcfc970f00d0 hello world
            16 data
            nilEVP_DecryptFinal_ex failed
            nilbad key length
            nil
            3 16 msg
            counter mode

            """);
}
