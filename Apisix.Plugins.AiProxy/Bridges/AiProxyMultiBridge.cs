using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;

namespace Apisix.Plugins.AiProxy.Bridges;

/// <summary>
/// The C# half of <c>apisix.plugins.ai-proxy-multi</c>'s module functions for Lua callers
/// (besides check_schema): <c>construct_upstream(instance)</c>. What it resolves on the
/// instance (<c>_dns_nodes</c>, <c>_nodes_ver</c>, <c>_resolved_*</c>) is written back to the
/// caller's table, as the Lua function mutates it. Names resolve through the worker's network.
/// </summary>
public sealed class AiProxyMultiBridge(LuaWorker worker)
{
    public const string Name = "apisix.plugins.ai-proxy-multi.functions";

    private IReadOnlyList<string>? ResolveAll(string host) => AiProxyMultiPlugin.ResolveAllOn(worker, host);

    public object? ConstructUpstream(object? instance, out string? err)
    {
        err = null;
        try
        {
            var node = LuaJson.ToJson(worker.Lua, instance) as JsonObject;
            var (upstream, e) = AiProxyMultiPlugin.ConstructUpstream(node, ResolveAll);
            if (instance is NLua.LuaTable table && node != null) LuaJson.SyncInto(worker.Lua, table, node);
            if (upstream == null)
            {
                err = e;
                return null;
            }
            return LuaJson.FromJson(worker.Lua, upstream);
        }
        catch (Exception ex)
        {
            err = ex.Message;
            return null;
        }
    }
}
