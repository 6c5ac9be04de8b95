using System.Globalization;
using System.Text;
using Apisix.Core.OpenResty;

namespace Apisix.Core.Upstream;

/// <summary>One entry of nginx's <c>r-&gt;upstream_states</c>: one attempt at an upstream.</summary>
public sealed class UpstreamStateEntry
{
    /// <summary>The peer address, or null when none was given.</summary>
    public string? Peer { get; internal set; }
    /// <summary>0 prints as "-".</summary>
    public long Status { get; internal set; }
    /// <summary>Milliseconds; -1 is unset and prints as "-".</summary>
    public long ConnectTimeMs { get; internal set; } = -1;
    public long HeaderTimeMs { get; internal set; } = -1;
    public long ResponseTimeMs { get; internal set; } = -1;
    public long ResponseLength { get; internal set; }
    /// <summary>Never set by push/update (nginx zeroes the entry), so it prints as 0.</summary>
    public long BytesReceived { get; internal set; }
}

/// <summary>
/// Port of <c>push_upstream_state</c> / <c>update_upstream_state</c> of <c>resty.apisix.upstream</c>
/// (apisix-nginx-module): plugins that talk to the upstream themselves (ai-proxy) record their
/// attempts so nginx's <c>$upstream_addr</c>, <c>$upstream_status</c>,
/// <c>$upstream_connect_time</c>, <c>$upstream_header_time</c>, <c>$upstream_response_time</c>,
/// <c>$upstream_response_length</c> and <c>$upstream_bytes_received</c> report them, several
/// attempts joined with ", " and times in seconds with 3 decimals, as nginx prints them.
/// The rendered values are stored in the request's variables, where <see cref="NgxVars"/> finds them.
/// </summary>
public static class UpstreamState
{
    /// <summary>The variables this module feeds.</summary>
    public static IReadOnlyList<string> VariableNames => Names;

    // an array, walked without an enumerator object on every push
    private static readonly string[] Names =
    [
        "upstream_addr", "upstream_status", "upstream_connect_time", "upstream_header_time",
        "upstream_response_time", "upstream_response_length", "upstream_bytes_received",
    ];

    /// <summary>
    /// <c>push_upstream_state({addr, status, connect_time, header_time})</c>: a new attempt. Times
    /// are milliseconds; like the FFI call they are truncated to integers, and null or negative
    /// ones stay unset.
    /// </summary>
    public static (bool Ok, string? Error) Push(NgxRequest r, string? addr, long status = 0,
        double? connectTimeMs = null, double? headerTimeMs = null)
    {
        var entry = new UpstreamStateEntry
        {
            Peer = string.IsNullOrEmpty(addr) ? null : addr,
            Status = status,
        };
        if (ToMs(connectTimeMs) is { } ct && ct >= 0) entry.ConnectTimeMs = ct;
        if (ToMs(headerTimeMs) is { } ht && ht >= 0) entry.HeaderTimeMs = ht;
        (r.UpstreamStates ??= new List<UpstreamStateEntry>(1)).Add(entry);
        Publish(r);
        return (true, null);
    }

    public static (bool Ok, string? Error) Push(ApiCtx ctx, string? addr, long status = 0,
        double? connectTimeMs = null, double? headerTimeMs = null) =>
        Push(ctx.Request, addr, status, connectTimeMs, headerTimeMs);

    /// <summary>
    /// <c>update_upstream_state({response_time, response_length})</c>: completes the latest
    /// attempt; fails when nothing was pushed.
    /// </summary>
    public static (bool Ok, string? Error) Update(NgxRequest r, double? responseTimeMs = null, double? responseLength = null)
    {
        if (r.UpstreamStates is not { Count: > 0 } list)
            return (false, "error while updating upstream state");
        var last = list[^1];
        if (ToMs(responseTimeMs) is { } rt && rt >= 0) last.ResponseTimeMs = rt;
        if (ToMs(responseLength) is { } len && len >= 0) last.ResponseLength = len;
        // only the last entry's time and length changed: the other variables render as they did
        r.Vars["upstream_response_time"] = Variable(r, "upstream_response_time");
        r.Vars["upstream_response_length"] = Variable(r, "upstream_response_length");
        return (true, null);
    }

