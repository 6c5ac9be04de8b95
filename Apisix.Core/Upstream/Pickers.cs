using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;

namespace Apisix.Core.Upstream;

/// <summary>
/// balancer.lua's <c>require("apisix.balancer." .. up_conf.type).new(nodes, up_conf)</c>: the
/// picker module an upstream's <c>type</c> names, built over one priority's nodes.
/// </summary>
public static class Pickers
{
    /// <summary>The balancer types a picker can be made for.</summary>
    public static readonly IReadOnlySet<string> Ported = new HashSet<string>(StringComparer.Ordinal) { "roundrobin", "chash", "ewma", "least_conn" };

    /// <summary>
    /// The picker of <paramref name="algorithm"/>, or the error its <c>new</c> returns (ewma
    /// without its shared dicts: "dictionary not find").
    /// </summary>
    /// <param name="algorithm">The upstream's <c>type</c>.</param>
    /// <param name="nodes">Servers (host:port) and weights.</param>
    /// <param name="upstream">The upstream conf (chash reads <c>hash_on</c> and <c>key</c> from it).</param>
    /// <param name="random">Where roundrobin and ewma draw; null uses <see cref="Random.Shared"/>.</param>
    /// <param name="nginx">The nginx whose shared dicts ewma keeps its averages in.</param>
    /// <exception cref="NotSupportedException">For a type with no module (<c>require</c> fails in Lua).</exception>
    public static (IServerPicker? Picker, string? Error) Create(string algorithm, IReadOnlyList<(string Id, int Weight)> nodes,
        JsonObject? upstream, Random? random = null, Nginx? nginx = null)
    {
        switch (algorithm)
        {
            case "roundrobin": return (new RoundRobinPicker(nodes, random), null);
            case "chash": return (new ChashPicker(nodes, upstream), null);
            case "least_conn": return (new LeastConnPicker(nodes), null);
            case "ewma":
                var (ewma, err) = EwmaPicker.New(nodes, nginx, random);
                return (ewma, err);
            default:
                throw new NotSupportedException($"module 'apisix.balancer.{algorithm}' not found (balancer type {algorithm})");
        }
    }

    /// <summary><see cref="Create"/> for callers that treat a failed <c>new</c> as a bug.</summary>
    /// <exception cref="NotSupportedException">For a type with no module, or a picker that could not be made.</exception>
    public static IServerPicker New(string algorithm, IReadOnlyList<(string Id, int Weight)> nodes, JsonObject upstream, Random? random = null, Nginx? nginx = null)
    {
        var (picker, err) = Create(algorithm, nodes, upstream, random, nginx);
        return picker ?? throw new NotSupportedException($"balancer type {algorithm}: {err}");
    }
}
