namespace Apisix.TestNginx.Parsing;

/// <summary>
/// What <c>$TEST_NGINX_BINARY</c> names while a file loads, unless the user set it: the
/// <c>tools/emulated-nginx</c> script shipped beside the runner. Files ask that binary
/// (<c>`$nginx_binary -V 2&gt;&amp;1`</c>) whether APISIX's runtime modules are built in and skip
/// themselves otherwise; the script describes the emulated build, so they run here as they run on
/// APISIX's runtime. It is not an nginx: it answers <c>-v</c> and <c>-V</c> only.
/// </summary>
public static class EmulatedNginxBinary
{
    public const string Variable = "TEST_NGINX_BINARY";

    private static readonly Lazy<string?> ScriptPath = new(Locate);

    /// <summary>The script's full path, or null when it is missing from the runner's directory.</summary>
    public static string? Path => ScriptPath.Value;

    private static string? Locate()
    {
        var path = System.IO.Path.Combine(AppContext.BaseDirectory, "tools", "emulated-nginx");
        if (!File.Exists(path)) return null;
        // a copy that lost its mode bits (a zip, a plain file copy) still has to run from /bin/sh
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & UnixFileMode.UserExecute) == 0)
            {
                try { File.SetUnixFileMode(path, mode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
            }
        }
        return path;
    }
}
