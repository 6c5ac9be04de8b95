using System.Text;
using System.Text.Json.Nodes;
using Apisix.Core.Store;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Mvccpb;

namespace Apisix.Gateway.Etcd;

/// <summary>
/// <see cref="IEtcdStore"/> over a real etcd v3 cluster (gRPC, the generated clients of
/// dotnet-etcd): the admin API writes through it, as APISIX's admin writes through
/// lua-resty-etcd. Calls are synchronous, as the seam is; the host runs admin requests off the
/// worker loops. A cluster that does not answer within the deadline fails the call with
/// <see cref="StoreUnavailableException"/> and lua-resty-etcd's words.
/// </summary>
public sealed class EtcdV3Store : IEtcdStore, IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly KV.KVClient _kv;
    private readonly Lease.LeaseClient _lease;
    private long _revision;

    public EtcdV3Store(string endpoint, TimeSpan timeout)
    {
        Endpoint = endpoint;
        Timeout = timeout;
        _channel = GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(2), EnableMultipleHttp2Connections = true },
        });
        _kv = new KV.KVClient(_channel);
        _lease = new Lease.LeaseClient(_channel);
        Watch = new Watch.WatchClient(_channel);
    }

    public string Endpoint { get; }
    public TimeSpan Timeout { get; }
    public Watch.WatchClient Watch { get; }
    public KV.KVClient Kv => _kv;

    public long Revision => Interlocked.Read(ref _revision);

    public long CompactRevision => 0;

    public event Action<ConfigChange>? Changed { add { } remove { } }

    private CallOptions Options() => new(deadline: DateTime.UtcNow + Timeout);

    private void Saw(ResponseHeader? header)
    {
        if (header == null) return;
        long seen;
        do { seen = Interlocked.Read(ref _revision); }
        while (header.Revision > seen && Interlocked.CompareExchange(ref _revision, header.Revision, seen) != seen);
    }

    /// <summary>lua-resty-etcd's answer when no endpoint answers.</summary>
    private T Call<T>(Func<CallOptions, T> call)
    {
        try { return call(Options()); }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal
                                         or StatusCode.Cancelled or StatusCode.Unknown)
        {
            throw new StoreUnavailableException(Apisix.Core.Etcd.ErrUnhealthyAll, e);
        }
    }

    public static ByteString Bytes(string s) => ByteString.CopyFrom(Encoding.Latin1.GetBytes(s));

    private static ByteString RangeEnd(string? rangeEnd) =>
        rangeEnd == null ? ByteString.Empty : rangeEnd == "\0" ? ByteString.CopyFrom(0) : Bytes(rangeEnd);

    /// <summary>A kv as the store seam holds it: the value decoded as JSON, or kept raw (APISIX's init_dir).</summary>
    public static StoreEntry Entry(KeyValue kv)
    {
        var key = kv.Key.ToString(Encoding.Latin1);
        var text = kv.Value.ToString(Encoding.UTF8);
        JsonNode? value = null;
        string? raw = null;
        try { value = JsonNode.Parse(text); }
        catch (System.Text.Json.JsonException) { raw = text; }
        return new StoreEntry(key, value, kv.CreateRevision, kv.ModRevision) { Raw = raw, Version = kv.Version, Lease = kv.Lease };
    }

    public IReadOnlyList<StoreEntry> Range(string key, string? rangeEnd)
    {
        var res = Call(o => _kv.Range(new RangeRequest { Key = Bytes(key), RangeEnd = RangeEnd(rangeEnd) }, o));
        Saw(res.Header);
        return res.Kvs.Select(Entry).ToList();
    }

    private (StoreEntry Entry, StoreEntry? Previous) PutText(string key, string text, JsonNode? value, string? raw, long lease)
    {
        var res = Call(o => _kv.Put(new PutRequest { Key = Bytes(key), Value = ByteString.CopyFromUtf8(text), Lease = lease, PrevKv = true }, o));
        Saw(res.Header);
        var prev = res.PrevKv is { } p && p.Key.Length > 0 ? Entry(p) : null;
        var rev = res.Header.Revision;
        var entry = new StoreEntry(key, value, prev?.CreatedIndex ?? rev, rev) { Raw = raw, Version = (prev?.Version ?? 0) + 1, Lease = lease };
        return (entry, prev);
    }

    public (StoreEntry Entry, StoreEntry? Previous) Put(string key, JsonNode? value, long lease) =>
        PutText(key, Apisix.Core.Json.CJson.Encode(value), value?.DeepClone(), null, lease);

    public (StoreEntry Entry, StoreEntry? Previous) PutRaw(string key, string raw, long lease = 0) =>
        PutText(key, raw, null, raw, lease);

    public StoreEntry? CompareAndPut(string key, JsonNode? value, long expectedModRevision, long lease)
    {
        var text = Apisix.Core.Json.CJson.Encode(value);
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare
        {
            Key = Bytes(key), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal,
            ModRevision = expectedModRevision,
        });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = Bytes(key), Value = ByteString.CopyFromUtf8(text), Lease = lease, PrevKv = true } });
        var res = Call(o => _kv.Txn(txn, o));
        Saw(res.Header);
        if (!res.Succeeded) return null;
        var put = res.Responses[0].ResponsePut;
        var prev = put.PrevKv is { } p && p.Key.Length > 0 ? Entry(p) : null;
        var rev = res.Header.Revision;
        return new StoreEntry(key, value?.DeepClone(), prev?.CreatedIndex ?? rev, rev) { Version = (prev?.Version ?? 0) + 1, Lease = lease };
    }

    public IReadOnlyList<StoreEntry> DeleteRange(string key, string? rangeEnd)
    {
        var res = Call(o => _kv.DeleteRange(new DeleteRangeRequest { Key = Bytes(key), RangeEnd = RangeEnd(rangeEnd), PrevKv = true }, o));
        Saw(res.Header);
        return res.PrevKvs.Select(Entry).ToList();
    }

    public long Grant(long ttlSeconds)
    {
        var res = Call(o => _lease.LeaseGrant(new LeaseGrantRequest { TTL = ttlSeconds }, o));
        Saw(res.Header);
        return res.ID;
    }

    public bool Revoke(long lease)
    {
        try
        {
            var res = Call(o => _lease.LeaseRevoke(new LeaseRevokeRequest { ID = lease }, o));
            Saw(res.Header);
            return true;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound) { return false; }
    }

    public long? KeepAlive(long lease)
    {
        var res = Call(o => _lease.LeaseTimeToLive(new LeaseTimeToLiveRequest { ID = lease }, o));
        if (res.TTL <= 0) return null;
        // one keep-alive round trip on the lease's stream
        Task.Run(async () =>
        {
            using var call = _lease.LeaseKeepAlive(Options());
            await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = lease });
            await call.RequestStream.CompleteAsync();
            await call.ResponseStream.MoveNext();
        }).GetAwaiter().GetResult();
        return res.GrantedTTL;
    }

    /// <summary>History reads are the watcher's (<see cref="EtcdConfigSource"/>); through this seam there is none.</summary>
    public IReadOnlyList<ConfigChange>? Changes(long fromRevision) => null;

    public void Compact(long revision)
    {
        var res = Call(o => _kv.Compact(new CompactionRequest { Revision = revision, Physical = true }, o));
        Saw(res.Header);
    }

    public void Dispose() => _channel.Dispose();
}
