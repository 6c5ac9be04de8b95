// Twin of apisix/admin/secrets.lua
using System.Text.Json.Nodes;
using Apisix.Core.Schema;

namespace Apisix.Core.Admin;

/// <summary>
/// The secrets resource: <c>/secrets/MANAGER/ID</c>, its value checked with the schema of the
/// secret manager the path names (<c>apisix.secret.vault</c>, <c>aws</c>, <c>gcp</c>).
/// </summary>
internal static class Secrets
{
    /// <summary>The schemas of the secret managers (apisix/secret/*.lua), by type.</summary>
    private static readonly Dictionary<string, JsonObject> ManagerSchemas = new(StringComparer.Ordinal)
    {
        ["vault"] = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["uri"] = SchemaDefs.UriDef(),
                ["prefix"] = new JsonObject { ["type"] = "string" },
                ["token"] = new JsonObject { ["type"] = "string" },
                ["namespace"] = new JsonObject { ["type"] = "string" },
            },
            ["required"] = new JsonArray("uri", "prefix", "token"),
        },
        ["aws"] = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["access_key_id"] = new JsonObject { ["type"] = "string" },
                ["secret_access_key"] = new JsonObject { ["type"] = "string" },
                ["session_token"] = new JsonObject { ["type"] = "string" },
                ["region"] = new JsonObject { ["type"] = "string", ["default"] = "us-east-1" },
                ["endpoint_url"] = SchemaDefs.UriDef(),
            },
            ["required"] = new JsonArray("access_key_id", "secret_access_key"),
        },
        ["gcp"] = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["auth_config"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["client_email"] = new JsonObject { ["type"] = "string" },
                        ["private_key"] = new JsonObject { ["type"] = "string" },
                        ["project_id"] = new JsonObject { ["type"] = "string" },
                        ["token_uri"] = new JsonObject { ["type"] = "string", ["default"] = "https://oauth2.googleapis.com/token" },
                        ["scope"] = new JsonObject
                        {
                            ["type"] = "array",
                            ["items"] = new JsonObject { ["type"] = "string" },
                            ["default"] = new JsonArray("https://www.googleapis.com/auth/cloud-platform"),
                        },
                        ["entries_uri"] = new JsonObject { ["type"] = "string", ["default"] = "https://secretmanager.googleapis.com/v1" },
                    },
                    ["required"] = new JsonArray("client_email", "private_key", "project_id"),
                },
                ["ssl_verify"] = new JsonObject { ["type"] = "boolean", ["default"] = true },
                ["auth_file"] = new JsonObject { ["type"] = "string" },
            },
            ["oneOf"] = new JsonArray(
                new JsonObject { ["required"] = new JsonArray("auth_config") },
                new JsonObject { ["required"] = new JsonArray("auth_file") }),
        },
    };

    /// <summary><c>check_conf(id, conf, need_id, schema, {secret_type})</c>.</summary>
    public static CheckResult CheckConf(JsonNode? id, JsonObject conf, bool needId, string? secretType)
    {
        if (secretType == null) return CheckResult.Fail("missing secret type");
        if (!ManagerSchemas.TryGetValue(secretType, out var schema))
            return CheckResult.Fail("invalid secret manager: " + secretType);
        var (ok, err) = JsonSchema.Check(schema, conf);
        if (!ok) return CheckResult.Fail("invalid configuration: " + err);
        return CheckResult.Pass();
    }

    public static AdminResource Resource(EtcdView etcd) => new()
    {
        Name = "secrets", Kind = "secret", Etcd = etcd,
        Checker = (id, conf, needId) => CheckConf(id, conf, needId, null),
        TypedChecker = CheckConf,
        UnsupportedMethods = new[] { "post" },
    };
}
