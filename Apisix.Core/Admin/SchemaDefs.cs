using System.Text.Json.Nodes;
using CoreSchemaDef = Apisix.Core.Schema.SchemaDef;

namespace Apisix.Core.Admin;

/// <summary>
/// The resource schemas of <c>apisix/schema_def.lua</c> that the admin API
/// checks: route, service, upstream, consumer and the pieces they share.
/// Builders return fresh trees (a JsonNode has one parent, where Lua shares
/// tables); the <c>Route</c>/<c>Service</c>/... properties hold one cached
/// instance each, which is what the admin API validates against.
/// Descriptions are left out: they play no part in validation.
/// </summary>
public static class SchemaDefs
{
    private static JsonArray Arr(params JsonNode?[] items) => new(items);

    private static JsonObject Required(params string[] names) =>
        new() { ["required"] = new JsonArray(names.Select(n => (JsonNode?)n).ToArray()) };

    /// <summary><c>id_schema</c>: a 1..64 char name of letters, digits and <c>-_.</c>, or an integer ≥ 1.</summary>
    public static JsonObject IdSchema() => new()
    {
        ["anyOf"] = Arr(
            new JsonObject
            {
                ["type"] = "string",
                ["minLength"] = 1,
                ["maxLength"] = 64,
                ["pattern"] = "^[a-zA-Z0-9-_.]+$",
            },
            new JsonObject { ["type"] = "integer", ["minimum"] = 1 }),
    };

    /// <summary><c>host_def</c>.</summary>
    public static JsonObject HostDef() => CoreSchemaDef.HostDef();

    private const string Ipv4Seg = "([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])";
    private static readonly string Ipv4Def = string.Join(@"\.", Enumerable.Repeat(Ipv4Seg, 4));
    private const string Ipv6Def = "([a-fA-F0-9]{0,4}:){1,8}(:[a-fA-F0-9]{0,4}){0,8}([a-fA-F0-9]{0,4})?";

    /// <summary><c>ip_def</c>: IPv4, IPv4/CIDR, IPv6, IPv6/CIDR alternatives.</summary>
    public static JsonArray IpDef() => Arr(
        new JsonObject { ["title"] = "IPv4", ["type"] = "string", ["format"] = "ipv4" },
        new JsonObject
        {
            ["title"] = "IPv4/CIDR",
            ["type"] = "string",
            ["pattern"] = "^" + Ipv4Def + "/([12]?[0-9]|3[0-2])$",
        },
        new JsonObject { ["title"] = "IPv6", ["type"] = "string", ["format"] = "ipv6" },
        new JsonObject
        {
            ["title"] = "IPv6/CIDR",
            ["type"] = "string",
            ["pattern"] = "^" + Ipv6Def + "/[0-9]{1,3}$",
        });

    /// <summary><c>uri_def</c>: scheme://host[:port].</summary>
    public static JsonObject UriDef() => new()
    {
        ["type"] = "string",
        ["pattern"] = @"^[^\/]+:\/\/([\da-zA-Z.-]+|\[[\da-fA-F:]+\])(:\d+)?",
    };

    internal static JsonObject TimestampDef() => new() { ["type"] = "integer" };

    private static JsonObject RemoteAddrDef() => new() { ["type"] = "string", ["anyOf"] = IpDef() };

    /// <summary><c>label_value_def</c>.</summary>
    public static JsonObject LabelValueDef() => new()
    {
        ["type"] = "string",
        ["pattern"] = @"^\S+$",
        ["maxLength"] = 256,
        ["minLength"] = 1,
    };

    internal static JsonObject LabelsDef() => new()
    {
        ["type"] = "object",
        ["patternProperties"] = new JsonObject { [".*"] = LabelValueDef() },
    };

    internal static JsonObject RuleNameDef() => new() { ["type"] = "string", ["maxLength"] = 256, ["minLength"] = 1 };

    internal static JsonObject DescDef() => new() { ["type"] = "string", ["maxLength"] = 256 };

