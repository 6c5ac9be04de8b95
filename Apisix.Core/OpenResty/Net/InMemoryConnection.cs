using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Apisix.Core.OpenResty.Net;

/// <summary>
/// The server side of one in-memory TCP connection, as Kestrel sees it. Completing the pipes on
/// abort/dispose is what lets the client see EOF after "Connection: close".
/// </summary>
public sealed class InMemoryConnection : ConnectionContext
{
    private readonly Pipe _toServer = new(new PipeOptions(useSynchronizationContext: false));
    private readonly Pipe _toClient = new(new PipeOptions(useSynchronizationContext: false));
    private readonly CancellationTokenSource _closed = new();
    private static long _nextId;

    public InMemoryConnection(EndPoint local, EndPoint remote)
    {
        LocalEndPoint = local;
        RemoteEndPoint = remote;
        ConnectionId = "mem-" + Interlocked.Increment(ref _nextId);
        Transport = new DuplexPipe(_toServer.Reader, _toClient.Writer);
        var heads = new RequestHeadLog();
        Items[RequestHeadLog.ItemKey] = heads;
        Features.Set<IConnectionItemsFeature>(new ItemsFeature(Items));
        // the client closing its end is what nginx sees as the peer's FIN: the connection is closed
        ClientStream = new DuplexPipeStream(_toClient.Reader, _toServer.Writer, PeerClosed) { WriteLog = heads };
        ConnectionClosed = _closed.Token;
    }

    private void PeerClosed()
    {
        try { _closed.Cancel(); } catch (ObjectDisposedException) { }
    }

    /// <summary>The client's end: what a cosocket or the test client reads and writes.</summary>
    public DuplexPipeStream ClientStream { get; }

    public override string ConnectionId { get; set; }
    public override IFeatureCollection Features { get; } = new FeatureCollection();
    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();
    public override IDuplexPipe Transport { get; set; }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        _toClient.Writer.Complete();
        _toServer.Reader.Complete();
        try { _closed.Cancel(); } catch (ObjectDisposedException) { }
    }

    /// <summary>Drop the connection from outside (the block's world is torn down).</summary>
    public void Kill()
    {
        _toServer.Writer.Complete();
        _toClient.Reader.Complete();
        Abort(new ConnectionAbortedException("world stopped"));
    }

    public override ValueTask DisposeAsync()
    {
        _toClient.Writer.Complete();
        _toServer.Reader.Complete();
        try { _closed.Cancel(); } catch (ObjectDisposedException) { }
        return ValueTask.CompletedTask;
    }

    private sealed class ItemsFeature(IDictionary<object, object?> items) : IConnectionItemsFeature
    {
        public IDictionary<object, object?> Items { get; set; } = items;
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }
}
