using System.Text.Json;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.Schema;
using ProvidersSchema = Apisix.Plugins.AiProxy.AiProviders.Schema;

namespace Apisix.Plugins.AiProxy.AiProxy;

/// <summary>
/// Port of <c>apisix/plugins/ai-proxy/schema.lua</c>, in the same order as the
/// Lua file. Each builder returns a fresh tree, since a JsonNode has a single
/// parent while Lua reuses one table in several places; keep the result if
/// you check many configs against it (validation is cached per schema object).
///
/// The upstream "description" strings are left out: they only document the
/// fields and play no part in validation.
/// </summary>
public static class Schema
{
    /// <summary>
    /// The names <c>ai-protocols.names()</c> returns (its registry keys,
    /// sorted). Kept here so the schema does not depend on the protocol port.
    /// </summary>
    public static readonly IReadOnlyList<string> ProtocolNames = new[]
    {
        "anthropic-messages", "bedrock-converse", "openai-chat",
        "openai-embeddings", "openai-responses", "passthrough",
    };

    /// <summary><c>auth_item_schema</c>: header/query name → string value.</summary>
    public static JsonObject AuthItemSchema() => new()
    {
        ["type"] = "object",
        ["patternProperties"] = new JsonObject
        {
            ["^[a-zA-Z0-9._-]+$"] = new JsonObject { ["type"] = "string" },
        },
    };

