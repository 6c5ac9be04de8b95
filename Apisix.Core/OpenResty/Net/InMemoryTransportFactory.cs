using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Apisix.Core.OpenResty.Net;

/// <summary>
/// Kestrel transport over a <see cref="LoopbackNetwork"/>: Kestrel binds one placeholder endpoint
/// and receives every connection made to any endpoint the network has bound; the connection's
/// LocalEndPoint says which "listen" it reached.
/// </summary>
public sealed class InMemoryTransportFactory(LoopbackNetwork network) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public bool CanBind(EndPoint endpoint) => true;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken ct = default) =>
        ValueTask.FromResult<IConnectionListener>(new Listener(network, endpoint));

    private sealed class Listener(LoopbackNetwork network, EndPoint endpoint) : IConnectionListener
    {
        public EndPoint EndPoint { get; } = endpoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken ct = default)
        {
            try
            {
                return await network.Accepted.ReadAsync(ct);
            }
            catch (Exception e) when (e is OperationCanceledException or System.Threading.Channels.ChannelClosedException)
            {
                return null;
            }
        }

        public ValueTask UnbindAsync(CancellationToken ct = default) => ValueTask.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
