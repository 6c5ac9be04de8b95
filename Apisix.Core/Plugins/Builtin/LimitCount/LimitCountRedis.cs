// Twin of apisix/plugins/limit-count/limit-count-redis.lua
using System.Text.Json.Nodes;

namespace Apisix.Core.Plugins.Builtin.LimitCountImpl;

/// <summary>
/// The <c>redis</c> policy: the fixed-window counter lives in one Redis (<c>redis_host</c>,
/// <c>redis_port</c>, <c>redis_database</c>, credentials), so every APISIX node shares it. Each
/// request opens a connection (there is no keepalive pool here) and runs the counting script.
/// Not ported: <c>window_type: sliding</c> and delayed sync (<c>sync_interval</c>), which count
/// directly in Redis instead.
/// </summary>
public sealed class LimitCountRedis(string pluginName, long limit, long window, JsonObject conf, string keyVersion)
{
    public long Limit { get; } = limit;
    public long Window { get; } = window;

    /// <summary><c>incoming(key, cost)</c>.</summary>
    public async Task<(double? Delay, object Remaining, double Reset)> Incoming(ApiCtx ctx, string key, long cost)
    {
        var (red, err) = await LimitCountUtil.RedisCli(ctx, conf);
        if (red == null) return (null, err ?? "failed to connect to redis", 0);
        await using (red)
            return await LimitCountUtil.RedisIncoming(ctx, red, pluginName, keyVersion, key, Limit, Window, cost);
    }
}
