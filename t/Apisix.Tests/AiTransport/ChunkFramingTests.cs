using Apisix.Plugins.AiProxy.AiTransport;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.AiTransport;

using Http = Apisix.Plugins.AiProxy.AiTransport.Http;

/// <summary>
/// body_reader over chunked responses gives back the server's chunks one per call, however the
/// bytes were cut into writes on the wire.
/// </summary>
public class ChunkFramingTests
{
    private const string ChunkedHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static string Chunk(string data) => $"{data.Length:x}\r\n{data}\r\n";

    private static AiHttpParams Params(string method = "POST") => new()
    {
        Method = method,
        Scheme = "http",
        Host = "127.0.0.1",
        Port = 1980,
        Path = "/v1/chat/completions",
        Headers = new() { ["content-type"] = "application/json" },
        Body = "{}",
    };

    private static async Task<AiHttpResponse> SendAsync(AiUpstreamWorld w, RawUpstream up, string response, string method = "POST")
    {
        var sending = Http.RequestAsync(Params(method), 3000, w.Ctx);
        (await up.ReadRequestAsync()).Should().StartWith(method + " ");
        await up.WriteAsync(response);
        var (res, err, _) = await sending.WaitAsync(Bound);
        err.Should().BeNull();
        return res!;
    }

    private static async Task<List<string>> ReadAllChunksAsync(AiHttpResponse res)
    {
        var chunks = new List<string>();
        for (var i = 0; i < 100; i++)
        {
            var (chunk, err) = await res.BodyReaderAsync().AsTask().WaitAsync(Bound);
            err.Should().BeNull();
            if (chunk == null) return chunks;
            chunks.Add(chunk);
        }
        throw new InvalidOperationException("the body never ended");
    }

    [Fact]
    public async Task Chunks_merged_into_one_write_come_back_one_per_call()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var up = new RawUpstream().Attach(w);
        var res = await SendAsync(w, up,
            ChunkedHead + Chunk("data: one\n\n") + Chunk("data: two\n\n") + Chunk("data: [DONE]\n\n") + "0\r\n\r\n");

