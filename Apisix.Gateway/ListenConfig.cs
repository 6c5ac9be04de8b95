// Twin of the listen part of apisix/cli/ops.lua (validate_and_get_listen_addr, listen_table_insert)
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;

namespace Apisix.Gateway;

/// <summary>
/// Where the gateway listens, read from the merged configuration as `apisix start` reads it:
/// the admin server on <c>deployment.admin.admin_listen</c> (when the admin API is enabled),
/// the data plane on <c>apisix.node_listen</c> (a port, a list of ports, or a list of
/// <c>{ip, port}</c>); a port used twice stops start-up with APISIX's message.
/// </summary>
public sealed class ListenConfig
{
    public IPEndPoint? Admin { get; private init; }
    public IReadOnlyList<IPEndPoint> Node { get; private init; } = [];

    /// <summary>
    /// <c>deployment.admin.allow_admin</c> as nginx's <c>allow</c> rules followed by
    /// <c>deny all</c>; null when absent (allow all).
    /// </summary>
    public IReadOnlyList<IPNetwork>? AllowAdmin { get; private init; }

    public static ListenConfig From(ApisixConfig config)
    {
        var used = new Dictionary<int, string>();
        IPEndPoint Check(string name, string ip, int port)
        {
            if (used.TryGetValue(port, out var other)) throw new GatewayStartException($"{name} {port} conflicts with {other}");
            used[port] = name;
            return new IPEndPoint(ParseIp(ip, name), port);
        }

        IPEndPoint? admin = null;
        if (config.EnableAdmin)
        {
            var listen = config.Get("deployment", "admin", "admin_listen") as JsonObject;
            var ip = JsonScalars.TryGetString(listen?["ip"], out string i) ? i : "0.0.0.0";
            var port = JsonScalars.TryGetNumber(listen?["port"], out double p) ? (int)p : 9180;
            admin = Check("admin port", ip, port);
        }

        var node = new List<IPEndPoint>();
        var seen = new HashSet<string>();
        void Add(string ip, JsonNode? portNode)
        {
            if (!JsonScalars.TryGetNumber(portNode, out double p))
                throw new GatewayStartException("http listen port format error, must be number");
            var port = (int)p;
            if (used.TryGetValue(port, out var other)) throw new GatewayStartException($"http listen port {port} conflicts with {other}");
            if (seen.Add(ip + ":" + port)) node.Add(new IPEndPoint(ParseIp(ip, "http listen"), port));
        }
        var nodeListen = config.Get("apisix", "node_listen");
        if (nodeListen is JsonArray list)
        {
            foreach (var item in list)
            {
                if (item is JsonObject o)
                {
                    if (o["ip"] is { } ipNode && !JsonScalars.TryGetString(ipNode, out string _))
                        throw new GatewayStartException("http listen ip format error, must be string");
                    Add(JsonScalars.TryGetString(o["ip"], out string oip) ? oip : "0.0.0.0", o["port"]);
                }
                else Add("0.0.0.0", item);
            }
        }
        else Add("0.0.0.0", nodeListen ?? JsonValue.Create(9080));

        List<IPNetwork>? allow = null;
        if (config.Get("deployment", "admin", "allow_admin") is JsonArray rules)
        {
            allow = new List<IPNetwork>();
            foreach (var r in rules)
            {
                if (!JsonScalars.TryGetString(r, out string text) || !TryParseNetwork(text, out var net))
                    throw new GatewayStartException($"invalid allow_admin entry: {r?.ToJsonString()}");
                allow.Add(net);
            }
        }
        return new ListenConfig { Admin = admin, Node = node, AllowAdmin = allow };
    }

    private static IPAddress ParseIp(string ip, string what)
    {
        var text = ip.Trim('[', ']');
        if (text == "*") return IPAddress.Any;
        return IPAddress.TryParse(text, out var a) ? a : throw new GatewayStartException($"{what} ip format error: \"{ip}\" is not an address");
    }

    /// <summary>An nginx allow/deny address: <c>all</c>, an address, or a CIDR.</summary>
    public static bool TryParseNetwork(string text, out IPNetwork net)
    {
        if (text == "all") { net = new IPNetwork(IPAddress.Any, 0); return true; }
        if (!text.Contains('/') && IPAddress.TryParse(text, out var single))
        {
            net = new IPNetwork(single, single.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }
        // nginx accepts a CIDR whose address has host bits set (it warns and masks them)
        var slash = text.IndexOf('/');
        if (slash > 0 && IPAddress.TryParse(text[..slash], out var addr)
            && int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var len))
        {
            var bytes = addr.GetAddressBytes();
            if (len < 0 || len > bytes.Length * 8) { net = default; return false; }
            for (var b = 0; b < bytes.Length; b++)
            {
                var keep = Math.Clamp(len - b * 8, 0, 8);
                bytes[b] &= (byte)(0xFF << (8 - keep));
            }
            net = new IPNetwork(new IPAddress(bytes), len);
            return true;
        }
        net = default;
        return false;
    }

    /// <summary>nginx's access module: the first matching allow passes; otherwise `deny all` refuses.</summary>
    public static bool Allowed(IReadOnlyList<IPNetwork>? rules, IPAddress? client)
    {
        if (rules == null) return true;
        if (client == null) return false;
        if (client.IsIPv4MappedToIPv6) client = client.MapToIPv4();
        return rules.Any(r => r.BaseAddress.AddressFamily == client.AddressFamily && r.Contains(client));
    }
}
