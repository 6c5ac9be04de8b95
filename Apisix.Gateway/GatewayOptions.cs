namespace Apisix.Gateway;

/// <summary>How to start a gateway: where its conf/ lives, and what tests may override.</summary>
public sealed class GatewayOptions
{
    /// <summary>APISIX's prefix (apisix_home): conf/config.yaml, conf/apisix.yaml and the relative log paths live under it.</summary>
    public required string Prefix { get; init; }

    /// <summary>config.yaml's text instead of reading PREFIX/conf/config.yaml (tests).</summary>
    public string? ConfigYaml { get; init; }

    /// <summary>How often conf/apisix.yaml's modification time is checked (APISIX: every second).</summary>
    public TimeSpan StandalonePollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a stop waits for requests in flight; null: nginx_config.worker_shutdown_timeout.</summary>
    public TimeSpan? ShutdownGrace { get; init; }
}

/// <summary>Why the gateway did not start: one line, as `apisix start` prints it before exiting with 1.</summary>
public sealed class GatewayStartException(string message) : Exception(message);