        (await ReadAllChunksAsync(res)).Should().Equal("data: one\n\n", "data: two\n\n", "data: [DONE]\n\n");
        (await res.BodyReaderAsync()).Should().Be(((string?)null, "can't resume a dead coroutine"));
        Http.SetKeepalive(res, 60000, 5, w.Ctx);
        Http.PooledConnections(w.Nginx).Should().Be(1, "the body was read to its end");
    }

    [Fact]
    public async Task Chunk_split_over_two_writes_comes_back_whole()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var up = new RawUpstream().Attach(w);
        // the first chunk's data is cut in two, and so is the second chunk's size line
        var res = await SendAsync(w, up, ChunkedHead + "a\r\n01234");
        var first = res.BodyReaderAsync().AsTask();
        await Task.Delay(100);
        first.IsCompleted.Should().BeFalse("half a chunk is not a chunk");
        await up.WriteAsync("56789\r\n1");
        (await first.WaitAsync(Bound)).Should().Be(("0123456789", (string?)null));

        var second = res.BodyReaderAsync().AsTask();
        await Task.Delay(50);
        await up.WriteAsync("1\r\nabcdefghijklmnopq\r\n0\r\n\r\n");
        (await second.WaitAsync(Bound)).Should().Be(("abcdefghijklmnopq", (string?)null));
        (await res.BodyReaderAsync()).Should().Be(((string?)null, (string?)null));
        res.Close();
    }

    [Fact]
    public async Task Sequential_responses_on_a_kept_alive_connection_are_each_cut_right()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var up = new RawUpstream().Attach(w);

        var res = await SendAsync(w, up, ChunkedHead + "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
        (await ReadAllChunksAsync(res)).Should().Equal("abc", "de");
        Http.SetKeepalive(res, 60000, 5, w.Ctx);

        // a Content-Length body between the chunked ones must be skipped over, not read as chunks
        res = await SendAsync(w, up, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n5\r\nxxxxx\r\n\r\n");
        (await ReadAllChunksAsync(res)).Should().Equal("5\r\nxxxxx\r\n\r\n");
        Http.SetKeepalive(res, 60000, 5, w.Ctx);

        // a HEAD answer says chunked but has no body at all
        res = await SendAsync(w, up, ChunkedHead, method: "HEAD");
        (await ReadAllChunksAsync(res)).Should().BeEmpty();
        Http.SetKeepalive(res, 60000, 5, w.Ctx);

        // an interim 100 before the real answer
        res = await SendAsync(w, up, "HTTP/1.1 100 Continue\r\n\r\n" + ChunkedHead + "4\r\nwxyz\r\n1\r\n!\r\n0\r\n\r\n");
        (await ReadAllChunksAsync(res)).Should().Equal("wxyz", "!");
        Http.SetKeepalive(res, 60000, 5, w.Ctx);

        up.Connects.Should().Be(1, "every request went over the one pooled connection");
    }

    [Fact]
    public async Task Chunk_extensions_and_trailers_are_not_part_of_the_data()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var up = new RawUpstream().Attach(w);
        var res = await SendAsync(w, up, ChunkedHead
            + "4;name=value\r\nabcd\r\n" + "3;a=1;b=\"q\"\r\nefg\r\n" + "0;last\r\nX-Checksum: 42\r\nX-More: yes\r\n\r\n");
        (await ReadAllChunksAsync(res)).Should().Equal("abcd", "efg");
        Http.SetKeepalive(res, 60000, 5, w.Ctx);

        // the trailers were consumed: the next response on the connection starts cleanly
        res = await SendAsync(w, up, ChunkedHead + "2\r\nok\r\n2\r\nOK\r\n0\r\n\r\n");
        (await ReadAllChunksAsync(res)).Should().Equal("ok", "OK");
        res.Close();
        up.Connects.Should().Be(1);
    }

    [Fact]
    public async Task Size_lines_and_header_names_in_any_spelling_are_followed()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var up = new RawUpstream().Attach(w);
        // upper-case hex, more than eight digits with leading zeros, blanks after the size; a header
        // name in lower case with a blank before its colon
        var res = await SendAsync(w, up, "HTTP/1.1 200 OK\r\ntransfer-encoding : chunked\r\n\r\n"
            + "A\r\n0123456789\r\n" + "0000000003\r\nabc\r\n" + "2 \t\r\nxy\r\n" + "0\r\n\r\n");
        (await ReadAllChunksAsync(res)).Should().Equal("0123456789", "abc", "xy");
        Http.SetKeepalive(res, 60000, 5, w.Ctx);

        // a Content-Length head after it, its name in another case, is followed as well
        res = await SendAsync(w, up, "HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 2\r\n\r\nok");
        (await ReadAllChunksAsync(res)).Should().Equal("ok");
        Http.SetKeepalive(res, 60000, 5, w.Ctx);
        res = await SendAsync(w, up, ChunkedHead + Chunk("data: again\n\n") + "0\r\n\r\n");
        (await ReadAllChunksAsync(res)).Should().Equal("data: again\n\n");
        res.Close();
        up.Connects.Should().Be(1);
    }

    [Fact]
    public async Task Body_until_close_still_comes_piece_by_piece()
    {
        await using var w = await AiUpstreamWorld.StartAsync();
        var up = new RawUpstream().Attach(w);
        var res = await SendAsync(w, up, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nfirst ");
        (await res.BodyReaderAsync().AsTask().WaitAsync(Bound)).Should().Be(("first ", (string?)null));
        await up.WriteAsync("second");
        (await res.BodyReaderAsync().AsTask().WaitAsync(Bound)).Should().Be(("second", (string?)null));
        res.Close();
    }
}
