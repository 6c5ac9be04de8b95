using System.Text.Json;
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>
/// Port of <c>apisix/plugins/ai-protocols/anthropic-messages.lua</c>: detection
/// (<c>matches</c>) and <c>parse_sse_event</c> for now.
/// </summary>
public sealed class AnthropicMessages : IAiProtocol
{
    public static readonly AnthropicMessages Instance = new();

    /// <summary><c>matches</c>: the URI ends with <c>/v1/messages</c> and the body is a table.</summary>
    public bool Matches(JsonNode? body, ProtocolCtx ctx)
    {
        var uri = ctx.Uri;
        return uri != null && uri.EndsWith("/v1/messages", StringComparison.Ordinal)
            && body is JsonObject or JsonArray;
    }

    /// <summary>
    /// <c>parse_sse_event(event, ctx, state)</c>: a native Anthropic SSE event as the
    /// gateway's stream result (<c>{type = "delta" | "usage" | "done" | "skip", ...}</c>).
    /// <paramref name="ev"/> holds <c>type</c> and <c>data</c> as <c>sse.decode</c> gives them.
    /// Throws <see cref="InvalidOperationException"/> where the Lua code would raise an error.
    /// </summary>
    public JsonObject ParseSseEvent(JsonObject ev, ProtocolCtx ctx, JsonNode? state) => ParseSseEventCore(ev, ctx, state);
    JsonObject? IAiProtocol.ParseSseEvent(JsonObject ev, ProtocolCtx ctx, JsonObject state) => ParseSseEventCore(ev, ctx, state);
    private JsonObject ParseSseEventCore(JsonObject ev, ProtocolCtx ctx, JsonNode? state)
    {
        var evType = StringOf(ev["type"]);
        switch (evType)
        {
            case "content_block_delta":
            {
                var (data, err) = DecodeNullAsNil(ev["data"]);
                if (!Truthy(data))
                {
                    Warn(ctx, "failed to decode SSE data: ", err);
                    return Skip();
                }
                var delta = Index(data, "delta");
                if (delta is JsonObject or JsonArray && StringOf(Index(delta, "type")) == "text_delta"
                    && Index(delta, "text") is JsonValue text && text.GetValueKind() == JsonValueKind.String)
                {
                    return new JsonObject { ["type"] = "delta", ["texts"] = new JsonArray(text.DeepClone()) };
                }
                return Skip();
            }

            case "content_block_start":
            {
                var (data, _) = DecodeNullAsNil(ev["data"]);
                if (Truthy(data) && Index(data, "content_block") is JsonObject or JsonArray
                    && StringOf(Index(Index(data, "content_block"), "type")) == "tool_use")
                {
                    return new JsonObject { ["type"] = "skip", ["has_tool_call"] = true };
                }
                return Skip();
            }

            case "message_delta":
            {
                var (data, err) = DecodeNullAsNil(ev["data"]);
                if (!Truthy(data))
                {
                    Warn(ctx, "failed to decode message_delta: ", err);
                    return Skip();
                }
                if (Index(data, "usage") is JsonObject or JsonArray)
                {
                    var usage = Index(data, "usage")!;
                    var input = OrZero(Index(usage, "input_tokens"));
                    var output = OrZero(Index(usage, "output_tokens"));
                    return new JsonObject
                    {
                        ["type"] = "usage",
                        ["usage"] = new JsonObject
                        {
                            ["prompt_tokens"] = input.DeepClone(),
                            ["completion_tokens"] = output.DeepClone(),
                            ["total_tokens"] = Add(input, output),
                        },
                        ["raw_usage"] = usage.DeepClone(),
                    };
                }
                return Skip();
            }

            case "message_stop":
                return new JsonObject { ["type"] = "done" };

            case "message_start":
            {
                var (data, _) = DecodeNullAsNil(ev["data"]);
                if (!Truthy(data)) return Skip();
                var message = Index(data, "message");
                if (message is JsonObject or JsonArray && Index(message, "usage") is JsonObject or JsonArray)
                {
                    var usage = Index(message, "usage")!;
                    var input = OrZero(Index(usage, "input_tokens"));
                    var output = OrZero(Index(usage, "output_tokens"));
                    return new JsonObject
                    {
                        ["type"] = "usage",
                        ["usage"] = new JsonObject
                        {
                            ["prompt_tokens"] = input.DeepClone(),
                            ["completion_tokens"] = output.DeepClone(),
                            ["total_tokens"] = Add(input, output),
                            ["cache_read_input_tokens"] = OrZero(Index(usage, "cache_read_input_tokens")).DeepClone(),
                            ["cache_creation_input_tokens"] = OrZero(Index(usage, "cache_creation_input_tokens")).DeepClone(),
                            ["reasoning_tokens"] = 0L,
                        },
                        ["raw_usage"] = usage.DeepClone(),
                    };
                }
                return Skip();
            }

            case "error":
            {
                var (errData, _) = DecodeNullAsNil(ev["data"]);
                var errType = Or(And(And(errData, () => Index(errData, "error")), () => Index(Index(errData, "error"), "type")), "unknown");
                var errMsg = Or(And(And(errData, () => Index(errData, "error")), () => Index(Index(errData, "error"), "message")), "unknown");
                Warn(ctx, "Anthropic SSE error: type=", errType, ", message=", errMsg);
                return new JsonObject { ["type"] = "done" };
            }
        }

        return Skip();
    }

