using System.Text.RegularExpressions;
using Apisix.TestNginx.Checks;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Checks;

public class PerlRegexTranslatorTests
{
    private static bool M(string pattern, string flags, string subject) =>
        PerlRegexTranslator.Compile(pattern, flags).IsMatch(subject);

    [Fact]
    public void Never_uses_ecmascript_and_maps_flags()
    {
        PerlRegexTranslator.Translate("a", "smix").Options.Should().Be(
            RegexOptions.Singleline | RegexOptions.Multiline | RegexOptions.IgnoreCase
            | RegexOptions.IgnorePatternWhitespace | RegexOptions.CultureInvariant);
        PerlRegexTranslator.Translate("a", "").Options.Should().NotHaveFlag(RegexOptions.ECMAScript);
    }

    [Theory]
    // $ without /m: at the end, or before one final newline only.
    [InlineData("done$", "", "all done\n", true)]
    [InlineData("done$", "", "all done\n\n", false)]
    [InlineData("done$", "m", "done\nmore", true)]
    [InlineData("done\\z", "", "done\n", false)]
    [InlineData("done\\Z", "", "done\n", true)]
    [InlineData("\\Adone", "m", "x\ndone", false)]
    [InlineData("^done", "m", "x\ndone", true)]
    // . crosses newlines only with /s.
    [InlineData("a.b", "", "a\nb", false)]
    [InlineData("a.b", "s", "a\nb", true)]
    [InlineData("ABC", "i", "xabcx", true)]
    [InlineData("a b c # spaced out", "x", "abc", true)]
    public void Anchors_and_flags_behave_as_in_perl(string pattern, string flags, string subject, bool expected) =>
        M(pattern, flags, subject).Should().Be(expected);

    [Theory]
    // Byte strings: \d \w \s are ASCII only (0xA0 and 0xE9 are Latin-1 bytes here).
    [InlineData("^\\s$", "\u00a0", false)]
    [InlineData("^\\S$", "\u00a0", true)]
    [InlineData("^\\w$", "\u00e9", false)]
    [InlineData("^\\W$", "\u00e9", true)]
    [InlineData("^[\\w.]+$", "a_b.c", true)]
    [InlineData("^[^\\d]+$", "abc", true)]
    [InlineData("^[\\D]+$", "a1", false)]
    [InlineData("^\\s$", "\u000b", true)]
    public void Shorthand_classes_are_ascii(string pattern, string subject, bool expected) =>
        M(pattern, "", subject).Should().Be(expected);

    [Theory]
    [InlineData(@"\Qa.b*c\E+", "a.b*cc", true)]
    [InlineData(@"\Qa.b\E", "axb", false)]
    [InlineData(@"\x{41}\x42\x9", "AB\t", true)]
    [InlineData(@"(\w)\g1", "aa", true)]
    [InlineData(@"(?<w>\w)\g{w}", "bb", true)]
    [InlineData(@"(?P<w>\w)(?P=w)", "cc", true)]
    [InlineData(@"[[:digit:]]+-[[:^alpha:]]", "12-3", true)]
    [InlineData(@"[]a]", "]", true)]
    [InlineData(@"[a[]", "[", true)]
    [InlineData(@"a\h+b", "a \tb", true)]
    [InlineData(@"a\Rb", "a\r\nb", true)]
    [InlineData(@"a(?#note [ here)b", "ab", true)]
    public void Perl_spellings_are_rewritten(string pattern, string subject, bool expected) =>
        M(pattern, "", subject).Should().Be(expected);

    [Fact]
    public void Stringified_qr_groups_reset_flags()
    {
        // (?^:...) is what an interpolated qr looks like: its own flags only.
        M("(?^:a.b)", "s", "a\nb").Should().BeFalse();
        M("(?^s:a.b)", "", "a\nb").Should().BeTrue();
        M("(?^i:abc)", "", "ABC").Should().BeTrue();
    }

    [Fact]
    public void Unsupported_constructs_are_reported()
    {
        var act = () => PerlRegexTranslator.Compile(@"foo\Kbar", "");
        act.Should().Throw<PerlRegexException>().WithMessage("*\\K*");
        var bad = () => PerlRegexTranslator.Compile("a(b", "");
        bad.Should().Throw<PerlRegexException>().WithMessage("can't compile /a(b/*");
    }
}
