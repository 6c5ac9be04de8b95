using System.Text.Json.Nodes;
using Apisix.Plugins.AiProxy.AiTransport;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.AiTransport;

public class AwsEventStreamTests
{
    private static string Frame(string eventType, string payload) => AwsEventStream.EncodeFrame(
        [new(":event-type", eventType), new(":message-type", "event"), new(":content-type", "application/json")], payload);

    // a hand-built frame with no headers and payload "{}": lengths and CRC-32s computed independently
    // (prelude 0x00000012 0x00000000, CRC-32 of those 8 bytes, then "{}", then CRC-32 of all before)
    private static string HandBuilt()
    {
        byte[] prelude = [0, 0, 0, 0x12, 0, 0, 0, 0];
        var preludeCrc = BitwiseCrc32(prelude);
        var head = new List<byte>(prelude);
        head.AddRange(BitConverter.GetBytes(preludeCrc).Reverse());
        head.AddRange("{}"u8.ToArray());
        var msgCrc = BitwiseCrc32(head.ToArray());
        head.AddRange(BitConverter.GetBytes(msgCrc).Reverse());
        return new string(head.Select(b => (char)b).ToArray());
    }

    // CRC-32 (IEEE, reflected, polynomial 0xEDB88320) one bit at a time
    private static uint BitwiseCrc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
        }
        return ~crc;
    }

    /// <summary>A frame from raw header bytes and a payload, lengths and CRCs computed here.</summary>
    private static string RawFrame(byte[] headers, byte[] payload)
    {
        var total = 12 + headers.Length + payload.Length + 4;
        var bytes = new List<byte>();
        bytes.AddRange(BitConverter.GetBytes((uint)total).Reverse());
        bytes.AddRange(BitConverter.GetBytes((uint)headers.Length).Reverse());
        bytes.AddRange(BitConverter.GetBytes(BitwiseCrc32(bytes.ToArray())).Reverse());
        bytes.AddRange(headers);
        bytes.AddRange(payload);
        bytes.AddRange(BitConverter.GetBytes(BitwiseCrc32(bytes.ToArray())).Reverse());
        return new string(bytes.Select(b => (char)b).ToArray());
    }

    [Fact]
    public void A_header_name_ending_the_section_takes_its_type_from_the_payload_as_upstream_does()
    {
        // headers: name "flag" and nothing more; the payload's first byte (0, "true") is read as its type
        byte[] headers = [4, (byte)'f', (byte)'l', (byte)'a', (byte)'g'];
        var ev = AwsEventStream.DecodeFrame(RawFrame(headers, [0, (byte)'{', (byte)'}']), 0);
        ev.Error.Should().BeNull();
        ev.Event!["headers"]!["flag"]!.GetValue<bool>().Should().BeTrue();
        ev.Event["payload"]!.GetValue<string>().Should().Be("\0{}");

        // a string type read from the payload takes its length from there too, and overruns the section
        var str = AwsEventStream.DecodeFrame(RawFrame(headers, [7, 0, 1, (byte)'x']), 0);
        str.Error.Should().Be("failed to parse headers: header value extends past headers section");
    }

    [Fact]
    public void Crc_reference_value() => BitwiseCrc32("123456789"u8.ToArray()).Should().Be(0xCBF43926u);

    [Fact]
    public void Good_frame_decodes_headers_and_payload()
    {
        var (events, rest) = AwsEventStream.DecodeBuf(Frame("contentBlockDelta", "{\"a\":1}") + Frame("messageStop", "{}"));
        rest.Should().BeEmpty();
        events.Should().HaveCount(2);
        var ev = (JsonObject)events[0]!;
        ev["headers"]![":event-type"]!.GetValue<string>().Should().Be("contentBlockDelta");
        ev["headers"]![":message-type"]!.GetValue<string>().Should().Be("event");
        ev["payload"]!.GetValue<string>().Should().Be("{\"a\":1}");
        events[1]!["headers"]![":event-type"]!.GetValue<string>().Should().Be("messageStop");
    }

    [Fact]
    public void Independently_built_frame_decodes()
    {
        var frame = HandBuilt();
        frame.Should().Be(AwsEventStream.EncodeFrame([], "{}"));
        var (events, rest) = AwsEventStream.DecodeBuf(frame);
        rest.Should().BeEmpty();
        events.Should().ContainSingle();
        events[0]!["payload"]!.GetValue<string>().Should().Be("{}");
        ((JsonObject)events[0]!["headers"]!).Count.Should().Be(0);
    }

    [Fact]
    public void Bad_prelude_crc_is_rejected_with_a_clear_error()
    {
        var frame = Frame("messageStop", "{}").ToCharArray();
        frame[9] = (char)(frame[9] ^ 0xFF);
        var bad = new string(frame);

        var error1 = AwsEventStream.DecodeFrame(bad, 0).Error;
        error1.Should().StartWith("prelude CRC mismatch at offset 0");

        var warnings = new List<string>();
        AwsEventStream.Decode(bad, warnings.Add).Should().BeEmpty();
        warnings.Should().ContainSingle().Which.Should().Contain("prelude CRC mismatch");

        // split keeps it (and what follows) out of the decoded part
        var good = Frame("messageStop", "{}");
        var (events, rest) = AwsEventStream.DecodeBuf(good + bad + good);
        events.Should().ContainSingle();
        rest.Should().Be(bad + good);
    }

    [Fact]
    public void Bad_message_crc_is_rejected_with_a_clear_error()
    {
        var frame = Frame("contentBlockDelta", "{\"a\":1}").ToCharArray();
        frame[^6] = (char)(frame[^6] ^ 0x01); // a payload byte
        var bad = new string(frame);

        AwsEventStream.DecodeFrame(bad, 0).Error.Should().StartWith("message CRC mismatch at offset 0");
        var warnings = new List<string>();
        var (events, _) = AwsEventStream.DecodeBuf(Frame("messageStart", "{}") + bad, warnings.Add);
        events.Should().ContainSingle();
        warnings.Should().ContainSingle().Which.Should().Contain("message CRC mismatch");
    }

    [Fact]
    public void Frames_split_across_chunks_reassemble()
    {
        var all = Frame("messageStart", "{\"role\":\"assistant\"}") + Frame("contentBlockDelta", "{\"delta\":{\"text\":\"hé\"}}")
                  + Frame("messageStop", "{}");
        foreach (var size in new[] { 1, 3, 7, 16, 50 })
        {
            var pending = "";
            var types = new List<string>();
            for (var i = 0; i < all.Length; i += size)
            {
                var (events, rest) = AwsEventStream.DecodeBuf(pending + all.Substring(i, Math.Min(size, all.Length - i)));
                pending = rest;
                types.AddRange(events.Select(e => e!["headers"]![":event-type"]!.GetValue<string>()));
            }
            pending.Should().BeEmpty();
            types.Should().Equal("messageStart", "contentBlockDelta", "messageStop");
        }
    }

    [Fact]
    public void Garbage_and_truncation_never_throw()
    {
        var rnd = new Random(7);
        for (var n = 0; n < 200; n++)
        {
            var junk = new string(Enumerable.Range(0, rnd.Next(0, 64)).Select(_ => (char)rnd.Next(0, 256)).ToArray());
            var act = () => AwsEventStream.DecodeBuf(junk);
            act.Should().NotThrow();
            AwsEventStream.Decode(junk).Should().NotBeNull();
        }
        var frame = Frame("messageStop", "{}");
        AwsEventStream.DecodeFrame(frame[..10], 0).Error.Should().StartWith("truncated prelude");
        AwsEventStream.DecodeFrame(frame[..20], 0).Error.Should().StartWith("incomplete frame");
    }
}
