using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Apisix.TestNginx.Diff;

/// <summary>
/// Error-log lines as `diff` compares them: only lines at <c>warn</c> and above (nginx's
/// <c>[warn]</c>, <c>[error]</c>, <c>[crit]</c>, <c>[alert]</c>, <c>[emerg]</c> and ngx.STDERR's <c>[]</c>,
/// plus the lines that continue such a message, e.g. a Lua traceback), each with what varies from run
/// to run by nature replaced:
/// <list type="bullet">
/// <item>the timestamp (<c>2026/01/02 03:04:05 </c>) is dropped;</item>
/// <item>the pid and thread id (<c>123#123:</c>) become <c>#:</c>;</item>
/// <item>connection numbers (<c>*42 </c>) become <c>*N </c>;</item>
/// <item>hex addresses (<c>0x55d4c0a8</c>, as in <c>table: 0x...</c>) become <c>0xADDR</c>;</item>
/// <item>client ports (<c>127.0.0.1:53422</c> after <c>client: </c> or in <c>accept: </c>) become <c>127.0.0.1:PORT</c>;</item>
/// <item>each side's server root (Test::Nginx's <c>TEST_NGINX_SERVROOT</c>) becomes <c>$SERVROOT</c>;</item>
/// <item>the request id apisix-nginx-module's <c>lua_error_log_request_id</c> appends
/// (<c>request_id: "3f9a..."</c>) becomes <c>request_id: "ID"</c>, and any other UUID becomes <c>UUID</c>;</item>
/// <item>a JSON object in a message (what Lua's cjson wrote from a table, its keys in hash order,
/// which differs between runs and processes) is written with its keys sorted;</item>
/// <item>with <c>luaPositions: false</c> (the default of <c>diff</c>), the position in an APISIX Lua
/// module that ngx.log prefixes (<c>[lua] plugin.lua:1338: run_plugin(): </c>) is dropped: the
/// port's C# logs the same messages without it, and the frames of a Lua traceback are not compared
/// (the message that heads it is). Positions in a block's own Lua
/// (<c>[lua] content_by_lua(nginx.conf:40):3: </c>) are kept.</item>
/// </list>
/// The Perl capture module keeps the same lines with <see cref="AtLeastWarn"/>'s rule.
/// </summary>
public static partial class ErrorLogLines
{
    private static readonly HashSet<string> Kept = new(StringComparer.Ordinal) { "warn", "error", "crit", "alert", "emerg", "" };

    /// <summary>The lines at warn and above, and the unprefixed lines that continue them.</summary>
    public static List<string> AtLeastWarn(IEnumerable<string> lines)
    {
        var kept = new List<string>();
        var keeping = false;
        foreach (var raw in lines)
        {
            var line = raw.TrimEnd('\n');
            var m = Prefix().Match(line);
            if (m.Success) keeping = Kept.Contains(m.Groups[1].Value);
            if (keeping) kept.Add(line);
        }
        return kept;
    }

    /// <summary>
    /// The lines at warn and above as messages: a line with nginx's prefix and the unprefixed lines
    /// that continue it (a Lua traceback), joined with "\n", so a sorted list keeps them together.
    /// </summary>
    public static List<string> Messages(IEnumerable<string> lines)
    {
        var messages = new List<string>();
        foreach (var line in AtLeastWarn(lines))
        {
            if (Prefix().IsMatch(line) || messages.Count == 0) messages.Add(line);
            else messages[^1] += "\n" + line;
        }
        return messages;
    }

