using System.Collections.Concurrent;

namespace Apisix.Tests.Gateway;

/// <summary>
/// Sits under an SDK's HttpClient and records what reached the SDK from the gateway: status,
/// Content-Type and (for bodies that are not streams) the body, before the SDK parses it.
/// </summary>
public sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
{
    public sealed record Seen(int Status, string? ContentType, string? Body);

    public ConcurrentQueue<Seen> Responses { get; } = new();

    public Seen Last => Responses.Last();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        var resp = await base.SendAsync(request, ct);
        var type = resp.Content.Headers.ContentType?.ToString();
        string? body = null;
        if (type == null || !type.StartsWith("text/event-stream", StringComparison.Ordinal))
        {
            await resp.Content.LoadIntoBufferAsync(ct);
            body = await resp.Content.ReadAsStringAsync(ct);
        }
        Responses.Enqueue(new Seen((int)resp.StatusCode, type, body));
        return resp;
    }
}

