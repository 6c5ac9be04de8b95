using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Apisix.Core.Plugins;
using Apisix.Core.Plugins.Builtin;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Plugins;

public class RequestIdTests
{
    /// <summary>Bytes 0, 1, 2... from NextBytes; Next(n) always 0.</summary>
    private sealed class Counting : Random
    {
        private int _next;
        public override void NextBytes(Span<byte> buffer)
        {
            for (var i = 0; i < buffer.Length; i++) buffer[i] = (byte)_next++;
        }
        public override void NextBytes(byte[] buffer) => NextBytes(buffer.AsSpan());
        public override int Next(int maxValue) => 0;
    }

    private static readonly Regex UuidV4 = new("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

    [Fact]
    public void Uuid_is_a_random_version_4_uuid()
    {
        var alg = new RequestIdAlgorithms();
        var ids = Enumerable.Range(0, 200).Select(_ => alg.UuidV4()).ToList();
        ids.Should().OnlyContain(id => UuidV4.IsMatch(id));
        ids.Distinct().Should().HaveCount(200);
        // version and variant bits are forced whatever the random bytes are
        new RequestIdAlgorithms(new Counting()).UuidV4().Should().Be("00010203-0405-4607-8809-0a0b0c0d0e0f");
    }

    [Fact]
    public void Nanoid_maps_the_low_six_bits_of_each_byte_to_the_url_safe_alphabet()
    {
        new RequestIdAlgorithms(new Counting()).NanoId().Should().Be("-_0123456789abcdefghi");
        var id = new RequestIdAlgorithms().NanoId();
        id.Should().HaveLength(21).And.MatchRegex("^[-_0-9a-zA-Z]{21}$");
    }

    [Fact]
    public void Range_id_draws_length_characters_from_the_set()
    {
        new RequestIdAlgorithms(new Counting()).RangeId(8, "xyz123").Should().Be("xxxxxxxx");
        var id = new RequestIdAlgorithms().RangeId(40, "ab");
        id.Should().HaveLength(40).And.MatchRegex("^[ab]+$");
    }

    [Fact]
    public void Ksuid_is_27_base62_characters_of_timestamp_and_random_bytes()
    {
        RequestIdAlgorithms.KsuidEncode(new byte[20]).Should().Be(new string('0', 27));
        RequestIdAlgorithms.KsuidEncode(Enumerable.Repeat((byte)0xFF, 20).ToArray()).Should().Be("aWgEPTl1tmebfsQzFP4bxwgy80V");
        // 1400000000 s is the KSUID epoch: timestamp 0, so only the random part is non-zero
        var alg = new RequestIdAlgorithms(new Counting(), () => 1_400_000_000_000);
        var raw = new byte[20];
        for (var i = 0; i < 16; i++) raw[4 + i] = (byte)i;
        alg.Ksuid().Should().Be(RequestIdAlgorithms.KsuidEncode(raw));
    }

    [Fact]
    public void Uuid_v7_carries_the_millisecond_time_and_a_sequence_within_it()
    {
        long now = 0x0123456789AB;
        var alg = new RequestIdAlgorithms(new Counting(), () => now);
        var first = alg.UuidV7();
        var second = alg.UuidV7();
        first.Should().Be("01234567-89ab-7000-8000-000000000000");
        second.Should().Be("01234567-89ab-7000-8100-000000000000");
        now++;
        alg.UuidV7().Should().StartWith("01234567-89ac-7000-80");
        // the clock going back keeps the last millisecond
        now -= 5;
        alg.UuidV7().Should().StartWith("01234567-89ac-7000-81");
    }

    [Fact]
    public void Schema_writes_the_defaults_and_refuses_bad_confs()
    {
        IPlugin plugin = new RequestIdPlugin();
        plugin.Priority.Should().Be(12015);
        plugin.Version.Should().Be(0.1);
        var conf = new JsonObject();
        plugin.CheckSchema(conf, SchemaType.Plugin).Ok.Should().BeTrue();
        conf["header_name"]!.GetValue<string>().Should().Be("X-Request-Id");
        conf["include_in_response"]!.GetValue<bool>().Should().BeTrue();
        conf["algorithm"]!.GetValue<string>().Should().Be("uuid");
        conf["range_id"]!["length"]!.ToJsonString().Should().Be("16");
        conf["range_id"]!["char_set"]!.GetValue<string>().Should().Be(RequestIdPlugin.DefaultCharSet);

        plugin.CheckSchema(new JsonObject { ["algorithm"] = "snowflake" }, SchemaType.Plugin).Ok.Should().BeFalse();
        plugin.CheckSchema(new JsonObject { ["range_id"] = new JsonObject { ["length"] = 5 } }, SchemaType.Plugin).Ok.Should().BeFalse();
        plugin.CheckSchema(new JsonObject { ["range_id"] = new JsonObject { ["char_set"] = "abc" } }, SchemaType.Plugin).Ok.Should().BeFalse();
    }

    [Fact]
    public void Generate_follows_the_conf_algorithm()
    {
        var plugin = new RequestIdPlugin { Algorithms = new RequestIdAlgorithms(new Counting()) };
        plugin.Generate(new JsonObject { ["algorithm"] = "range_id", ["range_id"] = new JsonObject { ["length"] = 7, ["char_set"] = "qwerty" } })
            .Should().Be("qqqqqqq");
        plugin.Generate(new JsonObject { ["algorithm"] = "nanoid" }).Should().HaveLength(21);
        UuidV4.IsMatch(plugin.Generate(new JsonObject())).Should().BeTrue();
    }
}