    /// <summary>One line with its run-to-run parts replaced (see the class summary).</summary>
    public static string Normalize(string line, string? servroot = null, bool luaPositions = true)
    {
        line = line.TrimEnd('\n', '\r');
        if (!string.IsNullOrEmpty(servroot)) line = line.Replace(servroot.TrimEnd('/'), "$SERVROOT", StringComparison.Ordinal);
        line = Timestamp().Replace(line, "");
        line = PidTid().Replace(line, "$1#:");
        line = Connection().Replace(line, "*N ");
        line = HexAddress().Replace(line, "0xADDR");
        line = ClientPort().Replace(line, "$1:PORT");
        line = RequestId().Replace(line, "request_id: \"ID\"");
        line = Uuid().Replace(line, "UUID");
        if (!luaPositions)
        {
            line = LuaModulePosition().Replace(line, "");
            // a Lua traceback's frames are the implementation's own (LuaJIT's and APISIX's Lua there,
            // Lua 5.4 and C# glue here): the message is compared, the frames are not
            var traceback = line.IndexOf("\nstack traceback:", StringComparison.Ordinal);
            if (traceback >= 0) line = line[..traceback] + "\nstack traceback: (frames not compared)";
        }
        return SortJsonObjects(line);
    }

    /// <summary>Each JSON object in <paramref name="text"/> rewritten compactly with its keys sorted (recursively); other text unchanged.</summary>
    public static string SortJsonObjects(string text)
    {
        if (!text.Contains('{')) return text;
        var sb = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            var open = text.IndexOf('{', i);
            if (open < 0) break;
            sb.Append(text, i, open - i);
            if (ReadJsonObject(text, open) is { } found)
            {
                sb.Append(SortedCompact(found.Node));
                i = open + found.Length;
            }
            else
            {
                sb.Append('{');
                i = open + 1;
            }
        }
        sb.Append(text, i, text.Length - i);
        return sb.ToString();
    }

    private static (JsonNode Node, int Length)? ReadJsonObject(string text, int start)
    {
        var bytes = Encoding.UTF8.GetBytes(text[start..]);
        try
        {
            var reader = new Utf8JsonReader(bytes, isFinalBlock: true, state: default);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            reader.Skip();
            var used = (int)reader.BytesConsumed;
            var node = JsonNode.Parse(bytes.AsSpan(0, used));
            return node == null ? null : (node, Encoding.UTF8.GetCharCount(bytes, 0, used));
        }
        catch (JsonException) { return null; }
    }

    private static readonly JsonSerializerOptions Relaxed =
        new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string SortedCompact(JsonNode? node) => node switch
    {
        JsonObject o => "{" + string.Join(",", o.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => JsonSerializer.Serialize(p.Key, Relaxed) + ":" + SortedCompact(p.Value))) + "}",
        JsonArray a => "[" + string.Join(",", a.Select(SortedCompact)) + "]",
        null => "null",
        _ => node.ToJsonString(Relaxed),
    };

    [GeneratedRegex(@"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w*)\]")]
    private static partial Regex Prefix();

    [GeneratedRegex(@"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ")]
    private static partial Regex Timestamp();

    [GeneratedRegex(@"^(\[\w*\]) \d+#\d+:")]
    private static partial Regex PidTid();

    [GeneratedRegex(@"(?<=: )\*\d+ ")]
    private static partial Regex Connection();

    [GeneratedRegex(@"\b0x[0-9a-fA-F]{4,}\b")]
    public static partial Regex HexAddress();

    [GeneratedRegex(@"((?:client: |accept: )(?:\d{1,3}\.){3}\d{1,3}):\d+")]
    private static partial Regex ClientPort();

    [GeneratedRegex(@"request_id: ""[^""]*""")]
    private static partial Regex RequestId();

    /// <summary>A UUID (8-4-4-4-12 hex digits), as request-id and others generate.</summary>
    [GeneratedRegex(@"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")]
    public static partial Regex Uuid();

    /// <summary>ngx.log's prefix for a line logged from a Lua module file: <c>[lua] name.lua:LINE: </c> and the function's <c>name(): </c>.</summary>
    [GeneratedRegex(@"\[lua\] [\w.\-/]+\.lua:\d+: (?:[\w.:]+\(\): )?")]
    private static partial Regex LuaModulePosition();
}