    // Lua semantics over decoded values ---------------------------------------------------------

    private static JsonObject Skip() => new() { ["type"] = "skip" };

    /// <summary><c>core.json.decode(s, { null_as_nil = true })</c>: JSON nulls dropped from tables, a top-level null is nil.</summary>
    private static (JsonNode? Value, string? Error) DecodeNullAsNil(JsonNode? text)
    {
        if (text is not JsonValue v || (v.GetValueKind() != JsonValueKind.String && v.GetValueKind() != JsonValueKind.Number))
        {
            var got = text == null ? "nil" : text is JsonValue b && b.GetValueKind() is JsonValueKind.True or JsonValueKind.False ? "boolean" : "table";
            return (null, $"bad argument #1 to 'decode' (string expected, got {got})");
        }
        var (value, err) = CJson.Decode(LuaText.ToLuaString(text));
        if (err != null) return (null, err);
        if (value == null) return (null, null);
        StripNulls(value);
        return (value, null);
    }

    private static void StripNulls(JsonNode node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Where(kv => kv.Value == null).Select(kv => kv.Key).ToList()) o.Remove(key);
                foreach (var (_, child) in o) StripNulls(child!);
                break;
            case JsonArray a:
                foreach (var child in a) if (child != null) StripNulls(child);
                break;
        }
    }

    /// <summary><c>t.key</c>: tables give the field, strings index the string library (nil), other values are an error.</summary>
    private static JsonNode? Index(JsonNode? t, string key)
    {
        switch (t)
        {
            case JsonObject o: return o[key];
            case JsonArray: return null;
            case null: throw new InvalidOperationException($"attempt to index field '{key}' (a nil value)");
        }
        return t.GetValueKind() switch
        {
            JsonValueKind.String => null,
            JsonValueKind.Number => throw new InvalidOperationException($"attempt to index a number value (field '{key}')"),
            _ => throw new InvalidOperationException($"attempt to index a boolean value (field '{key}')"),
        };
    }

    private static bool Truthy(JsonNode? n) =>
        n != null && !(n is JsonValue && n.GetValueKind() == JsonValueKind.False);

    private static JsonNode? And(JsonNode? a, Func<JsonNode?> b) => Truthy(a) ? b() : a;

    private static JsonNode Or(JsonNode? a, string b) => Truthy(a) ? a! : JsonValue.Create(b);

    private static JsonNode OrZero(JsonNode? a) => Truthy(a) ? a! : JsonValue.Create(0L);

    private static string? StringOf(JsonNode? n) =>
        n is JsonValue v && v.GetValueKind() == JsonValueKind.String && JsonScalars.TryGetString(v, out var s) ? s : null;

    /// <summary>Lua's <c>a + b</c>: numbers, or strings that convert to numbers.</summary>
    private static JsonNode Add(JsonNode a, JsonNode b) => CJson.NumberNode(Arith(a) + Arith(b));

    private static double Arith(JsonNode n)
    {
        if (JsonScalars.TryGetNumber(n, out var d)) return d;
        if (JsonScalars.TryGetString(n, out var s) && LuaText.ToNumber(s) is double p) return p;
        var what = n is JsonObject or JsonArray ? "table" : n.GetValueKind() == JsonValueKind.String ? "string" : "boolean";
        throw new InvalidOperationException($"attempt to perform arithmetic on a {what} value");
    }

    /// <summary><c>core.log.warn(...)</c>: the parts joined as ngx.log joins them.</summary>
    private static void Warn(ProtocolCtx ctx, params object?[] parts)
    {
        if (ctx.Log == null) return;
        var sb = new System.Text.StringBuilder();
        foreach (var p in parts)
        {
            sb.Append(p switch
            {
                null => "nil",
                string s => s,
                JsonNode n => LuaText.ToLuaString(n),
                _ => p.ToString(),
            });
        }
        ctx.Log(LogLevel.Warn, sb.ToString());
    }
}
