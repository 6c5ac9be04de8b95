using System.Text.Json.Nodes;
using Apisix.Core.Schema;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Schema;

/// <summary>PCRE patterns run on .NET Regex the way ngx.re.find runs them.</summary>
public class SchemaPatternTests
{
    private static bool Matches(string pattern, string value)
    {
        var schema = new JsonObject { ["pattern"] = pattern };
        return JsonSchema.Check(schema, JsonValue.Create(value)).Ok;
    }

    [Theory]
    // A host pattern with '-' after a range and escaped brackets in a class.
    [InlineData(@"^\*$|^\*?[0-9a-zA-Z-._\[\]:]+$", "*.example.com", true)]
    [InlineData(@"^\*$|^\*?[0-9a-zA-Z-._\[\]:]+$", "[::1]", true)]
    [InlineData(@"^\*$|^\*?[0-9a-zA-Z-._\[\]:]+$", "a b", false)]
    [InlineData(@"^[a-zA-Z0-9._-]+$", "Auth-Header_1.x", true)]
    [InlineData(@"^[a-zA-Z0-9._-]+$", "bad header", false)]
    // Search, not full match.
    [InlineData(@"b+", "abbbc", true)]
    // \d \w \s are ASCII only, as PCRE without UTF mode.
    [InlineData(@"^\w+$", "caf\u00e9", false)]
    [InlineData(@"^\d$", "\u0663", false)]
    [InlineData(@"^\S+$", "a\u00a0b", true)]
    // POSIX classes and a literal ']' first in a class.
    [InlineData(@"^[[:alpha:]]+$", "abcXYZ", true)]
    [InlineData(@"^[[:alpha:]]+$", "abc1", false)]
    [InlineData(@"^[]a]+$", "]a]", true)]
    // $ also matches before a final newline.
    [InlineData(@"^abc$", "abc\n", true)]
    // Something .NET cannot compile never matches.
    [InlineData(@"(", "(", false)]
    public void Patterns(string pattern, string value, bool expected)
    {
        Matches(pattern, value).Should().Be(expected);
    }

    [Fact]
    public void MultiByteCharactersAreMatchedAsBytes()
    {
        // "é" is two bytes, so a single-byte '.' cannot cover it.
        Matches("^.$", "\u00c3\u00a9").Should().BeFalse();
        Matches("^..$", "\u00c3\u00a9").Should().BeTrue();
        Matches("^...$", "\u20ac").Should().BeTrue(); // a string with chars above 0xFF is taken as UTF-8
    }
}
