namespace Apisix.TestNginx.Runner;

/// <summary>
/// The environment variables a run reads: the process's, under an overlay that belongs to the
/// current async flow. The diff tool gives our side the variables the real side ran with
/// (TEST_NGINX_SERVER_PORT, TEST_NGINX_USE_HUP ...) this way: setting them on the process would
/// change them for every other run in the same process (the test suite runs files in parallel).
/// </summary>
public static class RunEnvironment
{
    private static readonly AsyncLocal<IReadOnlyDictionary<string, string?>?> Overlay = new();

    /// <summary>The variable as this flow sees it (an overlaid null hides the process's value).</summary>
    public static string? Get(string name) => Lookup(Overlay.Value, name);

    /// <summary>
    /// This flow's view, fixed now: for code that reads it later on other threads (a worker's Lua
    /// calling os.getenv).
    /// </summary>
    public static Func<string, string?> Capture()
    {
        var o = Overlay.Value;
        return name => Lookup(o, name);
    }

    private static string? Lookup(IReadOnlyDictionary<string, string?>? overlay, string name) =>
        overlay != null && overlay.TryGetValue(name, out var v) ? v : Environment.GetEnvironmentVariable(name);

    /// <summary>
    /// Overlay <paramref name="vars"/> (over any overlay already there) for the rest of the calling
    /// async method and what it awaits; the caller's own flow gets its view back when that method returns.
    /// </summary>
    public static void Set(IReadOnlyDictionary<string, string?> vars)
    {
        var merged = Overlay.Value is { } o ? new Dictionary<string, string?>(o) : new Dictionary<string, string?>();
        foreach (var (k, v) in vars) merged[k] = v;
        Overlay.Value = merged;
    }
}
