using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Apisix.Core.Json;

namespace Apisix.Core.Upstream;

/// <summary>
/// An upstream object as the data plane uses it: the nodes in array form after
/// <c>filter_upstream</c> (the <c>{"host:port": weight}</c> form becomes <c>{host, port, weight}</c>
/// entries, in the order written), host names resolved (<c>parse_domain_for_nodes</c>), and the
/// fields proxying reads: type, scheme, pass_host, timeouts, retries.
/// </summary>
public sealed class UpstreamConf
{
    /// <summary>The picker cache key (<c>ctx.upstream_key</c>): which resource the upstream belongs to.</summary>
    public required string Key { get; init; }
    /// <summary><c>ctx.upstream_version</c>: a new version gets a new picker.</summary>
    public required string Version { get; init; }
    public string Type { get; init; } = "roundrobin";
    /// <summary>The configured scheme, null when the conf has none (treated as http).</summary>
    public string? Scheme { get; init; }
    public List<UpstreamNode> Nodes { get; init; } = new();
    public string? PassHost { get; init; }
    public string? UpstreamHost { get; init; }
    public JsonObject? Timeout { get; init; }
    public int? Retries { get; init; }
    public double? RetryTimeout { get; init; }
    public string? ServiceName { get; init; }
    /// <summary>Whether a node had no port (filled from the scheme by <c>fill_node_info</c>).</summary>
    public bool HasPortlessNode { get; init; }
    /// <summary>The upstream value as configured (chash reads <c>hash_on</c> and <c>key</c> from it).</summary>
    public JsonObject? Raw { get; init; }
    /// <summary>The keepalive target last worked out for this upstream (<see cref="UpstreamKeepalive.TargetFor"/>), with what it was for.</summary>
    internal KeepaliveTargetMemo? LastKeepaliveTarget { get; set; }

    internal sealed record KeepaliveTargetMemo(Config.ApisixConfig Config, string Scheme, string Host, int Port, string? Sni,
        UpstreamKeepalive.Target Target);

    /// <summary>The balancer's last pick of this upstream's only node (<see cref="Balancer.PickServer"/>), with the scheme it was for.</summary>
    internal SinglePickMemo? LastSinglePick { get; set; }

    internal sealed record SinglePickMemo(UpstreamNode Node, string? Scheme, string Address, UpstreamNode Picked);

    /// <summary>The <c>checks</c> of the upstream (active and passive health checks), if any.</summary>
    public JsonObject? Checks => Raw?["checks"] as JsonObject;

    /// <summary>The <c>checks.active.host</c> and <c>checks.active.port</c> health targets are keyed by, if set.</summary>
    public (string? Host, int? Port) ActiveCheckHostPort()
    {
        var active = Checks?["active"] as JsonObject;
        var host = JsonScalars.TryGetString(active?["host"], out var h) ? h : null;
        int? port = JsonScalars.TryGetNumber(active?["port"], out var p) ? (int)p : null;
        return (host, port);
    }

    /// <summary><c>scheme_to_port</c>.</summary>
    public static int? SchemeToPort(string scheme) => scheme switch
    {
        "http" or "grpc" => 80,
        "https" or "grpcs" => 443,
        _ => null,
    };

    /// <summary>
    /// Reads an upstream value. Host names go through <paramref name="resolve"/>; one that does not
    /// resolve is logged through <paramref name="logError"/> and its node dropped, as upstream does.
    /// </summary>
    public static UpstreamConf Parse(JsonObject value, string key, string version,
        Func<string, IPAddress?> resolve, Action<string>? logError = null) =>
        Parse(value, key, version, h =>
        {
            if (resolve(h) is { } ip) return (ip.ToString(), null);
            const string err = "failed to query the DNS server: dns client error: 3 name error";
            logError?.Invoke($"failed to parse domain: {h}, error: {err}");
            return (null, err);
        }, logError);

