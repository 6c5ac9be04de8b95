using System.Runtime.InteropServices;

namespace Apisix.Gateway;

/// <summary>
/// The host's garbage-collector tuning. The request path allocates per request and every worker
/// loop pauses while gen0 is collected, so the host wants a large gen0 budget (256 MB): with the
/// default (a few MB, sized from the CPU cache) a gen0 collection comes every ~100 plain requests and
/// promotes the requests in flight, which then need gen1 collections too. The runtime reads that
/// budget only from the environment (DOTNET_GCgen0size; runtimeconfig.json has no form of it), so on
/// Linux the host sets it and replaces itself (execve: same pid, same arguments) before anything
/// else starts. A DOTNET_GCgen0size or COMPlus_GCgen0size already in the environment is left as it is.
/// </summary>
internal static class GcBudget
{
    public const string Gen0Size = "0x10000000";

    [DllImport("libc", SetLastError = true)] private static extern int setenv(string name, string value, int overwrite);
    [DllImport("libc", SetLastError = true)] private static extern int execv(string path, string?[] argv);

    /// <summary>Re-execute with the gen0 budget set, when it is not; returns only if it did not (already set, not Linux, exec failed).</summary>
    public static void Apply()
    {
        if (!OperatingSystem.IsLinux()) return;
        if (Environment.GetEnvironmentVariable("DOTNET_GCgen0size") != null || Environment.GetEnvironmentVariable("COMPlus_GCgen0size") != null) return;
        string[] argv;
        try { argv = File.ReadAllText("/proc/self/cmdline").TrimEnd('\0').Split('\0'); }
        catch (IOException) { return; }
        if (argv.Length == 0 || argv[0].Length == 0) return;
        if (setenv("DOTNET_GCgen0size", Gen0Size, 1) != 0) return;
        // this runtime's diagnostics socket (dotnet-trace, dotnet-counters) has the name the next one
        // will want (pid and start time do not change across exec): leave the path free for it
        try
        {
            var tmp = Environment.GetEnvironmentVariable("TMPDIR") is { Length: > 0 } dir ? dir : "/tmp";
            foreach (var socket in Directory.EnumerateFiles(tmp, $"dotnet-diagnostic-{Environment.ProcessId}-*-socket")) File.Delete(socket);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        execv("/proc/self/exe", [.. argv, null]);
        // exec failed: go on with the runtime's default budget
    }
}
