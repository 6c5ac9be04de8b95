using System.Collections.Concurrent;

namespace Apisix.Core.Prometheus;

/// <summary>
/// The part of <c>apisix/plugins/prometheus/exporter.lua</c> the AI plugins call: the
/// <c>llm_active_connections</c> gauge, labelled by route, service, consumer and the picked
/// node. Only the gauge values are kept; rendering the metrics page is not ported.
/// </summary>
public static class Exporter
{
    private static readonly ConcurrentDictionary<string, long> ActiveConnections = new(StringComparer.Ordinal);

    private static string Labels(ApiCtx ctx) =>
        string.Join('\u0001', ctx.RouteName ?? "", ctx.RouteId ?? "", ctx.ServiceName ?? "", ctx.ServiceId ?? "",
            ctx.ConsumerName ?? "", ctx.BalancerIp ?? "");

    /// <summary><c>inc_llm_active_connections(ctx)</c>.</summary>
    public static void IncLlmActiveConnections(ApiCtx ctx) => ActiveConnections.AddOrUpdate(Labels(ctx), 1, (_, v) => v + 1);

    /// <summary><c>dec_llm_active_connections(ctx)</c>.</summary>
    public static void DecLlmActiveConnections(ApiCtx ctx) => ActiveConnections.AddOrUpdate(Labels(ctx), -1, (_, v) => v - 1);

    /// <summary>The gauge's value for the labels of this ctx.</summary>
    public static long LlmActiveConnections(ApiCtx ctx) => ActiveConnections.GetValueOrDefault(Labels(ctx));
}