    /// <summary>
    /// Reads an upstream value, host names resolved as <c>parse_domain_for_nodes</c> does:
    /// <paramref name="resolve"/> is <c>core.resolver.parse_domain</c> (address or error); a node
    /// whose host does not resolve is dropped with the error line
    /// <c>dns resolver domain: HOST error: ERR</c> through <paramref name="logError"/>.
    /// </summary>
    public static UpstreamConf Parse(JsonObject value, string key, string version,
        Func<string, (string? Ip, string? Err)> resolve, Action<string>? logError = null)
    {
        var nodes = new List<UpstreamNode>();
        var portless = false;
        void Add(string host, int? port, double weight, double priority)
        {
            if (port == null) portless = true;
            string? domain = null;
            var bare = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
            if (!IPAddress.TryParse(bare, out _))
            {
                var (ip, err) = resolve(host);
                if (err != null) logError?.Invoke($"dns resolver domain: {host} error: {err}");
                if (ip == null) return;
                domain = host;
                host = ip;
            }
            nodes.Add(new UpstreamNode(host, port ?? -1, (long)weight, (int)priority, domain));
        }

        switch (value["nodes"])
        {
            case JsonObject map:
                foreach (var (addr, w) in map)
                {
                    var (host, port) = ParseAddr(addr);
                    Add(host, port, JsonScalars.TryGetNumber(w, out var wd) ? wd : 0, 0);
                }
                break;
            case JsonArray list:
                foreach (var item in list)
                {
                    if (item is not JsonObject n || !JsonScalars.TryGetString(n["host"], out var host)) continue;
                    int? port = JsonScalars.TryGetNumber(n["port"], out var p) ? (int)p : null;
                    Add(host, port, JsonScalars.TryGetNumber(n["weight"], out var w) ? w : 0,
                        JsonScalars.TryGetNumber(n["priority"], out var pr) ? pr : 0);
                }
                break;
        }

        return new UpstreamConf
        {
            Key = key,
            Version = version,
            Type = JsonScalars.TryGetString(value["type"], out var t) ? t : "roundrobin",
            Scheme = JsonScalars.TryGetString(value["scheme"], out var s) ? s : null,
            Nodes = nodes,
            PassHost = JsonScalars.TryGetString(value["pass_host"], out var ph) ? ph : null,
            UpstreamHost = JsonScalars.TryGetString(value["upstream_host"], out var uh) ? uh : null,
            Timeout = value["timeout"] as JsonObject,
            Retries = JsonScalars.TryGetNumber(value["retries"], out var r) ? (int)r : null,
            RetryTimeout = JsonScalars.TryGetNumber(value["retry_timeout"], out var rt) ? rt : null,
            ServiceName = JsonScalars.TryGetString(value["service_name"], out var sn) ? sn : null,
            HasPortlessNode = portless,
            Raw = value,
        };
    }

    /// <summary>
    /// <c>fill_node_info</c>: a node without a port takes the scheme's standard port, which needs
    /// the scheme to be configured. Returns the error, or null.
    /// </summary>
    public string? FillNodeInfo(string scheme)
    {
        if (!HasPortlessNode) return null;
        // the schema's default scheme is http (a stored upstream has it filled in)
        if ((Scheme ?? "http") != scheme)
            return "Can't detect upstream's scheme. You should either specify a port in the node or specify the upstream.scheme explicitly";
        var std = SchemeToPort(scheme) ?? 80;
        for (var i = 0; i < Nodes.Count; i++)
            if (Nodes[i].Port < 0) Nodes[i] = Nodes[i] with { Port = std };
        return null;
    }

    /// <summary><c>core.utils.parse_addr</c>: "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6.</summary>
    public static (string Host, int? Port) ParseAddr(string addr)
    {
        if (addr.StartsWith('['))
        {
            if (addr.EndsWith(']')) return (addr, null);
            var pos = addr.LastIndexOf(':');
            if (pos < 1 || addr[pos - 1] != ']') return (addr, null);
            return (addr[..pos], ToPort(addr[(pos + 1)..]));
        }
        var first = addr.IndexOf(':');
        if (first < 0) return (addr, null);
        if (addr.IndexOf(':', first + 1) >= 0) return (addr, null); // a bare IPv6 address
        return (addr[..first], ToPort(addr[(first + 1)..]));
    }

    private static int? ToPort(string s) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : null;
}
