// Twin of apisix/plugins/grpc-transcode.lua
using System.Text.Json.Nodes;
using Apisix.Core.Admin;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.Schema;
using Apisix.Core.OpenResty;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// grpc-transcode (priority 506): turns an HTTP/JSON request into a call of <c>method</c> on the
/// gRPC <c>service</c> described by the proto <c>proto_id</c> (the protos admin resource), and
/// the gRPC answer back into JSON.
/// <para>Ported: the module's fields, its schema (with the <c>pb_option</c> choices and
/// defaults) and <c>check_schema</c>, so routes and services can carry it and the protos
/// resource sees which protos are in use. Not ported: the transcoding itself (lua-protobuf
/// encoding, the gRPC upstream over HTTP/2, <c>header_filter</c> and <c>body_filter</c>). A request
/// reaching the access phase does not go through silently: when the proto is missing it logs
/// <c>proto load error</c> and lets the request go on, as upstream; otherwise it logs
/// <c>transform request error</c> saying transcoding is not ported and answers 503.</para>
/// </summary>
public sealed class GrpcTranscodePlugin : IPlugin, IAccessPhase
{
    public string Name => "grpc-transcode";
    public int Priority => 506;
    public double Version => 0.1;

    private static JsonObject StrEnum(string description, params string[] values) => new()
    {
        ["description"] = description,
        ["type"] = "string",
        ["enum"] = new JsonArray(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()),
    };

    /// <summary><c>pb_option_def</c>: each option is one of lua-protobuf's switches.</summary>
    private static JsonArray PbOptionDef() => new(
        StrEnum("enum as result", "enum_as_name", "enum_as_value"),
        StrEnum("int64 as result", "int64_as_number", "int64_as_string", "int64_as_hexstring"),
        StrEnum("default values option",
            "auto_default_values", "no_default_values", "use_default_values", "use_default_metatable"),
        StrEnum("hooks option", "enable_hooks", "disable_hooks"));

    public JsonNode Schema { get; } = new JsonObject
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["proto_id"] = SchemaDefs.IdSchema(),
            ["service"] = new JsonObject { ["description"] = "the grpc service name", ["type"] = "string" },
            ["method"] = new JsonObject { ["description"] = "the method name in the grpc service.", ["type"] = "string" },
            ["deadline"] = new JsonObject
            {
                ["description"] = "deadline for grpc, millisecond", ["type"] = "number", ["default"] = 0,
            },
            ["pb_option"] = new JsonObject
            {
                ["type"] = "array",
                ["items"] = new JsonObject { ["type"] = "string", ["anyOf"] = PbOptionDef() },
                ["minItems"] = 1,
                ["default"] = new JsonArray("enum_as_name", "int64_as_number", "auto_default_values", "disable_hooks"),
            },
            ["show_status_in_body"] = new JsonObject
            {
                ["description"] = "show decoded grpc-status-details-bin in response body",
                ["type"] = "boolean",
                ["default"] = false,
            },
            ["status_detail_type"] = new JsonObject
            {
                ["description"] = "the message type of the grpc-status-details-bin's details part, "
                                  + "if not given, the details part will not be decoded",
                ["type"] = "string",
            },
        },
        ["additionalProperties"] = true,
        ["required"] = new JsonArray("proto_id", "service", "method"),
    };

    /// <summary><c>check_schema(conf)</c>: the schema only, whatever the schema type.</summary>
    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) => JsonSchema.Check(Schema, conf);

    public ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx)
    {
        ctx.Log(LogLevel.Info, "conf: " + CJson.Encode(conf));
        if (conf["proto_id"] is not JsonNode protoId)
        {
            ctx.Log(LogLevel.Error, "proto id miss: nil");
            return ValueTask.FromResult(PhaseResult.Continue);
        }
        var id = LuaText.ToLuaString(protoId);
        var prefix = ctx.Config?.EtcdPrefix ?? Store.ConfigStore.DefaultPrefix;
        if (ctx.Store?.Get(prefix + "/protos/" + id)?.Value is not JsonObject)
        {
            ctx.Log(LogLevel.Error, "proto load error: failed to find proto by id: " + id);
            return ValueTask.FromResult(PhaseResult.Continue);
        }
        ctx.Log(LogLevel.Error, "transform request error: transcoding HTTP to gRPC is not ported "
                                + "(grpc-transcode checks its configuration only in this port)");
        return ValueTask.FromResult<PhaseResult>(503);
    }
}
