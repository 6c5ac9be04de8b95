using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using Apisix.Core.Plugins;
using NLua;

namespace Apisix.Core.Bridges;

/// <summary>
/// `plugin.check_schema(conf)` for Lua callers: checks the C# plugin's schema and writes the
/// defaults it injected back into the caller's own table, as the Lua library does in place.
/// </summary>
public sealed class PluginSchemaBridge(LuaWorker worker, IPlugin plugin)
{
    /// <summary>Returns (true) or (false, message) to Lua; never throws into it.</summary>
    public bool Check(object? conf, out string? error) => CheckAs(conf, 0, out error);

    /// <summary><c>check_schema(conf, schema_type)</c>: <c>core.schema.TYPE_CONSUMER</c> (1) or <c>TYPE_METADATA</c> (2) pick those schemas.</summary>
    public bool CheckAs(object? conf, long schemaType, out string? error)
    {
        error = null;
        try
        {
            var (node, err) = LuaJson.TryToJson(worker.Lua, conf);
            if (err != null)
            {
                error = err;
                return false;
            }
            if (node is not JsonObject obj)
            {
                error = "wrong type: expected object, got " + (conf == null ? "nil" : node?.GetValueKind().ToString().ToLowerInvariant());
                return false;
            }
            var (ok, msg) = plugin.CheckSchema(obj, (SchemaType)schemaType);
            if (conf is LuaTable table) LuaJson.SyncInto(worker.Lua, table, obj);
            error = msg;
            return ok;
        }
        catch (Exception e)
        {
            error = e.Message;
            return false;
        }
    }

    public string Name() => plugin.Name;
    public string? Type() => plugin.Type;
    public long Priority() => plugin.Priority;
    public double Version() => plugin.Version;
}
