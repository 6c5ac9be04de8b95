// Twin of apisix/core/schema.lua
using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;

namespace Apisix.Core;

/// <summary>
/// <c>core.schema</c> for Lua callers: a Lua schema table is converted once to the C# validator's
/// tree (apisix/core/schema.lua keeps the handle per schema table, as upstream caches one
/// validator per schema), and <c>check</c> validates a Lua value against it with
/// <see cref="Schema.JsonSchema.Check"/>, writing the defaults it injects back into the caller's
/// table, as the Lua library fills them in place.
/// </summary>
public sealed class CoreSchemaLua(LuaWorker worker)
{
    public const string Name = "apisix.core.schema";

    private readonly List<JsonNode> _schemas = new();

    /// <summary>A handle for the schema, or null and the conversion error.</summary>
    public long? Compile(object? schema, out string? err)
    {
        var (node, convErr) = LuaJson.TryToJson(worker.Lua, schema);
        err = convErr;
        if (node == null) { err ??= "schema is nil"; return null; }
        _schemas.Add(node);
        return _schemas.Count - 1;
    }

    /// <summary><c>check(schema, value)</c>: true, or false and the validator's message.</summary>
    public bool Check(long handle, object? value, out string? err)
    {
        err = null;
        try
        {
            var (node, convErr) = value == null ? (null, null) : LuaJson.TryToJson(worker.Lua, value);
            if (convErr != null) { err = convErr; return false; }
            var (ok, msg) = Schema.JsonSchema.Check(_schemas[(int)handle], node);
            if (ok && value is NLua.LuaTable t && node != null) LuaJson.SyncInto(worker.Lua, t, node);
            err = msg;
            return ok;
        }
        catch (Exception e)
        {
            err = e.Message;
            return false;
        }
    }
}

/// <summary>
/// <c>apisix.schema_def</c> for Lua: the resource schemas of <see cref="Admin.SchemaDefs"/> as Lua
/// tables, under upstream's field names.
/// </summary>
public sealed class SchemaDefLua(LuaWorker worker)
{
    public const string Name = "apisix.schema_def";

    private static readonly Dictionary<string, Func<JsonNode>> Defs = new(StringComparer.Ordinal)
    {
        ["id_schema"] = Admin.SchemaDefs.IdSchema,
        ["host_def"] = Admin.SchemaDefs.HostDef,
        ["ip_def"] = Admin.SchemaDefs.IpDef,
        ["uri_def"] = Admin.SchemaDefs.UriDef,
        ["label_value_def"] = Admin.SchemaDefs.LabelValueDef,
        ["health_checker_active"] = Admin.SchemaDefs.HealthCheckerActive,
        ["health_checker_passive"] = Admin.SchemaDefs.HealthCheckerPassive,
        ["health_checker"] = Admin.SchemaDefs.HealthChecker,
        ["upstream_hash_vars_schema"] = Admin.SchemaDefs.UpstreamHashVarsSchema,
        ["upstream_hash_header_schema"] = Admin.SchemaDefs.UpstreamHashHeaderSchema,
        ["upstream_hash_vars_combinations_schema"] = Admin.SchemaDefs.UpstreamHashVarsCombinationsSchema,
        ["method_schema"] = Admin.SchemaDefs.MethodSchema,
        ["route"] = Admin.SchemaDefs.RouteSchema,
        ["service"] = Admin.SchemaDefs.ServiceSchema,
        ["consumer"] = Admin.SchemaDefs.ConsumerSchema,
        ["upstream"] = Admin.SchemaDefs.UpstreamSchema,
        ["global_rule"] = Admin.SchemaDefs.GlobalRuleSchema,
        ["plugin_config"] = Admin.SchemaDefs.PluginConfigSchema,
        ["consumer_group"] = Admin.SchemaDefs.ConsumerGroupSchema,
        ["ssl"] = Admin.Ssl.SchemaDef,
    };

    /// <summary>The schema named <paramref name="name"/> as a fresh Lua table, or nil when this port has none by that name.</summary>
    public object? Get(string name) => Defs.TryGetValue(name, out var f) ? LuaJson.FromJson(worker.Lua, f(), arrayMt: false) : null;
}
