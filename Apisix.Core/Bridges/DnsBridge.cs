using Apisix.Core.OpenResty;

namespace Apisix.Core.Bridges;

/// <summary>
/// Name resolution for the Lua side of <c>apisix.core.utils.dns_parse</c>: the worker's network
/// answers (its hosts table and loopback addresses), as a DNS server would for APISIX.
/// </summary>
public sealed class DnsBridge(LuaWorker worker)
{
    public const string Name = "apisix.core.dns";

    /// <summary>The hosts-file answer for a name (the network's static names), or null.</summary>
    public string? HostsLookup(string host) =>
        worker.Nginx.Network.Hosts.TryGetValue(host, out var ip) ? ip.ToString() : null;

    /// <summary>The address a name resolves to, or null with nginx-style error text.</summary>
    public string? Resolve(string host, out string? err)
    {
        err = null;
        // the dns client answers a literal without a query; it takes a name with one colon and only
        // digits and dots besides ("127.0.0.1:1980") for an IPv4 literal and answers it as written
        if (host.Count(c => c == ':') == 1 && host.Replace(":", "") is { Length: > 0 } rest && rest.All(c => char.IsAsciiDigit(c) || c == '.'))
            return host;
        var ip = worker.Nginx.Network.Resolve(host);
        if (ip != null) return ip.ToString();
        err = "dns client error: 3 name error";
        return null;
    }
}
