// Twin of the watch half of apisix/core/config_etcd.lua (full read, then watch from the next revision)
using System.Text.Json.Nodes;
using Apisix.Core.OpenResty;
using Apisix.Core.Store;
using Etcdserverpb;
using Grpc.Core;

namespace Apisix.Gateway.Etcd;

/// <summary>
/// The data plane's copy of etcd: one full read of the prefix at start, then a watch from the
/// revision after it, each event applied to the local <see cref="ConfigStore"/> the router and
/// the proxy read. When etcd compacted the revision the watch asked for, or the connection is
/// lost, the copy is read whole again (keys gone from etcd are dropped, changed ones replaced)
/// and the watch restarts after it. While etcd is away the node keeps serving what it has.
/// </summary>
public sealed class EtcdConfigSource(ConfigStore mirror, EtcdV3Store etcd, string prefix) : ConfigSource
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <summary>The etcd revision the copy is at.</summary>
    public long Revision { get; private set; }

    /// <summary>How long to wait before trying again after etcd failed.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Times the copy was read whole (the first read included).</summary>
    public int FullReads { get; private set; }

    public override async Task StartAsync()
    {
        try { await FullReadAsync(_stop.Token); }
        catch (Exception e) when (e is RpcException or StoreUnavailableException)
        {
            // as `apisix start` (init_etcd) when no endpoint answers
            throw new GatewayStartException($"all etcd nodes are unavailable ({etcd.Endpoint})");
        }
        _loop = Task.Run(RunAsync);
    }

    private string PrefixDir => prefix.TrimEnd('/') + "/";

    private async Task FullReadAsync(CancellationToken ct)
    {
        var res = await etcd.Kv.RangeAsync(new RangeRequest
        {
            Key = EtcdV3Store.Bytes(PrefixDir),
            RangeEnd = EtcdV3Store.Bytes(ConfigStore.PrefixEnd(PrefixDir)),
        }, deadline: DateTime.UtcNow + etcd.Timeout, cancellationToken: ct);
        var remote = res.Kvs.Select(EtcdV3Store.Entry).ToDictionary(e => e.Key, StringComparer.Ordinal);
        foreach (var local in mirror.List(PrefixDir))
            if (!remote.ContainsKey(local.Key)) mirror.Delete(local.Key);
        foreach (var e in remote.Values) Apply(e);
        Revision = res.Header.Revision;
        FullReads++;
    }

    /// <summary>A put from etcd into the copy, unless the copy already holds that value.</summary>
    private void Apply(StoreEntry e)
    {
        var have = mirror.Get(e.Key);
        if (e.Raw != null)
        {
            if (have?.Raw != e.Raw) mirror.PutRaw(e.Key, e.Raw);
            return;
        }
        if (have != null && have.Raw == null && JsonNode.DeepEquals(have.Value, e.Value)) return;
        mirror.Put(e.Key, e.Value);
    }

    private async Task RunAsync()
    {
        var ct = _stop.Token;
        var needFullRead = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (needFullRead)
                {
                    await FullReadAsync(ct);
                    Log(LogLevel.Warn, $"etcd resynced, revision={Revision}");
                    needFullRead = false;
                }
                await WatchAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { return; }
            catch (CompactedException e)
            {
                Log(LogLevel.Error, $"etcd compacted, compact_revision={e.CompactRevision}");
                needFullRead = true;
            }
            catch (Exception e) when (e is RpcException or IOException or HttpRequestException or InvalidOperationException)
            {
                Log(LogLevel.Error, "watchdir err: " + (e is RpcException r ? r.Status.Detail : e.Message));
                needFullRead = true;
                try { await Task.Delay(RetryDelay, ct); } catch (OperationCanceledException) { return; }
            }
        }
    }

    private sealed class CompactedException(long revision) : Exception("compacted")
    {
        public long CompactRevision { get; } = revision;
    }

    private async Task WatchAsync(CancellationToken ct)
    {
        using var call = etcd.Watch.Watch(cancellationToken: ct);
        await call.RequestStream.WriteAsync(new WatchRequest
        {
            CreateRequest = new WatchCreateRequest
            {
                Key = EtcdV3Store.Bytes(PrefixDir),
                RangeEnd = EtcdV3Store.Bytes(ConfigStore.PrefixEnd(PrefixDir)),
                StartRevision = Revision + 1,
                ProgressNotify = true,
            },
        }, ct);
        while (await call.ResponseStream.MoveNext(ct))
        {
            var res = call.ResponseStream.Current;
            if (res.CompactRevision > 0) throw new CompactedException(res.CompactRevision);
            if (res.Canceled)
            {
                Log(LogLevel.Warn, "watch canceled by etcd, reason: " + res.CancelReason);
                throw new InvalidOperationException("watch canceled: " + res.CancelReason);
            }
            foreach (var ev in res.Events)
            {
                var key = ev.Kv.Key.ToString(System.Text.Encoding.Latin1);
                if (ev.Type == Mvccpb.Event.Types.EventType.Delete) mirror.Delete(key);
                else Apply(EtcdV3Store.Entry(ev.Kv));
                if (ev.Kv.ModRevision > Revision) Revision = ev.Kv.ModRevision;
            }
            if (res.Header != null && res.Events.Count == 0 && res.Header.Revision > Revision && !res.Created) Revision = res.Header.Revision;
        }
        throw new IOException("watch stream ended");
    }

    public override async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_loop != null) await _loop;
    }
}
