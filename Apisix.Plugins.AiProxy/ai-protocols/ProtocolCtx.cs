using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;

namespace Apisix.Plugins.AiProxy.AiProtocols;

/// <summary>
/// The request context as the AI modules (protocols, converters, provider capabilities) see
/// it: <c>ctx.var</c> reads and writes, <c>core.log</c>, and the free fields these modules keep
/// on the ctx between calls (<c>anthropic_tool_name_map</c>...). In the gateway it stands for
/// one request's <c>api_ctx</c> (<see cref="AiCtx.For"/>); a Lua bridge builds one from the
/// table a test passes.
/// </summary>
public sealed class ProtocolCtx
{
    /// <summary><c>ctx.var[name]</c> in string form; null when the ctx has no var table or the variable is unset.</summary>
    public Func<string, string?>? Var { get; init; }

    /// <summary><c>ctx.var[name] = value</c>; null drops the write.</summary>
    public Action<string, object?>? SetVar { get; init; }

    /// <summary>A sink for <c>core.log</c> messages (null drops them).</summary>
    public Action<LogLevel, string>? Log { get; init; }

    /// <summary>Free ctx fields, by their Lua name.</summary>
    public JsonObject Fields { get; init; } = new();

    /// <summary><c>ctx.var and ctx.var.uri</c>.</summary>
    public string? Uri => Var?.Invoke("uri");
}
