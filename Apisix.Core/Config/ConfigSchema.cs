using System.Text.Json.Nodes;
using Apisix.Core.Admin;

namespace Apisix.Core.Config;

/// <summary>
/// The schemas <c>apisix/cli/schema.lua</c> checks a merged configuration
/// with (and which fill a few defaults into it): the whole-file schema and
/// one per deployment role.
/// </summary>
public static class ConfigSchema
{
    private static JsonArray Arr(params JsonNode?[] items) => new(items);

    private static JsonObject T(string type) => new() { ["type"] = type };

    private static JsonObject Etcd() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["resync_delay"] = T("integer"),
            ["user"] = T("string"),
            ["password"] = T("string"),
            ["tls"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject { ["cert"] = T("string"), ["key"] = T("string") },
            },
            ["prefix"] = T("string"),
            ["host"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = new JsonObject { ["type"] = "string", ["pattern"] = "^https?://" },
                ["minItems"] = 1,
            },
            ["timeout"] = new JsonObject { ["type"] = "integer", ["default"] = 30, ["minimum"] = 1 },
        },
        ["required"] = Arr("prefix", "host"),
    };

    private static JsonObject IntOrString() => new() { ["anyOf"] = Arr(T("integer"), T("string")) };

    /// <summary><c>config_schema</c>.</summary>
    public static JsonObject Config() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["apisix"] = new JsonObject
            {
                ["properties"] = new JsonObject
                {
                    ["lua_module_hook"] = new JsonObject { ["pattern"] = "^[a-zA-Z._-]+$" },
                    ["proxy_protocol"] = new JsonObject
                    {
                        ["type"] = "object",
                        ["properties"] = new JsonObject
                        {
                            ["listen_http_port"] = T("integer"),
                            ["listen_https_port"] = T("integer"),
                            ["enable_tcp_pp"] = T("boolean"),
                            ["enable_tcp_pp_to_upstream"] = T("boolean"),
                        },
                    },
                    ["proxy_cache"] = new JsonObject
                    {
                        ["type"] = "object",
                        ["properties"] = new JsonObject
                        {
                            ["zones"] = new JsonObject
                            {
                                ["type"] = "array",
                                ["minItems"] = 1,
                                ["items"] = new JsonObject
                                {
                                    ["type"] = "object",
                                    ["properties"] = new JsonObject
                                    {
                                        ["name"] = T("string"),
                                        ["memory_size"] = T("string"),
                                        ["disk_size"] = T("string"),
                                        ["disk_path"] = T("string"),
                                        ["cache_levels"] = T("string"),
                                    },
                                    ["oneOf"] = Arr(
                                        new JsonObject
                                        {
                                            ["required"] = Arr("name", "memory_size"),
                                            ["maxProperties"] = 2,
                                        },
                                        new JsonObject
                                        {
                                            ["required"] = Arr("name", "memory_size", "disk_size",
                                                "disk_path", "cache_levels"),
                                        }),
                                },
                                ["uniqueItems"] = true,
                            },
                        },
                    },
                    ["proxy_mode"] = new JsonObject
                    {
                        ["type"] = "string",
                        ["enum"] = Arr("http", "stream", "http&stream"),
                    },
                    ["stream_proxy"] = new JsonObject
                    {
                        ["type"] = "object",
                        ["properties"] = new JsonObject
                        {
                            ["tcp"] = new JsonObject
                            {
                                ["type"] = "array",
                                ["minItems"] = 1,
                                ["items"] = new JsonObject
                                {
                                    ["anyOf"] = Arr(
                                        T("integer"),
                                        T("string"),
                                        new JsonObject
                                        {
                                            ["type"] = "object",
                                            ["properties"] = new JsonObject
                                            {
                                                ["addr"] = IntOrString(),
                                                ["tls"] = T("boolean"),
                                                ["proxy_protocol"] = T("boolean"),
                                                ["proxy_protocol_to_upstream"] = T("boolean"),
                                            },
                                            ["required"] = Arr("addr"),
                                        }),
                                },
                                ["uniqueItems"] = true,
                            },
                            ["udp"] = new JsonObject
                            {
                                ["type"] = "array",
                                ["minItems"] = 1,
                                ["items"] = IntOrString(),
                                ["uniqueItems"] = true,
                            },
                        },
                    },
                    ["dns_resolver"] = new JsonObject
                    {
                        ["type"] = "array",
                        ["minItems"] = 1,
                        ["items"] = T("string"),
                    },
                    ["dns_resolver_valid"] = T("integer"),
                    ["enable_http2"] = new JsonObject { ["type"] = "boolean", ["default"] = true },
                    ["ssl"] = new JsonObject
                    {
                        ["type"] = "object",
                        ["properties"] = new JsonObject
                        {
                            ["ssl_trusted_certificate"] = new JsonObject { ["type"] = "string", ["default"] = "system" },
                            ["listen"] = new JsonObject
                            {
                                ["type"] = "array",
                                ["items"] = new JsonObject
                                {
                                    ["type"] = "object",
                                    ["properties"] = new JsonObject
                                    {
                                        ["ip"] = T("string"),
                                        ["port"] = new JsonObject
                                        {
                                            ["type"] = "integer",
                                            ["minimum"] = 1,
                                            ["maximum"] = 65535,
                                        },
                                        ["enable_http3"] = T("boolean"),
                                    },
                                },
                            },
                        },
                    },
                    ["data_encryption"] = new JsonObject
                    {
                        ["type"] = "object",
                        ["properties"] = new JsonObject
                        {
                            ["keyring"] = new JsonObject
                            {
                                ["anyOf"] = Arr(
                                    new JsonObject
                                    {
                                        ["type"] = "array",
                                        ["minItems"] = 1,
                                        ["items"] = new JsonObject
                                        {
                                            ["type"] = "string",
                                            ["minLength"] = 16,
                                            ["maxLength"] = 16,
                                        },
                                    },
                                    new JsonObject
                                    {
                                        ["type"] = "string",
                                        ["minLength"] = 16,
                                        ["maxLength"] = 16,
                                    }),
                            },
                        },
                    },
                    ["disable_upstream_healthcheck"] = new JsonObject
                    {
                        ["type"] = "boolean",
                        ["default"] = false,
                    },
                    ["trusted_addresses"] = new JsonObject
                    {
                        ["type"] = "array",
                        ["minItems"] = 1,
                        ["items"] = new JsonObject { ["anyOf"] = SchemaDefs.IpDef() },
                        ["uniqueItems"] = true,
                    },
                },
            },
            ["nginx_config"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["envs"] = new JsonObject
                    {
                        ["type"] = "array",
                        ["minItems"] = 1,
                        ["items"] = T("string"),
                    },
                },
            },
            ["http"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject { ["custom_lua_shared_dict"] = T("object") },
            },
            ["etcd"] = Etcd(),
            ["plugins"] = new JsonObject
            {
                ["type"] = "array",
                ["default"] = new JsonArray(),
                ["minItems"] = 0,
                ["items"] = T("string"),
            },
            ["stream_plugins"] = new JsonObject
            {
                ["type"] = "array",
                ["default"] = new JsonArray(),
                ["minItems"] = 0,
                ["items"] = T("string"),
            },
            ["wasm"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["plugins"] = new JsonObject
                    {
                        ["type"] = "array",
                        ["minItems"] = 1,
                        ["items"] = new JsonObject
                        {
                            ["type"] = "object",
                            ["properties"] = new JsonObject
                            {
                                ["name"] = T("string"),
                                ["file"] = T("string"),
                                ["priority"] = T("integer"),
                                ["http_request_phase"] = new JsonObject
                                {
                                    ["enum"] = Arr("access", "rewrite"),
                                    ["default"] = "access",
                                },
                            },
                            ["required"] = Arr("name", "file", "priority"),
                        },
                    },
                },
            },
            ["deployment"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["role"] = new JsonObject
                    {
                        ["enum"] = Arr("traditional", "control_plane", "data_plane", "standalone"),
                        ["default"] = "traditional",
                    },
                },
            },
        },
        ["required"] = Arr("apisix", "deployment"),
    };

    private static JsonObject Admin() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["admin_key"] = new JsonObject
            {
                ["type"] = "array",
                // Upstream nests the item schema under "properties", where it checks nothing.
                ["properties"] = new JsonObject
                {
                    ["items"] = new JsonObject
                    {
                        ["properties"] = new JsonObject
                        {
                            ["name"] = T("string"),
                            ["key"] = T("string"),
                            ["role"] = T("string"),
                        },
                    },
                },
            },
            ["admin_listen"] = new JsonObject
            {
                ["properties"] = new JsonObject
                {
                    ["listen"] = T("string"),
                    ["port"] = T("integer"),
                },
                ["default"] = new JsonObject { ["listen"] = "0.0.0.0", ["port"] = 9180 },
            },
            ["https_admin"] = T("boolean"),
            ["admin_key_required"] = T("boolean"),
        },
    };

    private static JsonObject Provider(params string[] providers) => new()
    {
        ["properties"] = new JsonObject
        {
            ["config_provider"] = new JsonObject { ["enum"] = new JsonArray(providers.Select(p => (JsonNode?)p).ToArray()) },
        },
        ["required"] = Arr("config_provider"),
    };

    /// <summary><c>deployment_schema[role]</c>; null for a role without one.</summary>
    public static JsonObject? Deployment(string role) => role switch
    {
        "traditional" => new JsonObject
        {
            ["properties"] = new JsonObject
            {
                ["etcd"] = Etcd(),
                ["admin"] = Admin(),
                ["role_traditional"] = Provider("etcd", "yaml"),
            },
            ["required"] = Arr("etcd"),
        },
        "control_plane" => new JsonObject
        {
            ["properties"] = new JsonObject
            {
                ["etcd"] = Etcd(),
                ["admin"] = Admin(),
                ["role_control_plane"] = Provider("etcd"),
            },
            ["required"] = Arr("etcd", "role_control_plane"),
        },
        "data_plane" => new JsonObject
        {
            ["properties"] = new JsonObject
            {
                ["etcd"] = Etcd(),
                ["role_data_plane"] = Provider("etcd", "yaml", "json", "xds"),
            },
            ["required"] = Arr("role_data_plane"),
        },
        _ => null,
    };

    private static readonly JsonObject CachedConfig = Config();
    private static readonly Dictionary<string, JsonObject?> CachedDeployment = new()
    {
        ["traditional"] = Deployment("traditional"),
        ["control_plane"] = Deployment("control_plane"),
        ["data_plane"] = Deployment("data_plane"),
    };

    /// <summary>
    /// <c>schema.validate(yaml_conf)</c>: checks the merged config and fills
    /// defaults. Returns null or the error text.
    /// </summary>
    public static string? Validate(JsonObject conf)
    {
        var (ok, err) = Schema.JsonSchema.Check(CachedConfig, conf);
        if (!ok) return "failed to validate config: " + err;

        string role = conf["deployment"] is JsonObject d && Json.JsonScalars.TryGetString(d["role"], out string r)
            ? r
            : "traditional";
        if (CachedDeployment.TryGetValue(role, out var schema) && schema != null)
        {
            (ok, err) = Schema.JsonSchema.Check(schema, conf["deployment"]);
            if (!ok) return "invalid deployment " + role + " configuration: " + err;
        }
        return null;
    }
}