    public static (bool Ok, string? Error) Update(ApiCtx ctx, double? responseTimeMs = null, double? responseLength = null) =>
        Update(ctx.Request, responseTimeMs, responseLength);

    /// <summary>The attempts recorded for the request, oldest first.</summary>
    public static IReadOnlyList<UpstreamStateEntry> Get(NgxRequest r) =>
        r.UpstreamStates is { } list ? list : [];

    /// <summary>One of <see cref="VariableNames"/> as nginx renders it; null (not found) before any push.</summary>
    public static string? Variable(NgxRequest r, string name)
    {
        if (r.UpstreamStates is not { Count: > 0 } s) return null;
        if (s.Count == 1) return Single(s[0], name); // one attempt: no separators to work out
        return name switch
        {
            "upstream_addr" => Join(s, e => e.Peer ?? ""),
            "upstream_status" => Join(s, e => e.Status != 0 ? e.Status.ToString(CultureInfo.InvariantCulture) : "-"),
            "upstream_connect_time" => Join(s, e => Seconds(e.ConnectTimeMs)),
            "upstream_header_time" => Join(s, e => Seconds(e.HeaderTimeMs)),
            "upstream_response_time" => Join(s, e => Seconds(e.ResponseTimeMs)),
            "upstream_response_length" => Join(s, e => e.ResponseLength.ToString(CultureInfo.InvariantCulture)),
            "upstream_bytes_received" => Join(s, e => e.BytesReceived.ToString(CultureInfo.InvariantCulture)),
            _ => null,
        };
    }

    private static string? Single(UpstreamStateEntry e, string name) => name switch
    {
        "upstream_addr" => e.Peer ?? "",
        "upstream_status" => StatusText(e.Status),
        "upstream_connect_time" => Seconds(e.ConnectTimeMs),
        "upstream_header_time" => Seconds(e.HeaderTimeMs),
        "upstream_response_time" => Seconds(e.ResponseTimeMs),
        "upstream_response_length" => e.ResponseLength.ToString(CultureInfo.InvariantCulture),
        "upstream_bytes_received" => e.BytesReceived.ToString(CultureInfo.InvariantCulture),
        _ => null,
    };

    private static void Publish(NgxRequest r)
    {
        foreach (var name in Names) r.Vars[name] = Variable(r, name);
    }

    // A Lua number passed to an ngx_int_t parameter: truncated toward zero.
    private static long? ToMs(double? v) =>
        v is { } d && double.IsFinite(d) ? (long)Math.Truncate(d) : null;

    private static string Seconds(long ms)
    {
        if (ms < 0) return "-";
        if (ms >= SubSecond.Length) return $"{ms / 1000}.{ms % 1000:000}";
        // the times of a proxied request are mostly under a second: each text is made once
        return SubSecond[ms] ??= $"0.{ms:000}";
    }

    private static readonly string?[] SubSecond = new string?[1000];

    /// <summary>A status as $upstream_status prints it ("-" for none); the usual codes' texts made once.</summary>
    private static string StatusText(long status)
    {
        if (status == 0) return "-";
        if (status is < 0 or >= 1000) return status.ToString(CultureInfo.InvariantCulture);
        return StatusTexts[status] ??= status.ToString(CultureInfo.InvariantCulture);
    }

    private static readonly string?[] StatusTexts = new string?[1000];

    /// <summary>
    /// nginx's separator rule: ", " before an entry with a peer; " : " before one without, and
    /// that entry itself is skipped (it marks an internal redirect in nginx).
    /// </summary>
    private static string Join(List<UpstreamStateEntry> s, Func<UpstreamStateEntry, string> item)
    {
        var sb = new StringBuilder();
        var i = 0;
        while (true)
        {
            sb.Append(item(s[i]));
            if (++i == s.Count) break;
            if (s[i].Peer != null)
            {
                sb.Append(", ");
                continue;
            }
            sb.Append(" : ");
            if (++i == s.Count) break;
        }
        return sb.ToString();
    }
}
