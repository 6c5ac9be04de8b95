// Twin of apisix/admin/proto.lua
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Schema;

namespace Apisix.Core.Admin;

/// <summary>
/// The protos resource: protobuf definitions grpc-transcode refers to by <c>proto_id</c>.
/// A proto must compile; one still used by a route's or service's grpc-transcode cannot be
/// deleted without <c>force=true</c>.
/// </summary>
internal static class Protos
{
    /// <summary><c>core.schema.proto</c>.</summary>
    public static JsonObject Schema { get; } = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["id"] = SchemaDefs.IdSchema(),
            ["name"] = SchemaDefs.RuleNameDef(),
            ["desc"] = SchemaDefs.DescDef(),
            ["labels"] = SchemaDefs.LabelsDef(),
            ["create_time"] = SchemaDefs.TimestampDef(),
            ["update_time"] = SchemaDefs.TimestampDef(),
            ["content"] = new JsonObject { ["type"] = "string", ["minLength"] = 1, ["maxLength"] = 1024 * 1024 },
        },
        ["required"] = new JsonArray("content"),
        ["additionalProperties"] = false,
    };

    /// <summary><c>check_conf</c>: the schema, then the content must compile.</summary>
    public static CheckResult CheckConf(JsonObject conf)
    {
        var (ok, err) = JsonSchema.Check(Schema, conf);
        if (!ok) return CheckResult.Fail("invalid configuration: " + err);
        string content = LuaText.ToLuaString(conf["content"]);
        if (ProtoText.Check(content) is { } perr) return CheckResult.Fail("invalid content: " + perr);
        return CheckResult.Pass();
    }

    /// <summary><c>delete_checker</c>: refused while a route or service's grpc-transcode names the proto.</summary>
    public static (int, JsonObject)? DeleteChecker(EtcdView etcd, string id)
    {
        foreach (var (dir, ptype) in new[] { ("/routes", "route"), ("/services", "service") })
        {
            foreach (var entry in etcd.Values(dir))
            {
                if (entry.Value is not JsonObject v || v["plugins"] is not JsonObject plugins) continue;
                if (plugins["grpc-transcode"] is JsonObject gt && LuaText.FieldIsTruthy(gt, "proto_id")
                    && LuaText.ToLuaString(gt["proto_id"]) == id)
                {
                    return (400, CheckResult.Msg("can not delete this proto, " + ptype + " ["
                                                 + LuaText.ToLuaString(v["id"]) + "] is still using it now"));
                }
            }
        }
        return null;
    }

    public static AdminResource Resource(EtcdView etcd) => new()
    {
        Name = "protos", Kind = "proto", Etcd = etcd,
        Checker = (_, conf, _) => CheckConf(conf),
        UnsupportedMethods = new[] { "patch" },
        DeleteChecker = id => DeleteChecker(etcd, id),
    };
}
