using Apisix.Core.OpenResty;

namespace Apisix.Gateway;

/// <summary>
/// Where the data plane's resources come from (APISIX's config_provider): it fills the
/// <see cref="Apisix.Core.Store.ConfigStore"/> the router and the proxy read, and keeps it current.
/// </summary>
public abstract class ConfigSource : IAsyncDisposable
{
    /// <summary>Where its lines go (nginx level, message), once the error log is open.</summary>
    public Action<LogLevel, string> Log { get; set; } = (_, _) => { };

    /// <summary>The first full load, then keeping it current in the background.</summary>
    public abstract Task StartAsync();

    public abstract ValueTask DisposeAsync();
}
