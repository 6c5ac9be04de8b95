using Apisix.Core.OpenResty.Libs;
using Apisix.Core.Plugins.Builtin;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.OpenResty;

/// <summary>The libraries body-transformer stands on: the template compiler, the XML tree, multipart parts.</summary>
public class BodyTransformerLibsTests
{
    private static string Run(string view, string context)
    {
        using var lua = new NLua.Lua();
        lua.DoString("""
            template = {}
            function template.output(s) if s == nil then return "" end return tostring(s) end
            function template.escape(s)
                if type(s) == "string" then return (s:gsub("[\">/<'&]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;", ["/"] = "&#47;" })) end
                return template.output(s)
            end
            """);
        lua.DoString(context);
        return (string)lua.DoString(RestyTemplate.Compile(view))[0];
    }

    [Fact]
    public void Expressions_escape_or_not()
    {
        Run("a={{ x }} b={* x *}", "x = '<a/>'").Should().Be("a=&lt;a&#47;&gt; b=<a/>");
    }

    [Fact]
    public void Code_and_comment_lines_leave_no_blank_lines()
    {
        var view = "{# note #}\n{% for i = 1, 2 do %}\nline{{ i }}\n  {% end %}  \nend";
        Run(view, "").Should().Be("line1\nline2\nend");
    }

    [Fact]
    public void Backslash_keeps_a_tag_opener_as_text()
    {
        Run("\\{{ x }} {{ x }}", "x = 1").Should().Be("{{ x }} 1");
    }

    [Fact]
    public void Text_of_any_byte_survives()
    {
        Run("q\"\\\n]]", "").Should().Be("q\"\\\n]]");
        RestyTemplate.Quote("\u00e9\u4e2d").Should().Be("\"\\233\\228\\184\\173\"");
    }

    [Fact]
    public void Xml_tree_has_xml2lua_shape()
    {
        var (root, err) = Xml2Lua.Parse("<?xml version=\"1.0\"?><n:a n:k=\"v\"><b>1</b><b>2</b><c/><!-- x --><d>&lt;&#65;</d></n:a>");
        err.Should().BeNull();
        var a = (Xml2Lua.Table)Xml2Lua.RemoveNamespace(root!).Get("a")!;
        ((Xml2Lua.Table)a.Get("_attr")!).Get("k").Should().Be("v");
        ((Xml2Lua.Table)a.Get("b")!).Seq.Should().Equal("1", "2");
        a.Get("c").Should().Be("");
        a.Get("d").Should().Be("<A");
    }

    [Fact]
    public void Xml_errors_read_as_xml2lua_raises_them()
    {
        Xml2Lua.Parse("not xml").Error.Should().Be("Error Parsing XML [char=1]\n");
        Xml2Lua.Parse("<a><b></a>").Error.Should().StartWith("Unbalanced Tag (/a)");
        Xml2Lua.Parse("<a>").Error.Should().StartWith("Incomplete XML Document");
    }

    [Fact]
    public void Multipart_parts_by_name_repeated_as_arrays()
    {
        var body = "--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n2\r\n--X\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nz\r\n--X--";
        var (parts, err) = Multipart.Parse(body, "multipart/form-data; boundary=X");
        err.Should().BeNull();
        parts!.GetAllWithArrays().ToJsonString().Should().Be("{\"a\":[\"1\",\"2\"],\"b\":\"z\"}");
        Multipart.Parse("junk", "multipart/form-data; boundary=Y").Parts!.GetAllWithArrays().Count.Should().Be(0);
    }

    [Fact]
    public void Lua54_errors_get_LuaJIT_words()
    {
        BodyTransformerPlugin.LuaJitError("t:1: global 'name' is not callable (a string value)")
            .Should().Be("t:1: attempt to call global 'name' (a string value)");
        BodyTransformerPlugin.LuaJitError("t:1: attempt to index a nil value (field 'x')")
            .Should().Be("t:1: attempt to index field 'x' (a nil value)");
    }
}
