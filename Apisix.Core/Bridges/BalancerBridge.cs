using System.Globalization;
using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using Apisix.Core.Upstream;
using NLua;

namespace Apisix.Core.Bridges;

/// <summary>
/// The C# half of the Lua module <c>apisix.balancer</c> (Lua/apisix/balancer.lua): its
/// <c>pick_server(route, ctx)</c> for Lua callers whose ctx is a plain table, as tests drive it.
/// The ctx's <c>upstream_conf</c>, <c>upstream_key</c>, <c>upstream_version</c>,
/// <c>balancer_try_count</c>, <c>server_picker</c> and <c>var</c> are read from the table, and
/// the fields pick_server sets are written back. Pickers are cached per worker, as the Lua
/// module's lrucache is.
/// </summary>
public sealed class BalancerBridge(LuaWorker worker)
{
    public const string Name = "apisix.balancer";

    private readonly Balancer _balancer = new() { Nginx = worker.Nginx };

    // the per-request fields Lua keeps on ctx that have no Lua-visible meaning of their own
    private const string StateField = "_balancer_state";

    /// <summary>
    /// <c>pick_server(route, ctx)</c>: the host of the picked server, with its port, domain and
    /// upstream_host; or null and the error.
    /// </summary>
    public string? PickServer(LuaTable ctx, out long port, out string? domain, out string? upstreamHost, out string? err)
    {
        port = 0;
        domain = null;
        upstreamHost = null;
        if (LuaJson.ToJson(worker.Lua, ctx["upstream_conf"]) is not JsonObject conf)
        {
            err = "missing ctx.upstream_conf";
            return null;
        }
        var key = Str(ctx["upstream_key"]) ?? "";
        var version = Str(ctx["upstream_version"]) ?? "";
        var up = UpstreamConf.Parse(conf, key, version, h => ((string?)null, (string?)"failed to parse domain"));

        var state = ctx[StateField] as BalancerState ?? new BalancerState();
        state.TryCount = ctx["balancer_try_count"] is { } tc ? Convert.ToInt32(tc, CultureInfo.InvariantCulture) : 0;
        state.Picker = ctx["server_picker"] as IServerPicker;
        var vars = ctx["var"] as LuaTable;
        state.Vars = name => vars?[name];
        state.ConsumerName = Str(ctx["consumer_name"]);
        state.LogTo = (level, msg) => worker.Nginx.Log(worker, level, msg, null);

        var (node, e) = _balancer.PickServer(up, state, worker.Id, Str(ctx["upstream_scheme"]));
        ctx[StateField] = state;
        if (up.Nodes.Count > 1) ctx["balancer_try_count"] = (long)state.TryCount;
        if (node == null)
        {
            err = e;
            return null;
        }
        if (state.Picker != null) ctx["server_picker"] = state.Picker;
        if (state.Server != null && up.Nodes.Count > 1) ctx["balancer_server"] = state.Server;
        ctx["balancer_ip"] = node.Host;
        ctx["balancer_port"] = (long)node.Port;
        port = node.Port;
        domain = node.Domain;
        upstreamHost = node.UpstreamHost;
        err = null;
        return node.Host;
    }

    private static string? Str(object? v) => v switch
    {
        null => null,
        string s => s,
        double d => Json.LuaNumber.ToLuaString(d),
        long l => l.ToString(CultureInfo.InvariantCulture),
        _ => v.ToString(),
    };
}
