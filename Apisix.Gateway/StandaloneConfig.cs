// Twin of the file-watching part of apisix/core/config_yaml.lua (read_apisix_config on a 1 s timer)
using Apisix.Core.Core;
using Apisix.Core.OpenResty;
using Apisix.Core.Store;

namespace Apisix.Gateway;

/// <summary>
/// Standalone mode: <c>conf/apisix.yaml</c> (or <c>.json</c>) is the configuration. Its
/// modification time is checked every second, as <c>read_apisix_config</c> does; a changed
/// file is parsed and, when it parses, replaces the store's resources ("config file ...
/// reloaded."). A file that does not parse (no <c>#END</c>, bad YAML) leaves the last good
/// configuration in place and logs why; the check repeats until the file is fixed.
/// </summary>
public sealed class StandaloneConfig(ConfigStore store, string prefix, bool json, TimeSpan interval) : ConfigSource
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private DateTime? _mtime;

    public string Path { get; } = System.IO.Path.Combine(prefix, "conf", json ? "apisix.json" : "apisix.yaml");

    public override Task StartAsync()
    {
        Read(first: true);
        _loop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(interval);
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token)) Read(first: false);
            }
            catch (OperationCanceledException) { }
        });
        return Task.CompletedTask;
    }

    private void Read(bool first)
    {
        DateTime mtime;
        try
        {
            if (!File.Exists(Path)) throw new FileNotFoundException("No such file or directory");
            mtime = File.GetLastWriteTimeUtc(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log(LogLevel.Error, $"failed to fetch {Path} attributes: {e.Message}");
            return;
        }
        if (_mtime == mtime) return;
        string text;
        try { text = File.ReadAllText(Path, System.Text.Encoding.Latin1); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log(LogLevel.Error, $"failed to parse the content of file {Path}: failed to open file {Path} : {e.Message}");
            return;
        }
        var itemErrors = new List<string>();
        var err = ConfigYaml.Load(store, text, json, Path, itemErrors.Add);
        if (err != null)
        {
            Log(LogLevel.Error, $"failed to parse the content of file {Path}: {err}");
            return;
        }
        _mtime = mtime;
        foreach (var e in itemErrors) Log(LogLevel.Error, e);
        if (!first) Log(LogLevel.Warn, $"config file {Path} reloaded.");
    }

    public override async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_loop != null) await _loop;
    }
}
