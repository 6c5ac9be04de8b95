// Twin of apisix/admin/credentials.lua
using System.Text.Json.Nodes;
using Apisix.Core.Plugins;
using Apisix.Core.Schema;

namespace Apisix.Core.Admin;

/// <summary>
/// The <c>credentials</c> admin resource: <c>/apisix/admin/consumers/NAME/credentials[/ID]</c>,
/// stored under <c>/consumers/NAME/credentials/ID</c>. A credential holds at most one plugin,
/// which must be an auth plugin, checked against its consumer schema.
/// </summary>
internal static class Credentials
{
    /// <summary><c>core.schema.credential</c>.</summary>
    public static readonly JsonObject Schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["id"] = new JsonObject
            {
                ["oneOf"] = new JsonArray(
                    SchemaDefs.IdSchema(),
                    new JsonObject
                    {
                        ["type"] = "string",
                        ["minLength"] = 15,
                        ["maxLength"] = 128,
                        ["pattern"] = "^[a-zA-Z0-9-_]+/credentials/[a-zA-Z0-9-_.]+$",
                    }),
            },
            ["name"] = new JsonObject { ["type"] = "string", ["maxLength"] = 256, ["minLength"] = 1 },
            ["desc"] = new JsonObject { ["type"] = "string", ["maxLength"] = 256 },
            ["labels"] = new JsonObject
            {
                ["type"] = "object",
                ["patternProperties"] = new JsonObject { [".*"] = SchemaDefs.LabelValueDef() },
            },
            ["create_time"] = new JsonObject { ["type"] = "integer" },
            ["update_time"] = new JsonObject { ["type"] = "integer" },
            ["plugins"] = new JsonObject { ["type"] = "object", ["maxProperties"] = 1 },
        },
        ["additionalProperties"] = false,
    };

    /// <summary><c>check_conf</c>: the schema, the plugins (consumer schemas), auth plugins only.</summary>
    private static CheckResult Check(PluginRegistry plugins, JsonObject conf)
    {
        var (ok, err) = JsonSchema.Check(Schema, conf);
        if (!ok) return CheckResult.Fail("invalid configuration: " + err);
        if (conf["plugins"] is JsonObject confPlugins)
        {
            (ok, err) = plugins.CheckSchema(confPlugins, SchemaType.Consumer);
            if (!ok) return CheckResult.Fail("invalid plugins configuration: " + err);
            foreach (var (name, _) in confPlugins)
            {
                var plugin = plugins.Get(name);
                if (plugin == null) return CheckResult.Fail("unknown plugin " + name);
                if (plugin.Type != "auth") return CheckResult.Fail("only supports auth type plugins in consumer credential");
            }
        }
        return CheckResult.Pass();
    }

    /// <summary>The resource for one consumer's credentials (<c>get_credential_etcd_key</c>'s directory).</summary>
    public static AdminResource For(string consumerName, EtcdView etcd, PluginRegistry plugins) => new()
    {
        Name = "credentials", Kind = "credential", Etcd = etcd,
        KeyDir = "/consumers/" + consumerName + "/credentials",
        Checker = (_, conf, _) => Check(plugins, conf),
        EncryptConf = (_, conf) =>
        {
            if (conf["plugins"] is JsonObject p)
                foreach (var (name, c) in p.ToList())
                    if (c != null) plugins.EncryptConf(name, c, SchemaType.Consumer);
        },
        UnsupportedMethods = ["post", "patch"],
    };
}
