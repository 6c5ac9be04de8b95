using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Plugins.AiProxy.AiTransport;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.AiTransport;

public class SseTests
{
    private static string Enc(JsonNode? n) => CJson.Encode(n);

    [Fact]
    public void Decode_reads_fields_joins_data_lines_and_skips_comments()
    {
        var events = Sse.Decode("event: ping\ndata: a\ndata:b\nid: 7\nretry: 1500\n\n: just a comment\n\nDATA:  two spaces\r\n\r\nno-colon line\n\n");
        events.Count.Should().Be(2);
        Enc(events[0]).Should().Be("""{"type":"ping","data":"a\nb","id":"7","retry":1500}""");
        Enc(events[1]).Should().Be("""{"type":"message","data":" two spaces"}""");
    }

    [Fact]
    public void Decode_takes_trailing_text_as_an_event_and_empty_input_as_none()
    {
        Sse.Decode(null).Count.Should().Be(0);
        Sse.Decode("").Count.Should().Be(0);
        var events = Sse.Decode("data: first\n\ndata: tail");
        events.Select(e => (string)e!["data"]!).Should().Equal("first", "tail");
    }

    [Fact]
    public void Decode_drops_a_retry_that_is_not_a_number()
    {
        var ev = Sse.Decode("retry: soon\ndata: x\n\n")[0]!.AsObject();
        ev.ContainsKey("retry").Should().BeFalse();
    }

    [Fact]
    public void Encode_writes_named_events_and_one_data_line_per_line()
    {
        Sse.Encode(new JsonObject { ["type"] = "delta", ["id"] = "3", ["retry"] = 10, ["data"] = "x\ny" })
            .Should().Be("event: delta\nid: 3\nretry: 10\ndata: x\ndata: y\n\n");
        Sse.Encode(new JsonObject { ["type"] = "message", ["data"] = "" }).Should().Be("data: \n\n");
        Sse.Encode(new JsonObject { ["data"] = "end\n" }).Should().Be("data: end\ndata: \n\n");
        Sse.Encode(new JsonObject()).Should().Be("\n\n");
    }

    [Fact]
    public void Encode_round_trips_through_decode()
    {
        var text = Sse.Encode(new JsonObject { ["type"] = "content_block_delta", ["data"] = """{"a":"b\"c"}""" });
        Enc(Sse.Decode(text)[0]).Should().Be(Enc(new JsonObject { ["type"] = "content_block_delta", ["data"] = """{"a":"b\"c"}""" }));
    }

    [Fact]
    public void Encode_fails_like_lua_on_a_table_field()
    {
        var act = () => Sse.Encode(new JsonObject { ["data"] = new JsonObject() });
        act.Should().Throw<InvalidOperationException>().WithMessage("*concatenate*data*");
    }

    [Fact]
    public void DecodeBuf_keeps_the_incomplete_tail()
    {
        var (events, rest) = Sse.DecodeBuf("data: 1\n\ndata: 2\r\n\r\ndata: 3");
        events.Select(e => (string)e!["data"]!).Should().Equal("1", "2");
        rest.Should().Be("data: 3");

        var (none, all) = Sse.DecodeBuf("data: partial");
        none.Count.Should().Be(0);
        all.Should().Be("data: partial");

        Sse.DecodeBuf("data: 1\n\n").Remainder.Should().Be("");
    }

    [Fact]
    public void SplitBuf_cuts_after_the_last_boundary()
    {
        Sse.SplitBuf("a\n\nb\r\n\r\nc").Should().Be(("a\n\nb\r\n\r\n", "c"));
        Sse.SplitBuf("no boundary").Should().Be(("", "no boundary"));
        Sse.SplitBuf("x\n\n").Should().Be(("x\n\n", ""));
    }
}