    /// <summary><c>auth_schema</c>: header, query, gcp or aws credentials, nothing else.</summary>
    public static JsonObject AuthSchema() => new()
    {
        ["type"] = "object",
        // Upstream lists these under patternProperties; as regexes they match
        // any key containing the word.
        ["patternProperties"] = new JsonObject
        {
            ["header"] = AuthItemSchema(),
            ["query"] = AuthItemSchema(),
            ["gcp"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["service_account_json"] = new JsonObject { ["type"] = "string" },
                    ["max_ttl"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1 },
                    ["expire_early_secs"] = new JsonObject
                    {
                        ["type"] = "integer",
                        ["minimum"] = 0,
                        ["default"] = 60,
                    },
                },
            },
            ["aws"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["access_key_id"] = NonEmptyString(),
                    ["secret_access_key"] = NonEmptyString(),
                    ["session_token"] = NonEmptyString(),
                },
                ["required"] = new JsonArray("access_key_id", "secret_access_key"),
            },
        },
        ["additionalProperties"] = false,
    };

    /// <summary><c>model_options_schema</c>: free-form model settings, <c>model</c> a string.</summary>
    public static JsonObject ModelOptionsSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["model"] = new JsonObject { ["type"] = "string" },
        },
        ["additionalProperties"] = true,
    };

    /// <summary><c>request_body_override_properties</c>: one any-shape object per protocol.</summary>
    public static JsonObject RequestBodyOverrideProperties()
    {
        var properties = new JsonObject();
        foreach (string name in ProtocolNames)
        {
            properties[name] = new JsonObject
            {
                ["type"] = "object",
                ["additionalProperties"] = true,
            };
        }
        return properties;
    }

    /// <summary><c>request_body_override_schema</c>: keys limited to protocol names.</summary>
    public static JsonObject RequestBodyOverrideSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = RequestBodyOverrideProperties(),
        ["additionalProperties"] = false,
    };

    /// <summary><c>llm_options_schema</c>: only <c>max_tokens</c>.</summary>
    public static JsonObject LlmOptionsSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["max_tokens"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1 },
        },
        ["additionalProperties"] = false,
    };

    /// <summary><c>override_schema</c>: endpoint, llm_options, request_body and its force flag.</summary>
    public static JsonObject OverrideSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["endpoint"] = NonEmptyString(),
            ["llm_options"] = LlmOptionsSchema(),
            ["request_body"] = RequestBodyOverrideSchema(),
            ["request_body_force_override"] = new JsonObject
            {
                ["type"] = "boolean",
                ["default"] = false,
            },
        },
    };

    /// <summary><c>provider_conf_schema</c>: project_id and region; which are needed
    /// depends on the provider (see <see cref="ValidateProviderRequirements"/>).</summary>
    public static JsonObject ProviderConfSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["project_id"] = new JsonObject { ["type"] = "string" },
            ["region"] = NonEmptyString(),
        },
    };

    /// <summary><c>ai_instance_schema</c>: the ai-proxy-multi instance list.</summary>
    public static JsonObject AiInstanceSchema() => new()
    {
        ["type"] = "array",
        ["minItems"] = 1,
        ["items"] = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["name"] = new JsonObject
                {
                    ["type"] = "string",
                    ["minLength"] = 1,
                    ["maxLength"] = 100,
                },
                ["provider"] = new JsonObject
                {
                    ["type"] = "string",
                    ["enum"] = ProvidersSchema.Providers(),
                },
                ["priority"] = new JsonObject { ["type"] = "integer", ["default"] = 0 },
                ["weight"] = new JsonObject { ["type"] = "integer", ["minimum"] = 0 },
                ["auth"] = AuthSchema(),
                ["options"] = ModelOptionsSchema(),
                ["override"] = OverrideSchema(),
                ["provider_conf"] = ProviderConfSchema(),
                ["checks"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["active"] = SchemaDef.HealthCheckerActive(),
                    },
                    ["required"] = new JsonArray("active"),
                },
            },
            ["required"] = new JsonArray("name", "provider", "auth", "weight"),
        },
    };

    /// <summary><c>logging_schema</c>: summaries and payloads switches, both off by default.</summary>
    public static JsonObject LoggingSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["summaries"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
            ["payloads"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
        },
    };

    /// <summary><c>_M.ai_proxy_schema</c>.</summary>
    public static JsonObject AiProxySchema()
    {
        var properties = new JsonObject
        {
            ["provider"] = new JsonObject
            {
                ["type"] = "string",
                ["enum"] = ProvidersSchema.Providers(),
            },
            ["provider_conf"] = ProviderConfSchema(),
            ["logging"] = LoggingSchema(),
            ["auth"] = AuthSchema(),
            ["options"] = ModelOptionsSchema(),
        };
        AddTransportProperties(properties);
        properties["override"] = OverrideSchema();

        return new JsonObject
        {
            ["type"] = "object",
            ["properties"] = properties,
            ["required"] = new JsonArray("provider", "auth"),
            ["encrypt_fields"] = new JsonArray(
                "auth.header", "auth.query", "auth.gcp.service_account_json",
                "auth.aws.secret_access_key", "auth.aws.session_token"),
        };
    }

    /// <summary><c>_M.ai_proxy_multi_schema</c>.</summary>
    public static JsonObject AiProxyMultiSchema()
    {
        var properties = new JsonObject
        {
            ["balancer"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["algorithm"] = new JsonObject
                    {
                        ["type"] = "string",
                        ["enum"] = new JsonArray("chash", "roundrobin"),
                    },
                    ["hash_on"] = new JsonObject
                    {
                        ["type"] = "string",
                        ["default"] = "vars",
                        ["enum"] = new JsonArray("vars", "header", "cookie", "consumer", "vars_combinations"),
                    },
                    ["key"] = new JsonObject { ["type"] = "string" },
                },
                ["default"] = new JsonObject { ["algorithm"] = "roundrobin" },
            },
            ["instances"] = AiInstanceSchema(),
            ["logging"] = LoggingSchema(),
            ["fallback_strategy"] = new JsonObject
            {
                ["anyOf"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "string",
                        ["enum"] = new JsonArray("instance_health_and_rate_limiting", "http_429", "http_5xx"),
                    },
                    new JsonObject
                    {
                        ["type"] = "array",
                        ["items"] = new JsonObject
                        {
                            ["type"] = "string",
                            ["enum"] = new JsonArray("rate_limiting", "http_429", "http_5xx"),
                        },
                    }),
            },
            ["max_retries"] = new JsonObject { ["type"] = "integer", ["minimum"] = 0 },
            ["retry_on_failure_within_ms"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1 },
        };
        AddTransportProperties(properties);

        return new JsonObject
        {
            ["type"] = "object",
            ["properties"] = properties,
            ["required"] = new JsonArray("instances"),
            ["encrypt_fields"] = new JsonArray(
                "instances.auth.header", "instances.auth.query",
                "instances.auth.gcp.service_account_json",
                "instances.auth.aws.secret_access_key", "instances.auth.aws.session_token"),
        };
    }

    /// <summary>
    /// <c>_M.validate_provider_requirements(conf)</c>: the per-provider fields
    /// the schema cannot express. Returns (true, null) or (false, message).
    /// </summary>
    public static (bool Ok, string? Error) ValidateProviderRequirements(JsonObject conf)
    {
        JsonScalars.TryGetString(conf["provider"], out string provider);
        bool hasOverride = Truthy(Get(conf, "override", "endpoint"));

        if (provider == "vertex-ai")
        {
            bool hasProviderConf = Truthy(Get(conf, "provider_conf"))
                && Truthy(Get(conf, "provider_conf", "project_id"))
                && Truthy(Get(conf, "provider_conf", "region"));
            if (!hasProviderConf && !hasOverride)
                return (false, "vertex-ai requires either provider_conf (project_id + region) or override.endpoint");
        }

        if (provider == "bedrock")
        {
            if (!Truthy(Get(conf, "provider_conf", "region")))
                return (false, "bedrock requires provider_conf.region");
            if (!Truthy(Get(conf, "auth", "aws")))
                return (false, "bedrock requires auth.aws");
        }

        return (true, null);
    }

    // The timeout/size/keepalive/flush/ssl fields both plugins declare, in
    // the order the Lua file lists them.
    private static void AddTransportProperties(JsonObject properties)
    {
        properties["timeout"] = new JsonObject
        {
            ["type"] = "integer",
            ["minimum"] = 1,
            ["maximum"] = 600000,
            ["default"] = 30000,
        };
        properties["max_req_body_size"] = new JsonObject
        {
            ["type"] = "integer",
            ["minimum"] = 1,
            ["default"] = 67108864,
        };
        properties["max_stream_duration_ms"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1 };
        properties["max_response_bytes"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1 };
        properties["keepalive"] = new JsonObject { ["type"] = "boolean", ["default"] = true };
        properties["keepalive_timeout"] = new JsonObject
        {
            ["type"] = "integer",
            ["minimum"] = 1000,
            ["default"] = 60000,
        };
        properties["keepalive_pool"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1, ["default"] = 30 };
        properties["streaming_flush_interval_ms"] = new JsonObject
        {
            ["type"] = "integer",
            ["minimum"] = 0,
            ["default"] = 10,
        };
        properties["ssl_verify"] = new JsonObject { ["type"] = "boolean", ["default"] = true };
    }

    private static JsonObject NonEmptyString() => new() { ["type"] = "string", ["minLength"] = 1 };

    /// <summary>Walks <c>conf.a.b</c>; null when a step is missing or not an object.</summary>
    private static JsonNode? Get(JsonObject conf, params string[] path)
    {
        JsonNode? node = conf;
        foreach (string key in path)
        {
            if (node is not JsonObject obj || !obj.TryGetPropertyValue(key, out node)) return null;
        }
        return node;
    }

    /// <summary>Lua truthiness of a config value: anything but absent and false.</summary>
    private static bool Truthy(JsonNode? node) =>
        node != null && !(JsonScalars.Kind(node) == JsonValueKind.False);
}
