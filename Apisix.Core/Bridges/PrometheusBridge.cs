using Apisix.Core.OpenResty;
using Apisix.Core.Plugins.Builtin.Prometheus;

namespace Apisix.Core.Bridges;

/// <summary>
/// What Lua code (the batch processor) reaches of the prometheus exporter through
/// <c>__bridge("apisix.bridge.prometheus")</c>.
/// </summary>
public sealed class PrometheusBridge(LuaWorker worker)
{
    public const string Name = "apisix.bridge.prometheus";

    /// <summary>batch-processor's <c>set_metrics</c>: the entries waiting in one logger's buffer.</summary>
    public void SetBatchEntries(string name, string routeId, string serverAddr, double count) =>
        Exporter.SetBatchEntries(worker.Nginx, name, routeId, serverAddr, count);
}
