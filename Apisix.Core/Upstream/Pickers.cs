using System.Text.Json.Nodes;

namespace Apisix.Core.Upstream;

/// <summary>
/// balancer.lua's <c>require("apisix.balancer." .. up_conf.type).new(nodes, up_conf)</c>: the
/// picker module an upstream's <c>type</c> names, built over one priority's nodes.
/// </summary>
public static class Pickers
{
    /// <summary>The balancer types a picker can be made for here.</summary>
    public static readonly IReadOnlySet<string> Ported = new HashSet<string>(StringComparer.Ordinal) { "roundrobin", "chash" };

    /// <param name="algorithm">The upstream's <c>type</c>: "roundrobin" or "chash".</param>
    /// <param name="nodes">Servers (host:port) and weights.</param>
    /// <param name="upstream">The upstream conf (chash reads <c>hash_on</c> and <c>key</c> from it).</param>
    /// <param name="random">Where roundrobin draws its random start; null uses <see cref="Random.Shared"/>.</param>
    /// <exception cref="NotSupportedException">For a type with no port (ewma, least_conn) or no module at all.</exception>
    public static IServerPicker New(string algorithm, IReadOnlyList<(string Id, int Weight)> nodes, JsonObject upstream, Random? random = null) =>
        algorithm switch
        {
            "roundrobin" => new RoundRobinPicker(nodes, random),
            "chash" => new ChashPicker(nodes, upstream),
            _ => throw new NotSupportedException($"balancer type {algorithm} is not ported (module apisix.balancer.{algorithm})"),
        };
}