    private static JsonObject TimeoutDef() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["connect"] = new JsonObject { ["type"] = "number", ["exclusiveMinimum"] = 0 },
            ["send"] = new JsonObject { ["type"] = "number", ["exclusiveMinimum"] = 0 },
            ["read"] = new JsonObject { ["type"] = "number", ["exclusiveMinimum"] = 0 },
        },
        ["required"] = Arr("connect", "send", "read"),
    };

    private static JsonObject StatusList(params int[] defaults) => new()
    {
        ["type"] = "array",
        ["minItems"] = 1,
        ["items"] = new JsonObject { ["type"] = "integer", ["minimum"] = 200, ["maximum"] = 599 },
        ["uniqueItems"] = true,
        ["default"] = new JsonArray(defaults.Select(d => (JsonNode?)d).ToArray()),
    };

    private static JsonObject Counter(int minimum, int defaultValue) => new()
    {
        ["type"] = "integer",
        ["minimum"] = minimum,
        ["maximum"] = 254,
        ["default"] = defaultValue,
    };

    /// <summary><c>health_checker_active</c>.</summary>
    public static JsonObject HealthCheckerActive() => CoreSchemaDef.HealthCheckerActive();

    /// <summary><c>health_checker_passive</c>.</summary>
    public static JsonObject HealthCheckerPassive() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["type"] = new JsonObject
            {
                ["type"] = "string",
                ["enum"] = Arr("http", "https", "tcp"),
                ["default"] = "http",
            },
            ["healthy"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["http_statuses"] = StatusList(200, 201, 202, 203, 204, 205, 206, 207,
                        208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308),
                    ["successes"] = Counter(0, 5),
                },
            },
            ["unhealthy"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["http_statuses"] = StatusList(429, 500, 503),
                    ["tcp_failures"] = Counter(0, 2),
                    ["timeouts"] = Counter(0, 7),
                    ["http_failures"] = Counter(0, 5),
                },
            },
        },
    };

    /// <summary><c>health_checker</c>: active, optionally with passive.</summary>
    public static JsonObject HealthChecker() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["active"] = HealthCheckerActive(),
            ["passive"] = HealthCheckerPassive(),
        },
        ["anyOf"] = Arr(Required("active"), Required("active", "passive")),
    };

    /// <summary><c>nodes_schema</c>: "host:port" → weight, or a list of node objects.</summary>
    public static JsonObject NodesSchema() => new()
    {
        ["anyOf"] = Arr(
            new JsonObject
            {
                ["type"] = "object",
                ["patternProperties"] = new JsonObject
                {
                    [".*"] = new JsonObject { ["type"] = "integer", ["minimum"] = 0 },
                },
            },
            new JsonObject
            {
                ["type"] = "array",
                ["items"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject
                    {
                        ["host"] = HostDef(),
                        ["port"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1, ["maximum"] = 65535 },
                        ["weight"] = new JsonObject { ["type"] = "integer", ["minimum"] = 0 },
                        ["priority"] = new JsonObject { ["type"] = "integer", ["default"] = 0 },
                        ["metadata"] = new JsonObject { ["type"] = "object" },
                    },
                    ["required"] = Arr("host", "weight"),
                },
            }),
    };

    private static JsonObject CertificateScheme() => new()
    {
        ["type"] = "string",
        ["minLength"] = 128,
        ["maxLength"] = 64 * 1024,
    };

    private static JsonObject PrivateKeySchema() => new()
    {
        ["type"] = "string",
        ["minLength"] = 64,
        ["maxLength"] = 64 * 1024,
    };

    /// <summary><c>upstream_schema</c>.</summary>
    public static JsonObject UpstreamSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["id"] = IdSchema(),
            ["name"] = RuleNameDef(),
            ["desc"] = DescDef(),
            ["labels"] = LabelsDef(),
            ["create_time"] = TimestampDef(),
            ["update_time"] = TimestampDef(),

            ["nodes"] = NodesSchema(),
            ["retries"] = new JsonObject { ["type"] = "integer", ["minimum"] = 0 },
            ["retry_timeout"] = new JsonObject { ["type"] = "number", ["minimum"] = 0 },
            ["timeout"] = TimeoutDef(),
            ["tls"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["client_cert_id"] = IdSchema(),
                    ["client_cert"] = CertificateScheme(),
                    ["client_key"] = PrivateKeySchema(),
                    ["verify"] = new JsonObject { ["type"] = "boolean", ["default"] = false },
                },
                ["dependencies"] = new JsonObject
                {
                    ["client_cert"] = Required("client_key"),
                    ["client_key"] = Required("client_cert"),
                    ["client_cert_id"] = new JsonObject { ["not"] = Required("client_cert", "client_key") },
                },
            },
            ["keepalive_pool"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["size"] = new JsonObject { ["type"] = "integer", ["default"] = 320, ["minimum"] = 1 },
                    ["idle_timeout"] = new JsonObject { ["type"] = "number", ["default"] = 60, ["minimum"] = 0 },
                    ["requests"] = new JsonObject { ["type"] = "integer", ["default"] = 1000, ["minimum"] = 1 },
                },
            },
            ["type"] = new JsonObject { ["type"] = "string", ["default"] = "roundrobin" },
            ["checks"] = HealthChecker(),
            ["hash_on"] = new JsonObject
            {
                ["type"] = "string",
                ["default"] = "vars",
                ["enum"] = Arr("vars", "header", "cookie", "consumer", "vars_combinations"),
            },
            ["key"] = new JsonObject { ["type"] = "string" },
            ["scheme"] = new JsonObject
            {
                ["default"] = "http",
                ["enum"] = Arr("grpc", "grpcs", "http", "https", "tcp", "tls", "udp", "kafka"),
            },
            ["discovery_type"] = new JsonObject { ["type"] = "string" },
            ["discovery_args"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["namespace_id"] = new JsonObject { ["type"] = "string" },
                    ["group_name"] = new JsonObject { ["type"] = "string" },
                },
            },
            ["pass_host"] = new JsonObject
            {
                ["type"] = "string",
                ["enum"] = Arr("pass", "node", "rewrite"),
                ["default"] = "pass",
            },
            ["upstream_host"] = HostDef(),
            ["service_name"] = new JsonObject { ["type"] = "string", ["maxLength"] = 256, ["minLength"] = 1 },
        },
        ["oneOf"] = Arr(Required("nodes"), Required("service_name", "discovery_type")),
        ["additionalProperties"] = false,
    };

    /// <summary><c>upstream_hash_vars_schema</c>: the nginx variables a chash key may name.</summary>
    public static JsonObject UpstreamHashVarsSchema() => new()
    {
        ["type"] = "string",
        ["pattern"] = "^((uri|server_name|server_addr|request_uri|remote_port"
                      + "|remote_addr|query_string|host|hostname|mqtt_client_id)"
                      + "|arg_[0-9a-zA-z_-]+)$",
    };

    /// <summary><c>upstream_hash_header_schema</c>: a header or cookie name.</summary>
    public static JsonObject UpstreamHashHeaderSchema() => new()
    {
        ["type"] = "string",
        ["pattern"] = "^[a-zA-Z0-9-_]+$",
    };

    /// <summary><c>upstream_hash_vars_combinations_schema</c>.</summary>
    public static JsonObject UpstreamHashVarsCombinationsSchema() => new() { ["type"] = "string" };

    /// <summary><c>method_schema</c>.</summary>
    public static JsonObject MethodSchema() => new()
    {
        ["type"] = "string",
        ["enum"] = Arr("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "PURGE"),
    };

    private static JsonObject PluginsSchema() => new() { ["type"] = "object" };

    private static JsonObject ScriptDef() => new() { ["type"] = "string", ["minLength"] = 10, ["maxLength"] = 102400 };

    /// <summary><c>_M.route</c>.</summary>
    public static JsonObject RouteSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["id"] = IdSchema(),
            ["name"] = RuleNameDef(),
            ["desc"] = DescDef(),
            ["labels"] = LabelsDef(),
            ["create_time"] = TimestampDef(),
            ["update_time"] = TimestampDef(),

            ["uri"] = new JsonObject { ["type"] = "string", ["minLength"] = 1, ["maxLength"] = 4096 },
            ["uris"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = new JsonObject { ["type"] = "string" },
                ["minItems"] = 1,
                ["uniqueItems"] = true,
            },
            ["priority"] = new JsonObject { ["type"] = "integer", ["default"] = 0 },
            ["methods"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = MethodSchema(),
                ["uniqueItems"] = true,
            },
            ["host"] = HostDef(),
            ["hosts"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = HostDef(),
                ["minItems"] = 1,
                ["uniqueItems"] = true,
            },
            ["remote_addr"] = RemoteAddrDef(),
            ["remote_addrs"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = RemoteAddrDef(),
                ["minItems"] = 1,
                ["uniqueItems"] = true,
            },
            ["timeout"] = TimeoutDef(),
            ["vars"] = new JsonObject { ["type"] = "array" },
            ["filter_func"] = new JsonObject
            {
                ["type"] = "string",
                ["minLength"] = 10,
                ["pattern"] = "^function",
            },
            ["script"] = ScriptDef(),
            ["script_id"] = IdSchema(),
            ["plugins"] = PluginsSchema(),
            ["plugin_config_id"] = IdSchema(),
            ["upstream"] = UpstreamSchema(),
            ["service_id"] = IdSchema(),
            ["upstream_id"] = IdSchema(),
            ["enable_websocket"] = new JsonObject { ["type"] = "boolean" },
            ["status"] = new JsonObject
            {
                ["type"] = "integer",
                ["enum"] = Arr(1, 0),
                ["default"] = 1,
            },
        },
        ["allOf"] = Arr(
            new JsonObject { ["oneOf"] = Arr(Required("uri"), Required("uris")) },
            new JsonObject
            {
                ["oneOf"] = Arr(
                    new JsonObject { ["not"] = new JsonObject { ["anyOf"] = Arr(Required("host"), Required("hosts")) } },
                    Required("host"),
                    Required("hosts")),
            },
            new JsonObject
            {
                ["oneOf"] = Arr(
                    new JsonObject
                    {
                        ["not"] = new JsonObject { ["anyOf"] = Arr(Required("remote_addr"), Required("remote_addrs")) },
                    },
                    Required("remote_addr"),
                    Required("remote_addrs")),
            }),
        ["anyOf"] = Arr(
            Required("plugins", "uri"),
            Required("upstream", "uri"),
            Required("upstream_id", "uri"),
            Required("service_id", "uri"),
            Required("plugins", "uris"),
            Required("upstream", "uris"),
            Required("upstream_id", "uris"),
            Required("service_id", "uris"),
            Required("script", "uri"),
            Required("script", "uris")),
        ["not"] = new JsonObject
        {
            ["anyOf"] = Arr(Required("script", "plugins"), Required("script", "plugin_config_id")),
        },
        ["additionalProperties"] = false,
    };

    /// <summary><c>_M.service</c>.</summary>
    public static JsonObject ServiceSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["id"] = IdSchema(),
            ["name"] = RuleNameDef(),
            ["desc"] = DescDef(),
            ["labels"] = LabelsDef(),
            ["create_time"] = TimestampDef(),
            ["update_time"] = TimestampDef(),

            ["plugins"] = PluginsSchema(),
            ["upstream"] = UpstreamSchema(),
            ["upstream_id"] = IdSchema(),
            ["script"] = ScriptDef(),
            ["enable_websocket"] = new JsonObject { ["type"] = "boolean" },
            ["hosts"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = HostDef(),
                ["minItems"] = 1,
                ["uniqueItems"] = true,
            },
        },
        ["additionalProperties"] = false,
    };

    /// <summary><c>_M.consumer</c>.</summary>
    public static JsonObject ConsumerSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["id"] = IdSchema(),
            ["username"] = new JsonObject
            {
                ["type"] = "string",
                ["minLength"] = 1,
                ["maxLength"] = 256,
                ["pattern"] = @"^[a-zA-Z0-9_\-]+$",
            },
            ["desc"] = DescDef(),
            ["labels"] = LabelsDef(),
            ["create_time"] = TimestampDef(),
            ["update_time"] = TimestampDef(),

            ["group_id"] = IdSchema(),
            ["plugins"] = PluginsSchema(),
        },
        ["required"] = Arr("username"),
        ["additionalProperties"] = false,
    };

    /// <summary><c>xrpc_protocol_schema</c>: a stream route's xRPC protocol.</summary>
    private static JsonObject XrpcProtocolSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["name"] = new JsonObject { ["type"] = "string" },
            ["superior_id"] = IdSchema(),
            ["conf"] = new JsonObject { ["description"] = "protocol-specific configuration", ["type"] = "object" },
            ["logger"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = new JsonObject
                {
                    ["properties"] = new JsonObject
                    {
                        ["name"] = new JsonObject { ["type"] = "string" },
                        ["filter"] = new JsonObject { ["description"] = "logger filter rules", ["type"] = "array" },
                        ["conf"] = new JsonObject { ["description"] = "logger plugin configuration", ["type"] = "object" },
                    },
                    ["dependencies"] = new JsonObject { ["name"] = Arr("conf") },
                    ["additionalProperties"] = false,
                },
            },
        },
        ["required"] = Arr("name"),
    };

    /// <summary><c>_M.stream_route</c>.</summary>
    public static JsonObject StreamRouteSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["id"] = IdSchema(),
            ["name"] = RuleNameDef(),
            ["desc"] = DescDef(),
            ["labels"] = LabelsDef(),
            ["create_time"] = TimestampDef(),
            ["update_time"] = TimestampDef(),
            ["remote_addr"] = RemoteAddrDef(),
            ["server_addr"] = new JsonObject { ["description"] = "server IP", ["type"] = "string", ["anyOf"] = IpDef() },
            ["server_port"] = new JsonObject
            {
                ["description"] = "server port", ["type"] = "integer", ["minimum"] = 1, ["maximum"] = 65535,
            },
            ["sni"] = new JsonObject
            {
                ["description"] = "server name indication", ["type"] = "string",
                ["pattern"] = @"^\*$|^\*?[0-9a-zA-Z-._\[\]:]+$",
            },
            ["upstream"] = UpstreamSchema(),
            ["upstream_id"] = IdSchema(),
            ["service_id"] = IdSchema(),
            ["plugins"] = PluginsSchema(),
            ["protocol"] = XrpcProtocolSchema(),
        },
        ["additionalProperties"] = false,
    };

    /// <summary>The cached stream route schema.</summary>
    public static JsonObject StreamRoute { get; } = StreamRouteSchema();

    /// <summary><c>_M.global_rule</c>.</summary>
    public static JsonObject GlobalRuleSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["id"] = IdSchema(),
            ["create_time"] = TimestampDef(),
            ["update_time"] = TimestampDef(),
            ["plugins"] = PluginsSchema(),
        },
        ["required"] = Arr("id", "plugins"),
        ["additionalProperties"] = false,
    };

    /// <summary><c>_M.plugin_config</c>.</summary>
    public static JsonObject PluginConfigSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["id"] = IdSchema(),
            ["name"] = new JsonObject { ["type"] = "string" },
            ["desc"] = DescDef(),
            ["labels"] = LabelsDef(),
            ["create_time"] = TimestampDef(),
            ["update_time"] = TimestampDef(),
            ["plugins"] = PluginsSchema(),
        },
        ["required"] = Arr("id", "plugins"),
        ["additionalProperties"] = false,
    };

    /// <summary><c>_M.consumer_group</c>.</summary>
    public static JsonObject ConsumerGroupSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["id"] = IdSchema(),
            ["name"] = RuleNameDef(),
            ["desc"] = DescDef(),
            ["labels"] = LabelsDef(),
            ["create_time"] = TimestampDef(),
            ["update_time"] = TimestampDef(),
            ["plugins"] = PluginsSchema(),
        },
        ["required"] = Arr("id", "plugins"),
        ["additionalProperties"] = false,
    };

    /// <summary>The cached route schema the admin API checks with.</summary>
    public static JsonObject Route { get; } = RouteSchema();

    /// <summary>The cached service schema.</summary>
    public static JsonObject Service { get; } = ServiceSchema();

    /// <summary>The cached upstream schema.</summary>
    public static JsonObject Upstream { get; } = UpstreamSchema();

    /// <summary>The cached consumer schema.</summary>
    public static JsonObject Consumer { get; } = ConsumerSchema();

    /// <summary>The cached global rule schema.</summary>
    public static JsonObject GlobalRule { get; } = GlobalRuleSchema();

    /// <summary>The cached plugin config schema.</summary>
    public static JsonObject PluginConfig { get; } = PluginConfigSchema();

    /// <summary>The cached consumer group schema.</summary>
    public static JsonObject ConsumerGroup { get; } = ConsumerGroupSchema();

    internal static JsonObject HashVars { get; } = UpstreamHashVarsSchema();
    internal static JsonObject HashHeader { get; } = UpstreamHashHeaderSchema();
    internal static JsonObject HashVarsCombinations { get; } = UpstreamHashVarsCombinationsSchema();
}
