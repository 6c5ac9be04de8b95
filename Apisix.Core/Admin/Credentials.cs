// Twin of apisix/admin/credentials.lua
using System.Text.Json.Nodes;
using Apisix.Core.Plugins;
using Apisix.Core.Schema;

namespace Apisix.Core.Admin;

/// <summary>
/// A consumer's credentials: <c>/apisix/admin/consumers/NAME/credentials[/ID]</c>, stored at
/// <c>/consumers/NAME/credentials/ID</c>, each holding one auth plugin's consumer conf.
/// </summary>
public static class Credentials
{
    /// <summary><c>core.schema.credential</c>.</summary>
    public static JsonObject Schema { get; } = new()
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
            ["name"] = SchemaDefs.RuleNameDef(),
            ["desc"] = SchemaDefs.DescDef(),
            ["labels"] = SchemaDefs.LabelsDef(),
            ["create_time"] = SchemaDefs.TimestampDef(),
            ["update_time"] = SchemaDefs.TimestampDef(),
            ["plugins"] = new JsonObject { ["type"] = "object", ["maxProperties"] = 1 },
        },
        ["additionalProperties"] = false,
    };

    /// <summary><c>check_conf</c>: the schema, the plugins' consumer schemas, and auth plugins only.</summary>
    internal static CheckResult CheckConf(PluginRegistry plugins, JsonObject conf)
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
                if (plugin.Type != "auth")
                    return CheckResult.Fail("only supports auth type plugins in consumer credential");
            }
        }
        return CheckResult.Pass();
    }

    /// <summary>
    /// <c>get_credential_etcd_key(credential_id, conf, sub_path)</c>: the sub-path is
    /// <c>NAME/credentials[/ID]</c>; with an id the key is the credential's own, without it the
    /// consumer's credentials directory.
    /// </summary>
    public static string EtcdKey(string? credentialId, string subPath)
    {
        if (credentialId != null)
        {
            var segs = AdminUtils.Split(subPath);
            return "/consumers/" + segs[0] + "/credentials/" + credentialId;
        }
        return "/consumers/" + subPath;
    }

    /// <summary><c>consumer.get_consumer_key_from_credential_key(key)</c>.</summary>
    public static string ConsumerKey(string credentialKey)
    {
        var segs = AdminUtils.Split(credentialKey);
        return "/consumers/" + (segs.Count > 2 ? segs[2] : "");
    }
}
