using System.Text;
using System.Text.RegularExpressions;
using Apisix.TestNginx.Parsing;

namespace Apisix.TestNginx.Client;

/// <summary>A block's request sections can't be turned into a request (Test::Nginx bails out on these).</summary>
public sealed class RequestBuildException(string message) : Exception(message);

/// <summary>
/// Builds the bytes Test::Nginx::Socket writes to the server for a block.
/// <list type="bullet">
/// <item><c>raw_request</c>: sent verbatim (an array of packets is concatenated; packet delays are not supported).</item>
/// <item><c>pipelined_requests</c>: one byte string holding every request, <c>Connection: keep-alive</c> on all but the last.</item>
/// <item><c>request</c>: one request; a <c>request eval</c> array gives one request per element, each for its own connection.</item>
/// </list>
/// A request text is cleaned (leading comment lines and whitespace dropped), its first line completed to
/// <c>METHOD URI VERSION</c> (URI defaults to <c>/</c>, version to <c>HTTP/1.1</c>), then the headers are
/// <c>Host</c> (unless given), <c>Connection</c> (unless given), the <c>more_headers</c> lines, and
/// <c>Content-Length</c> for a non-empty body (which is then trimmed) unless given or chunked.
/// All strings are byte strings (one char per byte, Latin-1).
/// </summary>
public static partial class RequestBuilder
{
    public const string DefaultServerName = "localhost";

    /// <summary>Every request of the block, as the bytes to send, one entry per connection.</summary>
    /// <exception cref="RequestBuildException">No request, a malformed request line, or bad section shapes.</exception>
    public static IReadOnlyList<byte[]> Build(TestBlock block, string serverName = DefaultServerName,
        Func<string, string?>? environment = null) =>
        BuildText(block, serverName, environment).Select(Encoding.Latin1.GetBytes).ToList();

    /// <summary>
    /// Like <see cref="Build"/>, but as byte strings (handy for logs and tests). As in Test::Nginx,
    /// <c>$TEST_NGINX_*</c> in <c>pipelined_requests</c> is expanded from <paramref name="environment"/>.
    /// </summary>
    public static IReadOnlyList<string> BuildText(TestBlock block, string serverName = DefaultServerName,
        Func<string, string?>? environment = null)
    {
        var name = block.Name;
        if (block.Get("raw_request") is { } raw)
            return [raw is PerlArray packets ? string.Concat(packets.Items.Select(p => p.ToString())) : raw.ToString()];

        var moreHeaders = block.Get("more_headers");

        if (block.Get("pipelined_requests") is { } pipelined)
        {
            if (pipelined is not PerlArray list)
                throw new RequestBuildException($"{name} - invalid entries in --- pipelined_requests");
            var all = new StringBuilder();
            for (var i = 0; i < list.Items.Count; i++)
            {
                var connection = i == list.Items.Count - 1 ? "close" : "keep-alive";
                var text = list.Items[i].ToString();
                if (environment != null)
                {
                    try { text = TestNginxEnv.Expand(text, "", name, environment); }
                    catch (TestFileException e) { throw new RequestBuildException(e.Detail); }
                }
                all.Append(BuildOne(text, HeadersFor(name, moreHeaders, i), connection, serverName, name));
            }
            return [all.ToString()];
        }

        var request = block.Get("request");
        switch (request)
        {
            case null:
                throw new RequestBuildException($"{name} - Request line should be non-empty");
            case PerlArray many:
                var result = new List<string>();
                for (var i = 0; i < many.Items.Count; i++)
                {
                    var text = many.Items[i] switch
                    {
                        PerlString s => s.Bytes,
                        // A request given as packets: without delays, the packets simply join up.
                        PerlArray packets => string.Concat(packets.Items.Select(p => p.ToString())),
                        var other => throw new RequestBuildException(
                            $"{name} - Invalid syntax. request {i} should be a string or an array of packets, not {other.GetType().Name}"),
                    };
                    result.Add(BuildOne(text, HeadersFor(name, moreHeaders, i), "close", serverName, name));
                }
                return result;
            default:
                return [BuildOne(StripLeadingComments(request.ToString()), HeadersFor(name, moreHeaders, 0), "close", serverName, name)];
        }
    }

    /// <summary>
    /// One request from a <c>request</c> text and a raw <c>more_headers</c> text.
    /// <paramref name="request"/> is used as given: call <see cref="StripLeadingComments"/> first for a
    /// <c>request</c> section's text.
    /// </summary>
    public static string BuildOne(string request, string moreHeaders, string connection = "close",
        string serverName = DefaultServerName, string blockName = "")
    {
        var (headerLines, chunked) = ParseMoreHeaders(moreHeaders);

        var newline = request.IndexOf('\n');
        var first = newline < 0 ? request : request[..(newline + 1)];
        var content = newline < 0 ? "" : request[(newline + 1)..];
        if (first.Length == 0)
            throw new RequestBuildException($"{blockName} - Request line should be non-empty");
        var m = RequestLine().Match(first);
        if (!m.Success)
            throw new RequestBuildException(
                $"{blockName} - Request line is not valid. Should be 'meth [url [version]]' but got \"{first}\".");
        var method = m.Groups[1].Value;
        var url = m.Groups[2].Success ? m.Groups[2].Value : "/";
        var version = m.Groups[3].Success ? m.Groups[3].Value : "HTTP/1.1";

        var lengthHeader = "";
        if (!chunked && content.Length > 0 && !GivenContentLength().IsMatch(headerLines))
        {
            content = content.Trim(TestBaseParser.PerlSpace);
            lengthHeader = $"Content-Length: {content.Length}\r\n";
        }

        var headers = new StringBuilder();
        if (!GivenHost().IsMatch(headerLines)) headers.Append("Host: ").Append(serverName).Append("\r\n");
        if (!GivenConnection().IsMatch(headerLines)) headers.Append("Connection: ").Append(connection).Append("\r\n");
        headers.Append(headerLines).Append(lengthHeader).Append("\r\n");

        return $"{method} {url} {version}\r\n{headers}{content}";
    }

