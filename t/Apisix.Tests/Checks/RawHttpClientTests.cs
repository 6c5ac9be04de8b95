using System.IO.Pipelines;
using System.Text;
using Apisix.TestNginx.Client;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Checks;

public class RawHttpClientTests
{
    private static readonly byte[] Get = Encoding.Latin1.GetBytes("GET /t HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");

    private static async Task<HttpResult> Exchange(string response, TimeSpan? timeout = null)
    {
        var stream = new DuplexTestStream(new MemoryStream(Encoding.Latin1.GetBytes(response)));
        return await RawHttpClient.SendAsync(stream, Get, timeout ?? TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Writes_the_request_and_reads_to_eof()
    {
        var stream = new DuplexTestStream(new MemoryStream(Encoding.Latin1.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\npassed\n")));
        var r = await RawHttpClient.SendAsync(stream, Get, TimeSpan.FromSeconds(5));

        Encoding.Latin1.GetString(stream.Written.ToArray()).Should().Be(Encoding.Latin1.GetString(Get));
        stream.Disposed.Should().BeTrue();
        r.Status.Should().Be(200);
        r.StatusLine.Should().Be("HTTP/1.1 200 OK");
        r.Body.Should().Be("passed\n");
        r.Error.Should().BeNull();
        r.Chunks.Should().BeEmpty();
    }

    [Fact]
    public async Task Headers_keep_order_case_and_duplicates()
    {
        var r = await Exchange("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nX-Multi:  padded\r\nset-cookie: b=2\r\nContent-Length: 0\r\n\r\n");
        r.Headers.Should().Equal(
            ("Content-Type", "text/plain"), ("Set-Cookie", "a=1"), ("X-Multi", " padded"), ("set-cookie", "b=2"), ("Content-Length", "0"));
        r.Header("SET-COOKIE").Should().Be("a=1, b=2");
        r.Header("content-type").Should().Be("text/plain");
        r.Header("X-Absent").Should().BeNull();
        r.RawHeaders.Should().StartWith("HTTP/1.1 200 OK\r\n").And.EndWith("Content-Length: 0\r\n");
    }

    [Fact]
    public async Task Chunked_body_is_decoded_and_each_chunk_recorded()
    {
        var r = await Exchange("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                               + "6\r\ndata: \r\n" + "e\r\n{\"n\":1}\n\ndata:\r\n" + "8\r\n [DONE]\n\r\n" + "0\r\n\r\n");
        r.ParseError.Should().BeNull();
        r.Chunks.Should().Equal("data: ", "{\"n\":1}\n\ndata:", " [DONE]\n");
        r.Body.Should().Be("data: {\"n\":1}\n\ndata: [DONE]\n");
    }

    [Fact]
    public async Task Binary_chunks_stay_bytes()
    {
        var r = await Exchange("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n\u0000\u00ff\u0080\r\n0\r\n\r\n");
        r.BodyBytes().Should().Equal(0x00, 0xFF, 0x80);
    }

    [Fact]
    public async Task Chunked_body_without_last_chunk_is_a_parse_error()
    {
        var r = await Exchange("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
        r.ParseError.Should().StartWith("no last chunk found");
        r.Chunks.Should().Equal("abc");
    }

    [Fact]
    public async Task Malformed_chunk_size_is_a_parse_error()
    {
        var r = await Exchange("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
        r.ParseError.Should().StartWith("invalid chunked body received: zz");
    }

    [Fact]
    public async Task Content_length_cuts_the_body_and_keeps_the_rest_aside()
    {
        var r = await Exchange("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA");
        r.Body.Should().Be("ok");
        r.Leftover.Should().Be("EXTRA");

        var short_ = await Exchange("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok");
        short_.Body.Should().Be("ok");
        short_.Warnings.Should().ContainSingle().Which.Should().Be("response body truncated: 10 expected, but got 2");
    }

    [Fact]
    public async Task Body_without_length_runs_to_eof()
    {
        var r = await Exchange("HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\nnot here\nat all");
        r.Status.Should().Be(404);
        r.Body.Should().Be("not here\nat all");
    }

    [Fact]
    public async Task Nothing_received_means_no_status()
    {
        var r = await Exchange("");
        r.Status.Should().Be(0);
        r.Body.Should().Be("");
        r.Error.Should().BeNull();
    }

    [Fact]
    public void Pipelined_responses_are_split()
    {
        var all = HttpResponseParser.ParsePipelined(
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
            + "HTTP/1.1 201 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n", 2);
        all.Select(r => (r.Status, r.Body)).Should().Equal((200, "a"), (201, "b"));
    }

    /// <summary>
    /// A request sent with a 1 s idle timeout on a clock the test moves; the response comes through
    /// the pipe, <paramref name="waiting"/> there before the client reads.
    /// </summary>
    private static (ManualTimeProvider Time, Pipe Pipe, Task<HttpResult> Sending) SendOnManualClock(string waiting = "")
    {
        var time = new ManualTimeProvider();
        var pipe = new Pipe();
        if (waiting.Length > 0) Write(pipe, waiting).Wait();
        var sending = RawHttpClient.SendAsync(new DuplexTestStream(pipe.Reader.AsStream()), Get, TimeSpan.FromMilliseconds(1000), time: time);
        return (time, pipe, sending);
    }

    [Fact]
    public async Task Idle_timeout_restarts_on_every_read()
    {
        // Five pieces 900 ms apart on a clock the test moves: 4.5 s in all, more than the 1 s
        // timeout, but no gap reaches it. Each gap is measured from the read that waits for the
        // next piece (its timer armed), so a slow machine changes nothing.
        var (time, pipe, sending) = SendOnManualClock();
        async Task Piece(string text)
        {
            await time.AdvanceOnNextTimerAsync(TimeSpan.FromMilliseconds(900)); // the client waits for this piece
            await Write(pipe, text);
        }
        await Piece("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (var i = 0; i < 5; i++) await Piece("1\r\nx\r\n");
        await Piece("0\r\n\r\n");
        await pipe.Writer.CompleteAsync();

        var r = await sending.WaitAsync(TimeSpan.FromSeconds(60));
        r.Error.Should().BeNull();
        r.TimedOut.Should().BeFalse();
        r.Body.Should().Be("xxxxx");
        r.Chunks.Should().HaveCount(5);
        time.Now.Should().BeGreaterThan(TimeSpan.FromMilliseconds(1000));
    }

    [Fact]
    public async Task The_idle_timeout_fires_when_the_clock_passes_it()
    {
        // the same clock, moved past the timeout while the client waits: the read times out
        // the partial response is there before the first read, so the only read that waits is the one after it
        var (time, _, sending) = SendOnManualClock("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nsome\r\n");
        await time.AdvanceOnNextTimerAsync(TimeSpan.FromMilliseconds(1000));
        var r = await sending.WaitAsync(TimeSpan.FromSeconds(60));
        r.TimedOut.Should().BeTrue();
        r.Error.Should().Be("ERROR: client socket timed out");
        r.Chunks.Should().Equal("some");
    }

    [Fact]
    public async Task A_stalled_server_times_out_and_the_partial_response_is_kept()
    {
        var pipe = new Pipe();
        var stream = new DuplexTestStream(pipe.Reader.AsStream());
        // The partial response is written first, so a busy machine cannot make the idle timer fire
        // before it arrives; after it, nothing more and no close.
        await Write(pipe, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nsome\r\n");
        // 1 s rather than less: on a busy 2-core machine the thread pool can lag a few hundred ms
        var sending = RawHttpClient.SendAsync(stream, Get, TimeSpan.FromSeconds(1));

        // (no upper bound on the time taken: a loaded machine may be late; a timeout that never fires fails here)
        var r = await sending.WaitAsync(TimeSpan.FromSeconds(60));
        r.TimedOut.Should().BeTrue();
        r.Error.Should().Be("ERROR: client socket timed out");
        r.Status.Should().Be(200);
        r.Chunks.Should().Equal("some");
        r.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(950));
        stream.Disposed.Should().BeTrue();
    }

    [Fact]
    public async Task A_failing_connect_is_reported()
    {
        var r = await RawHttpClient.SendAsync(_ => throw new IOException("connection refused"), Get, TimeSpan.FromSeconds(1));
        r.Error.Should().Be("Can't connect: connection refused");
        r.Status.Should().Be(0);
    }

    private static async Task Write(Pipe pipe, string text)
    {
        await pipe.Writer.WriteAsync(Encoding.Latin1.GetBytes(text));
        await pipe.Writer.FlushAsync();
    }
}
