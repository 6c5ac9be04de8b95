using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty.Libs;
using FluentAssertions;
using NLua;
using Xunit;

namespace Apisix.Tests.OpenResty;

public sealed class LuaJsonTests : IDisposable
{
    private readonly Lua _lua = new();

    public LuaJsonTests()
    {
        _lua.State.Encoding = System.Text.Encoding.Latin1;
        _lua.DoString("ngx = { null = setmetatable({}, { __name = 'null' }) }");
    }

    public void Dispose() => _lua.Dispose();

    private object Eval(string expr) => _lua.DoString("return " + expr)[0];

    private string Enc(string expr) => CJson.Encode(LuaJson.ToJson(_lua, Eval(expr)), escapeForwardSlash: false);

    [Fact]
    public void TablesFollowCjsonRules()
    {
        Enc("{1, 2, 'a/b'}").Should().Be("[1,2,\"a/b\"]");
        Enc("{}").Should().Be("{}");
        Enc("{a = {}, b = ngx.null, c = 1.5, d = true}").Should().Match("{*}");
        var obj = (JsonObject)LuaJson.ToJson(_lua, Eval("{a = {}, b = ngx.null, c = 1.5, d = true, e = 2^53}"))!;
        obj["a"].Should().BeOfType<JsonObject>();
        obj["b"].Should().BeNull();
        obj.ContainsKey("b").Should().BeTrue();
        CJson.Encode(obj["c"]).Should().Be("1.5");
        CJson.Encode(obj["e"]).Should().Be("9.007199254741e+15");
        Enc("{[1] = 'a', [3] = 'c'}").Should().Be("[\"a\",null,\"c\"]");
        var act = () => LuaJson.ToJson(_lua, Eval("{[1] = 1, [20] = 2}"));
        act.Should().Throw<CJsonException>().WithMessage("Cannot serialise table: excessively sparse array");
        var fn = () => LuaJson.ToJson(_lua, Eval("{f = print}"));
        fn.Should().Throw<CJsonException>().WithMessage("Cannot serialise function: type not supported");
        LuaJson.TryToJson(_lua, Eval("{[true] = 1}")).Error.Should().Be("Cannot serialise boolean: table key must be a number or string");
        Enc("{[2.5] = 'x', [7] = 'y', k = 1}").Should().Contain("\"2.5\":\"x\"").And.Contain("\"7\":\"y\"");
    }

    [Fact]
    public void ArrayMetatablesForceArrays()
    {
        LuaJson.EnsureShared(_lua.State);
        var mt = LuaJson.FromJson(_lua, JsonNode.Parse("[]"));
        _lua["arr"] = mt;
        Enc("arr").Should().Be("[]");
        _lua.DoString("arr2 = setmetatable({}, getmetatable(arr))");
        Enc("arr2").Should().Be("[]");
        LuaJson.FromJson(_lua, JsonNode.Parse("[]"), arrayMt: false).Should().BeOfType<LuaTable>();
        _lua["plain"] = LuaJson.FromJson(_lua, JsonNode.Parse("[]"), arrayMt: false);
        Enc("plain").Should().Be("{}");
    }

    [Fact]
    public void RoundTrip()
    {
        var text = "{\"a\":[1,2.5,\"x\",true,null,{\"b\":[]}],\"s\":\"h\u00e9\",\"n\":-3}";
        var node = JsonNode.Parse(text);
        var lua = LuaJson.FromJson(_lua, node);
        _lua["v"] = lua;
        ((long)Eval("v.a[1]")).Should().Be(1);
        ((string)Eval("math.type(v.a[1])")).Should().Be("integer");
        ((double)Eval("v.a[2]")).Should().Be(2.5);
        ((bool)Eval("v.a[5] == ngx.null")).Should().BeTrue();
        ((string)Eval("v.s")).Should().Be("h\u00e9"); // chars up to 0xFF are bytes (ByteString's convention)
        ((long)Eval("#v.a")).Should().Be(6);
        var back = LuaJson.ToJson(_lua, lua);
        JsonNode.DeepEquals(JsonNode.Parse(CJson.Encode(back)), JsonNode.Parse(CJson.Encode(node))).Should().BeTrue();
        LuaJson.IsNull(_lua, Eval("ngx.null")).Should().BeTrue();
        LuaJson.IsNull(_lua, Eval("{}")).Should().BeFalse();
        LuaJson.FromJson(_lua, null).Should().BeOfType<LuaTable>();
        LuaJson.FromJson(_lua, JsonValue.Create("x")).Should().Be("x");
        LuaJson.FromJson(_lua, JsonValue.Create(5)).Should().Be(5L);
    }

    [Fact]
    public void SyncIntoAddsDefaultsInPlace()
    {
        _lua.DoString("conf = { a = 1, nested = { x = 1 }, list = { { p = 1 } } } keep = conf.nested keep2 = conf.list[1]");
        var conf = (LuaTable)Eval("conf");
        var json = LuaJson.ToJson(_lua, conf)!.AsObject();
        json["b"] = "default";
        json["nested"]!["y"] = true;
        json["list"]![0]!["q"] = new JsonArray();
        json["extra"] = new JsonObject { ["z"] = 3 };
        LuaJson.SyncInto(_lua, conf, json);
        ((string)Eval("conf.b")).Should().Be("default");
        ((bool)Eval("keep == conf.nested and conf.nested.y == true and conf.nested.x == 1")).Should().BeTrue();
        ((bool)Eval("keep2 == conf.list[1] and conf.list[1].p == 1")).Should().BeTrue();
        ((long)Eval("conf.extra.z")).Should().Be(3);
        Enc("conf.list[1].q").Should().Be("[]");
        ((long)Eval("conf.a")).Should().Be(1);
    }
}
