// Twin of apisix/plugins/kafka-proxy.lua
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.Schema;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// kafka-proxy (priority 508): carries the SASL credentials a route's Kafka upstream (APISIX's
/// pubsub consumer, <c>scheme: kafka</c>) logs in with. The access phase leaves them on the
/// context as <c>kafka_consumer_enable_sasl</c>, <c>kafka_consumer_sasl_username</c> and
/// <c>kafka_consumer_sasl_password</c> (<see cref="ApiCtx.Items"/>), where the consumer reads
/// them. <c>sasl.password</c> is stored encrypted when data encryption is on.
/// <para>The Kafka pubsub consumer itself is not part of this port.</para>
/// </summary>
public sealed class KafkaProxyPlugin : IPlugin, IAccessPhase
{
    public string Name => "kafka-proxy";
    public int Priority => 508;
    public double Version => 0.1;

    public JsonNode Schema { get; } = new JsonObject
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["sasl"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["username"] = new JsonObject { ["type"] = "string" },
                    ["password"] = new JsonObject { ["type"] = "string" },
                },
                ["required"] = new JsonArray("username", "password"),
            },
        },
        ["encrypt_fields"] = new JsonArray("sasl.password"),
    };

    /// <summary><c>check_schema(conf)</c>: the schema only, whatever the schema type.</summary>
    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) => JsonSchema.Check(Schema, conf);

    public ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx)
    {
        if (conf["sasl"] is JsonObject sasl)
        {
            ctx.Items["kafka_consumer_enable_sasl"] = true;
            ctx.Items["kafka_consumer_sasl_username"] = JsonScalars.TryGetString(sasl["username"], out var u) ? u : null;
            ctx.Items["kafka_consumer_sasl_password"] = JsonScalars.TryGetString(sasl["password"], out var p) ? p : null;
        }
        return ValueTask.FromResult(PhaseResult.Continue);
    }
}