    /// <summary>Drops comment lines (<c># ...</c>) and whitespace from the start of a request text.</summary>
    public static string StripLeadingComments(string request)
    {
        while (true)
        {
            var m = LeadingNoise().Match(request);
            if (!m.Success || m.Length == 0) return request;
            request = request[m.Length..];
        }
    }

    /// <summary>
    /// <c>more_headers</c> text to header lines: one <c>Name: value</c> per line, CRLF-terminated.
    /// Lines starting with <c>#</c> (after optional whitespace) and blank lines are skipped; a line
    /// without a colon becomes <c>Name: </c>. Also reports <c>Transfer-Encoding: chunked</c>.
    /// </summary>
    public static (string Lines, bool Chunked) ParseMoreHeaders(string moreHeaders)
    {
        var output = new StringBuilder();
        var chunked = false;
        foreach (var line in PerlSplitLines(moreHeaders))
        {
            if (CommentLine().IsMatch(line) || line.Trim(TestBaseParser.PerlSpace).Length == 0) continue;
            var m = HeaderSplit().Match(line);
            var (key, value) = m.Success ? (line[..m.Index], line[(m.Index + m.Length)..]) : (line, "");
            if (key.Equals("transfer-encoding", StringComparison.OrdinalIgnoreCase) && value == "chunked")
                chunked = true;
            output.Append(key).Append(": ").Append(value).Append("\r\n");
        }
        return (output.ToString(), chunked);
    }

    /// <summary>
    /// The idle timeout of a block: its <c>timeout</c> section (seconds; <c>500ms</c> and <c>2s</c>
    /// forms accepted) or <paramref name="fallback"/>.
    /// </summary>
    public static TimeSpan TimeoutOf(TestBlock block, TimeSpan fallback)
    {
        var text = block.Text("timeout")?.Trim(TestBaseParser.PerlSpace);
        if (string.IsNullOrEmpty(text)) return fallback;
        var scale = 1.0;
        if (text.EndsWith("ms", StringComparison.Ordinal)) { text = text[..^2]; scale = 0.001; }
        else if (text.EndsWith('s')) text = text[..^1];
        return double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var n)
            ? TimeSpan.FromSeconds(n * scale)
            : fallback;
    }

    // more_headers may be one text for every request or an array with one text per request.
    private static string HeadersFor(string name, PerlValue? moreHeaders, int index)
    {
        if (moreHeaders is not PerlArray list) return moreHeaders?.ToString() ?? "";
        if (index >= list.Items.Count || list.Items[index] is PerlUndef)
            throw new RequestBuildException($"{name} - --- more_headers lacks data for request {index}");
        return list.Items[index].ToString();
    }

    // Perl's split /\n+/: a leading empty field is kept, trailing empty fields are dropped.
    private static List<string> PerlSplitLines(string text)
    {
        var fields = Newlines().Split(text).ToList();
        while (fields.Count > 0 && fields[^1].Length == 0) fields.RemoveAt(fields.Count - 1);
        return fields;
    }

    // Perl's \s and \S on byte strings are ASCII-only; spelled out so .NET doesn't widen them.
    [GeneratedRegex(@"\A[ \t\n\r\f\v]*([^ \t\n\r\f\v]+) *(?:([^ \t\n\r\f\v]+) *)?(?:([^ \t\n\r\f\v]+) *)?[ \t\n\r\f\v]*\z")]
    private static partial Regex RequestLine();

    [GeneratedRegex(@"\A(?:[ \t\n\r\f\v]*#[^\n]+[ \t\n\r\f\v]+|[ \t\n\r\f\v]+)")]
    private static partial Regex LeadingNoise();

    [GeneratedRegex(@"\A[ \t\n\r\f\v]*#")]
    private static partial Regex CommentLine();

    [GeneratedRegex(@":[ \t\n\r\f\v]*")]
    private static partial Regex HeaderSplit();

    [GeneratedRegex(@"\n+")]
    private static partial Regex Newlines();

    // Which headers count as "already given" follows Test::Nginx: Host and Connection (as a prefix)
    // case-insensitively, Content-Length case-sensitively.
    [GeneratedRegex(@"(?:^|\n)Host:", RegexOptions.IgnoreCase | RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex GivenHost();

    [GeneratedRegex(@"(?:^|\n)Connection", RegexOptions.IgnoreCase | RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex GivenConnection();

    [GeneratedRegex(@"(?:^|\n)Content-Length:")]
    private static partial Regex GivenContentLength();
}
