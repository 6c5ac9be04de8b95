using System.Text.Json;
using System.Text.Json.Nodes;

namespace Apisix.Core.Healthcheck;

/// <summary>One side (healthy or unhealthy) of an active or passive check, library defaults filled in.</summary>
public sealed class HealthSide
{
    public double Interval { get; set; }
    public HashSet<int> HttpStatuses { get; set; } = new();
    public int Successes { get; set; }
    public int TcpFailures { get; set; }
    public int Timeouts { get; set; }
    public int HttpFailures { get; set; }

    /// <summary>Whether the periodic timer runs this side (set by start/stop).</summary>
    public bool Active { get; set; }
    public double LastRun { get; set; }
}

/// <summary>`checks.active` or `checks.passive` of a health checker.</summary>
public sealed class CheckSettings
{
    public string Type { get; set; } = "http";
    public double Timeout { get; set; } = 1;
    public int Concurrency { get; set; } = 10;
    public string HttpPath { get; set; } = "/";
    public string? HttpsSni { get; set; }
    public bool HttpsVerifyCertificate { get; set; } = true;
    /// <summary>`req_headers` as configured: an array of "Name: value" lines or an object of name → value(s).</summary>
    public JsonNode? ReqHeaders { get; set; }
    public HealthSide Healthy { get; } = new();
    public HealthSide Unhealthy { get; } = new();

    /// <summary>The header block sent with probes, built once on first use.</summary>
    internal string? HeadersStr { get; set; }

    private const double MaxNum = 2147483647;

    /// <summary>
    /// The library's defaults overlaid with <paramref name="conf"/> (`checks.active` when
    /// <paramref name="active"/>, else `checks.passive`). A value of the wrong JSON type, or a
    /// number outside 0..2^31-1, is an error named by its dotted path.
    /// </summary>
    public static CheckSettings Fill(JsonObject? conf, bool active, string ctx)
    {
        var s = new CheckSettings();
        if (active)
        {
            s.Healthy.HttpStatuses = [200, 302];
            s.Healthy.Successes = 2;
            s.Unhealthy.HttpStatuses = [429, 404, 500, 501, 502, 503, 504, 505];
            s.Unhealthy.TcpFailures = 2;
            s.Unhealthy.Timeouts = 3;
            s.Unhealthy.HttpFailures = 5;
            s.ReqHeaders = new JsonArray("");
        }
        else
        {
            s.Healthy.HttpStatuses = [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308];
            s.Healthy.Successes = 5;
            s.Unhealthy.HttpStatuses = [429, 500, 503];
            s.Unhealthy.TcpFailures = 2;
            s.Unhealthy.Timeouts = 7;
            s.Unhealthy.HttpFailures = 5;
        }
        if (conf == null) return s;

        if (Str(conf, "type", ctx) is { } type) s.Type = type;
        if (!active) { SideFill(conf, "healthy", s.Healthy, ctx, false); SideFill(conf, "unhealthy", s.Unhealthy, ctx, false); return s; }
        if (Num(conf, "timeout", ctx) is { } t) s.Timeout = t;
        if (Num(conf, "concurrency", ctx) is { } c) s.Concurrency = (int)c;
        if (Str(conf, "http_path", ctx) is { } p) s.HttpPath = p;
        if (conf["https_sni"] is JsonValue sni && sni.GetValueKind() == JsonValueKind.String) s.HttpsSni = sni.GetValue<string>();
        if (conf["https_verify_certificate"] is { } v)
        {
            if (v.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False)) throw Fail(ctx, "https_verify_certificate", "invalid value");
            s.HttpsVerifyCertificate = v.GetValue<bool>();
        }
        if (conf["req_headers"] is { } rh)
        {
            if (rh is not (JsonArray or JsonObject)) throw Fail(ctx, "req_headers", "invalid value");
            s.ReqHeaders = rh.DeepClone();
        }
        SideFill(conf, "healthy", s.Healthy, ctx, true);
        SideFill(conf, "unhealthy", s.Unhealthy, ctx, true);
        return s;
    }

    private static void SideFill(JsonObject conf, string name, HealthSide side, string ctx, bool active)
    {
        if (conf[name] is not { } node) return;
        if (node is not JsonObject o) throw Fail(ctx, name, "invalid value");
        var c = ctx + "." + name;
        if (active && Num(o, "interval", c) is { } i) side.Interval = i;
        if (Num(o, "successes", c) is { } su) side.Successes = (int)su;
        if (Num(o, "tcp_failures", c) is { } tf) side.TcpFailures = (int)tf;
        if (Num(o, "timeouts", c) is { } to) side.Timeouts = (int)to;
        if (Num(o, "http_failures", c) is { } hf) side.HttpFailures = (int)hf;
        if (o["http_statuses"] is { } hs)
        {
            if (hs is not JsonArray arr) throw Fail(c, "http_statuses", "invalid value");
            side.HttpStatuses = arr.Select(x => Apisix.Core.Json.JsonScalars.TryGetNumber(x, out var d) ? (int?)d : null)
                .Where(x => x != null).Select(x => x!.Value).ToHashSet();
        }
    }

    private static double? Num(JsonObject o, string key, string ctx)
    {
        if (o[key] is not { } n) return null;
        if (n is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || !Apisix.Core.Json.JsonScalars.TryGetNumber(v, out var d))
            throw Fail(ctx, key, "invalid value");
        if (d < 0 || d > MaxNum) throw Fail(ctx, key, "must be between 0 and " + MaxNum);
        return d;
    }

    private static string? Str(JsonObject o, string key, string ctx)
    {
        if (o[key] is not { } n) return null;
        if (n is not JsonValue v || v.GetValueKind() != JsonValueKind.String) throw Fail(ctx, key, "invalid value");
        return v.GetValue<string>();
    }

    private static ArgumentException Fail(string ctx, string key, string msg) => new($"{ctx}.{key}: {msg}");
}
