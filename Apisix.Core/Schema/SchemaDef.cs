using System.Text.Json.Nodes;

namespace Apisix.Core.Schema;

/// <summary>
/// The pieces of APISIX's shared <c>schema_def</c> module that the ported
/// plugins use. Each call builds a fresh tree (a JsonNode can only have one
/// parent, while Lua shares the same table in several schemas).
/// </summary>
public static class SchemaDef
{
    /// <summary><c>host_def</c>: "*", or an optional leading "*" then host characters.</summary>
    public static JsonObject HostDef() => new()
    {
        ["type"] = "string",
        ["pattern"] = @"^\*$|^\*?[0-9a-zA-Z-._\[\]:]+$",
    };

    /// <summary><c>health_checker_active</c>: active health check settings with their defaults.</summary>
    public static JsonObject HealthCheckerActive() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["type"] = new JsonObject
            {
                ["type"] = "string",
                ["enum"] = new JsonArray("http", "https", "tcp"),
                ["default"] = "http",
            },
            ["timeout"] = new JsonObject { ["type"] = "number", ["default"] = 1 },
            ["concurrency"] = new JsonObject { ["type"] = "integer", ["default"] = 10 },
            ["host"] = HostDef(),
            ["port"] = new JsonObject
            {
                ["type"] = "integer",
                ["minimum"] = 1,
                ["maximum"] = 65535,
            },
            ["http_path"] = new JsonObject { ["type"] = "string", ["default"] = "/" },
            ["https_verify_certificate"] = new JsonObject { ["type"] = "boolean", ["default"] = true },
            ["healthy"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["interval"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1, ["default"] = 1 },
                    ["http_statuses"] = StatusList(200, 302),
                    ["successes"] = Counter(2),
                },
            },
            ["unhealthy"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["interval"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1, ["default"] = 1 },
                    ["http_statuses"] = StatusList(429, 404, 500, 501, 502, 503, 504, 505),
                    ["http_failures"] = Counter(5),
                    ["tcp_failures"] = Counter(2),
                    ["timeouts"] = Counter(3),
                },
            },
            ["req_headers"] = new JsonObject
            {
                ["type"] = "array",
                ["minItems"] = 1,
                ["items"] = new JsonObject
                {
                    ["type"] = "string",
                    // Sits on the item schema upstream, where it has no effect.
                    ["uniqueItems"] = true,
                },
            },
        },
    };

    /// <summary>A non-empty list of distinct HTTP status codes with a default.</summary>
    private static JsonObject StatusList(params int[] defaults) => new()
    {
        ["type"] = "array",
        ["minItems"] = 1,
        ["items"] = new JsonObject
        {
            ["type"] = "integer",
            ["minimum"] = 200,
            ["maximum"] = 599,
        },
        ["uniqueItems"] = true,
        ["default"] = new JsonArray(defaults.Select(d => (JsonNode?)d).ToArray()),
    };

    /// <summary>A success/failure counter between 1 and 254.</summary>
    private static JsonObject Counter(int defaultValue) => new()
    {
        ["type"] = "integer",
        ["minimum"] = 1,
        ["maximum"] = 254,
        ["default"] = defaultValue,
    };
}
