using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;
using Apisix.Core.Utils;

namespace Apisix.Core.Plugins;

/// <summary>
/// The <c>core.request</c> writers the ported plugins call (<c>set_header</c>, <c>add_header</c>,
/// <c>get_uri_args</c>, <c>set_uri_args</c>), over the request the gateway forwards. Kept beside
/// the plugins until <c>core.request</c> (Core/CoreRequest.cs) has them; they then forward there.
/// </summary>
public static class PluginRequest
{
    /// <summary>
    /// <c>core.request.set_header(ctx, name, value)</c>: replaces every value of the header (a
    /// null value removes it) and drops ctx.var's cached copy (<c>http_</c> + lower-case name,
    /// dashes kept, as upstream clears it).
    /// </summary>
    public static void SetHeader(ApiCtx ctx, string name, string? value)
    {
        var headers = ctx.Request.RequestHeaders;
        headers.RemoveAll(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase));
        if (value != null) headers.Add((name, value));
        ClearVar(ctx, name);
    }

    /// <summary><c>core.request.add_header(ctx, name, value)</c>: one more value of the header.</summary>
    public static void AddHeader(ApiCtx ctx, string name, string value)
    {
        ctx.Request.RequestHeaders.Add((name, value));
        ClearVar(ctx, name);
    }

    private static void ClearVar(ApiCtx ctx, string name)
    {
        var lower = name.ToLowerInvariant();
        ctx.Var["http_" + lower] = null;
        var underscored = lower.Replace('-', '_');
        if (underscored != lower) ctx.Var["http_" + underscored] = null;
    }

    /// <summary><c>core.request.get_uri_args(ctx)</c>: the query string as a table (a fresh copy).</summary>
    public static JsonObject GetUriArgs(ApiCtx ctx) => NgxArgs.Decode(ctx.Request.Args);

    /// <summary><c>core.request.set_uri_args(ctx, args)</c>: the query string the upstream gets.</summary>
    public static void SetUriArgs(ApiCtx ctx, JsonObject args)
    {
        var encoded = NgxEncodeArgs.Encode(args);
        ctx.Request.Args = encoded;
        ctx.Var["args"] = encoded;
    }
}

/// <summary>The <c>ngx.re</c> calls plugins make from C# (<c>re.match</c>, <c>re.sub</c>), with ngx.re's PCRE semantics.</summary>
public static class PluginRegex
{
    /// <summary><c>ngx.re.match(subject, pattern, opts)</c>: the captures (0 = whole match), null when none matched, or the error.</summary>
    public static (List<string?>? Captures, string? Error) Match(string subject, string pattern, string opts = "jo")
    {
        var (re, err) = Apisix.Core.OpenResty.Libs.NgxRegex.Get(pattern, opts);
        if (re == null) return (null, err);
        var s = re.Prepare(Apisix.Core.Json.ByteString.ToBytes(subject), out err);
        if (s == null) return (null, err);
        var m = re.Exec(s, 0, out err);
        if (m == null) return (null, err);
        var caps = new List<string?>();
        for (var i = 0; i <= re.GroupCount; i++)
        {
            var g = m.Groups[i];
            if (!g.Success) { caps.Add(null); continue; }
            int a = s.ToByte(g.Index), b = s.ToByte(g.Index + g.Length);
            caps.Add(Apisix.Core.Json.ByteString.FromBytes(s.Bytes.AsSpan(a, b - a)));
        }
        return (caps, null);
    }

    /// <summary><c>ngx.re.sub</c> (or <c>gsub</c> when <paramref name="global"/>): the new string, or the error.</summary>
    public static (string? Result, string? Error) Sub(string subject, string pattern, string replace, string opts = "jo", bool global = false)
    {
        var (re, err) = Apisix.Core.OpenResty.Libs.NgxRegex.Get(pattern, opts);
        if (re == null) return (null, err);
        var template = re.CompileTemplate(replace);
        if (template == null) return (null, "failed to compile the replacement template");
        var s = re.Prepare(Apisix.Core.Json.ByteString.ToBytes(subject), out err);
        if (s == null) return (null, err);
        var outp = new MemoryStream();
        int copied = 0, pos = 0;
        while (true)
        {
            var m = re.Exec(s, pos, out err);
            if (m == null)
            {
                if (err != null) return (null, err);
                break;
            }
            int from = s.ToByte(m.Index), to = s.ToByte(m.Index + m.Length);
            outp.Write(s.Bytes, copied, from - copied);
            foreach (var part in template.Parts)
            {
                if (part is string lit) { outp.Write(Apisix.Core.Json.ByteString.ToBytes(lit)); continue; }
                int gi = (int)part;
                if (gi > re.GroupCount) continue;
                var g = m.Groups[gi];
                if (!g.Success) continue;
                int a = s.ToByte(g.Index), b = s.ToByte(g.Index + g.Length);
                outp.Write(s.Bytes, a, b - a);
            }
            copied = to;
            if (!global) break;
            pos = to == from ? to + 1 : to;
            if (pos > s.ByteLength) break;
        }
        outp.Write(s.Bytes, copied, s.ByteLength - copied);
        return (Apisix.Core.Json.ByteString.FromBytes(outp.ToArray()), null);
    }
}
