using Apisix.Core;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Core;

/// <summary>The C#-only parts of the core twins; their Lua faces are covered by t/apisix/core-modules.t.</summary>
public class CoreTwinsTests
{
    [Theory]
    [InlineData("1", 1)]
    [InlineData("1s100ms", 1.1)]
    [InlineData("1h  30m", 5400)]
    [InlineData("1y1M1w1d1h1m1s1ms", 34822861.001)]
    public void ParseTimeUnit_reads_units_largest_first(string input, double seconds) =>
        ConfigUtil.ParseTimeUnit(input).Should().Be(((double?)seconds, (string?)null));

    [Theory]
    [InlineData("-1", "invalid data: -")]
    [InlineData("1m1h", "unexpected unit: h")]
    [InlineData("", "invalid data: ")]
    [InlineData("1s1", "specific unit conflicts with the default unit second")]
    public void ParseTimeUnit_reports_upstreams_errors(string input, string error) =>
        ConfigUtil.ParseTimeUnit(input).Error.Should().Be(error);

    [Theory]
    [InlineData("127.0.0.1:90", "127.0.0.1", 90.0)]
    [InlineData("www.test.com", "www.test.com", null)]
    [InlineData("[::1]:1234", "[::1]", 1234.0)]
    [InlineData("[::1]", "[::1]", null)]
    [InlineData("[127.0.0.1:90", "[127.0.0.1:90", null)]
    [InlineData("::1", "::1", null)]
    public void ParseAddr_splits_host_and_port(string addr, string host, double? port) =>
        CoreUtils.ParseAddr(addr).Should().Be((host, port));

    [Fact]
    public void ResolveVar_fills_names_defaults_and_keeps_escaped_dollars()
    {
        var vars = new Dictionary<string, string> { ["you"] = "John", ["me"] = "David" };
        string? Lookup(string k) => vars.GetValueOrDefault(k);
        CoreUtils.ResolveVar("${you}_${me}", Lookup).Should().Be(("John_David", 2));
        CoreUtils.ResolveVar("${she ?? Rose}$me", Lookup).Should().Be(("RoseDavid", 2));
        CoreUtils.ResolveVar("$eva and $me", Lookup).Should().Be((" and David", 1));
        CoreUtils.ResolveVar("$you and \\$me", Lookup).Should().Be(("John and \\$me", 1));
        CoreUtils.ResolveVar("no vars", Lookup).Should().Be(("no vars", 0));
    }

    [Theory]
    [InlineData("0.010, 0.020 : 0.030", "0.030")]
    [InlineData("-", "-")]
    [InlineData(" , ", null)]
    public void GetLastUpstreamToken_takes_the_last_try(string s, string? last) =>
        CoreResponseLua.GetLastUpstreamToken(s).Should().Be(last);

    [Fact]
    public void Header_checks_follow_upstream()
    {
        CoreUtils.IsValidHeaderField("X-Ok").Should().BeTrue();
        CoreUtils.IsValidHeaderField("bad:name").Should().BeFalse();
        CoreUtils.IsValidHeaderValue("tab\there").Should().BeFalse();
        CoreUtils.UriSafeEncode("/a b?c").Should().Be("/a%20b%3Fc");
        CoreMath.Gcd(12, 18).Should().Be(6);
    }
}
