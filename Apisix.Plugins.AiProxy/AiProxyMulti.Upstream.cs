using System.Net;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.Utils;
using Apisix.Plugins.AiProxy.AiProviders;

namespace Apisix.Plugins.AiProxy;

// ai-proxy-multi.lua's endpoint resolution and construct_upstream: an instance's endpoint as
// upstream nodes (one per resolved address), the node a request uses, and the upstream (with
// health checks carrying the instance's auth) the health checker probes.
public sealed partial class AiProxyMultiPlugin
{
    private static bool IsIp(string host) => IPAddress.TryParse(host.Trim('[', ']'), out _);

    private static string? S(JsonNode? n) => JsonScalars.TryGetString(n, out var s) ? s : null;

    /// <summary>
    /// <c>parse_domain_for_nodes(node)</c>: a node whose host is a name becomes one node per
    /// address the name resolves to (sorted, keeping the name as <c>domain</c>).
    /// </summary>
    private static JsonArray ParseDomainForNodes(JsonObject node, Func<string, IReadOnlyList<string>?> resolveAll, Action<string>? logError)
    {
        var host = S(node["domain"]) ?? S(node["host"]) ?? "";
        if (!IsIp(host))
        {
            var ips = resolveAll(host);
            if (ips == null) logError?.Invoke($"dns resolver domain: {host} error: failed to query the DNS server");
            else
            {
                var nodes = ips.Select(ip =>
                {
                    var n = (JsonObject)node.DeepClone();
                    n["host"] = ip;
                    n["domain"] = host;
                    return n;
                }).OrderBy(n => S(n["host"]), StringComparer.Ordinal)
                  .ThenBy(n => JsonScalars.TryGetNumber(n["port"], out var p) ? p : 0)
                  .ToList();
                return new JsonArray(nodes.Cast<JsonNode?>().ToArray());
            }
        }
        return new JsonArray(node.DeepClone());
    }

    private static bool NodesEqual(JsonNode? oldNodes, JsonArray newNodes)
    {
        if (oldNodes is not JsonArray old || old.Count != newNodes.Count) return false;
        for (var i = 0; i < newNodes.Count; i++)
        {
            foreach (var field in new[] { "host", "port", "scheme", "domain" })
            {
                if (!JsonNode.DeepEquals(old[i]?[field], newNodes[i]?[field])) return false;
            }
        }
        return true;
    }

