// Twin of apisix/consumer_group.lua
using System.Text.Json.Nodes;
using Apisix.Core.Store;

namespace Apisix.Core.Plugins;

/// <summary><c>apisix/consumer_group.lua</c>: the consumer groups under <c>/apisix/consumer_groups/</c>.</summary>
public static class ConsumerGroup
{
    /// <summary><c>consumer_group.get(id)</c>.</summary>
    public static StoreEntry? Get(ConfigStore store, string id, Func<StoreEntry, bool>? refused = null) =>
        store.Get(ConfigStore.DefaultPrefix + "/consumer_groups/" + id) is { Value: JsonObject } e && (refused == null || !refused(e)) ? e : null;
}