    private static string MakeEndpoint(JsonObject node)
    {
        var host = S(node["host"]) ?? "";
        if (IPAddress.TryParse(host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) host = "[" + host + "]";
        var endpoint = $"{S(node["scheme"])}://{host}:{CtxPort(node["port"])}";
        if (S(node["path"]) is { } path) endpoint += path;
        if (S(node["query"]) is { } query) endpoint += "?" + query;
        return endpoint;
    }

    private static string CtxPort(JsonNode? port) =>
        JsonScalars.TryGetNumber(port, out var p) ? LuaNumber.ToLuaString(p) : S(port) ?? "";

    private static string? MakeHostHeader(JsonObject node)
    {
        if (S(node["domain"]) is not { } domain) return null;
        JsonScalars.TryGetNumber(node["port"], out var port);
        var https = S(node["scheme"]) == "https";
        return (https && port != 443) || (!https && port != 80) ? domain + ":" + CtxPort(node["port"]) : domain;
    }

    /// <summary><c>use_node_for_request</c>: the endpoint, Host header and SNI a request to this node uses.</summary>
    private static void UseNodeForRequest(JsonObject instance, JsonObject? node)
    {
        if (node == null) return;
        instance["_dns_value"] = node.DeepClone();
        instance["_resolved_endpoint"] = MakeEndpoint(node);
        instance["_resolved_host_header"] = MakeHostHeader(node);
        instance["_resolved_ssl_server_name"] = node["domain"]?.DeepClone();
    }

    private static JsonObject? PickRequestNode(JsonNode? nodes) =>
        nodes is JsonArray { Count: > 0 } list ? list[Random.Shared.Next(list.Count)] as JsonObject : null;

    /// <summary>
    /// <c>resolve_endpoint(instance_conf)</c>: the instance's nodes (<c>_dns_nodes</c>, versioned by
    /// <c>_nodes_ver</c> when they change) and the node this request goes to.
    /// </summary>
    internal static void ResolveEndpoint(JsonObject instance, Func<string, IReadOnlyList<string>?> resolveAll,
        Action<LogLevel, string>? log = null)
    {
        string? scheme, host, path = null, query = null;
        double port;
        if (S(instance["override"]?["endpoint"]) is { } endpoint)
        {
            var parsed = SocketUrl.Parse(endpoint);
            scheme = parsed?.Scheme;
            host = parsed?.Host;
            path = parsed?.Path;
            query = parsed?.Query;
            port = parsed?.Port is { } p && double.TryParse(p, out var pv) ? pv : scheme == "https" ? 443 : 80;
        }
        else
        {
            var provider = Providers.Require(S(instance["provider"]) ?? "");
            if (provider?.GetNode is { } getNode)
            {
                var node = getNode(instance);
                host = S(node["host"]);
                port = JsonScalars.TryGetNumber(node["port"], out var np) ? np : 443;
            }
            else
            {
                host = provider?.Host;
                port = provider?.Port ?? 443;
            }
            scheme = "https";
        }

        var newNode = new JsonObject { ["host"] = host, ["port"] = CJson.NumberNode(port), ["scheme"] = scheme };
        if (path != null) newNode["path"] = path;
        if (query != null) newNode["query"] = query;
        var newNodes = ParseDomainForNodes(newNode, resolveAll, msg => log?.Invoke(LogLevel.Error, msg));

        if (!NodesEqual(instance["_dns_nodes"], newNodes))
        {
            instance["_dns_nodes"] = newNodes;
            var ver = JsonScalars.TryGetNumber(instance["_nodes_ver"], out var v) ? v : 0;
            instance["_nodes_ver"] = CJson.NumberNode(ver + 1);
            log?.Invoke(LogLevel.Info, $"DNS resolution changed for instance: {S(instance["name"])} new nodes: {CJson.Encode(newNodes)}");
        }
        UseNodeForRequest(instance, PickRequestNode(instance["_dns_nodes"]));
    }

    /// <summary>
    /// <c>construct_upstream(instance)</c>: the instance as an upstream for the health checker.
    /// Its checks are a copy with the instance's auth added (headers to <c>req_headers</c>, query
    /// to <c>http_path</c>), so repeated calls never grow the instance's own conf.
    /// </summary>
    public static (JsonObject? Upstream, string? Error) ConstructUpstream(JsonObject? instance,
        Func<string, IReadOnlyList<string>?> resolveAll)
    {
        if (instance == null) return (null, "instance configuration is nil");
        if (instance["_dns_nodes"] is not JsonArray nodes)
        {
            ResolveEndpoint(instance, resolveAll);
            if (instance["_dns_nodes"] is not JsonArray resolved)
                return (null, "failed to resolve endpoint for instance: " + S(instance["name"]));
            nodes = resolved;
        }

        var upstreamNodes = new JsonArray();
        foreach (var node in nodes.OfType<JsonObject>())
        {
            if (node["host"] == null || node["port"] == null) return (null, "invalid upstream node: missing host or port");
            var n = new JsonObject
            {
                ["host"] = node["host"]!.DeepClone(),
                ["port"] = node["port"]!.DeepClone(),
                ["weight"] = 1,
                ["priority"] = 0,
            };
            if (node["domain"] != null) n["domain"] = node["domain"]!.DeepClone();
            upstreamNodes.Add(n);
        }

        var checks = instance["checks"] as JsonObject;
        var auth = instance["auth"] as JsonObject ?? new JsonObject();
        if (checks?["active"] is JsonObject)
        {
            checks = (JsonObject)checks.DeepClone();
            var active = (JsonObject)checks["active"]!;
            if (auth["header"] is JsonObject headers)
            {
                if (active["req_headers"] is not JsonArray reqHeaders)
                {
                    reqHeaders = new JsonArray();
                    active["req_headers"] = reqHeaders;
                }
                var present = reqHeaders.Select(h => S(h)).ToHashSet();
                foreach (var (k, v) in headers)
                {
                    var line = $"{k}: {S(v) ?? v?.ToJsonString()}";
                    if (!present.Contains(line)) reqHeaders.Add(line);
                }
            }
            if (auth["query"] is JsonObject q)
            {
                var httpPath = S(active["http_path"]) ?? "/";
                var sep = httpPath.Contains('?') ? "&" : "?";
                active["http_path"] = httpPath + sep + NgxEncodeArgs.Encode(q);
            }
        }

        var upstream = new JsonObject { ["nodes"] = upstreamNodes };
        if (checks != null) upstream["checks"] = checks.DeepClone();
        if (instance["_nodes_ver"] != null) upstream["_nodes_ver"] = instance["_nodes_ver"]!.DeepClone();
        return (upstream, null);
    }
}
