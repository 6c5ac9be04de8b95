using System.Text;

namespace Apisix.Core.OpenResty;

/// <summary>nginx's log levels, most severe first, as ngx.STDERR..ngx.DEBUG number them.</summary>
public enum LogLevel { Stderr = 0, Emerg = 1, Alert = 2, Crit = 3, Error = 4, Warn = 5, Notice = 6, Info = 7, Debug = 8 }

/// <summary>
/// The error.log of one emulated nginx: lines as nginx writes them
/// (`2026/11/25 10:03:07 [error] 1#1: *3 message, client: ..., server: ..., request: "...", host: "..."`),
/// kept in memory and optionally mirrored to a file. Messages below the configured level are dropped.
/// </summary>
public sealed class ErrorLog
{
    private readonly List<string> _lines = new();
    private readonly object _lock = new();
    private readonly StreamWriter? _file;

    public ErrorLog(LogLevel level, string? path = null, bool append = false)
    {
        Level = level;
        if (path != null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            _file = new StreamWriter(new FileStream(path, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.ReadWrite), Encoding.Latin1) { AutoFlush = true };
        }
    }

    public LogLevel Level { get; set; }

    public static string Tag(LogLevel l) => l switch
    {
        // nginx's err_levels[0] is the empty string: an ngx.STDERR line reads "[] 123#123: ..."
        LogLevel.Stderr => "", LogLevel.Emerg => "emerg", LogLevel.Alert => "alert", LogLevel.Crit => "crit",
        LogLevel.Error => "error", LogLevel.Warn => "warn", LogLevel.Notice => "notice", LogLevel.Info => "info",
        _ => "debug",
    };

    public static LogLevel Parse(string? name) => (name ?? "debug").ToLowerInvariant() switch
    {
        "stderr" => LogLevel.Stderr, "emerg" => LogLevel.Emerg, "alert" => LogLevel.Alert, "crit" => LogLevel.Crit,
        "error" => LogLevel.Error, "warn" => LogLevel.Warn, "notice" => LogLevel.Notice, "info" => LogLevel.Info,
        _ => LogLevel.Debug,
    };

    public bool Enabled(LogLevel l) => l <= Level;

    /// <summary>Write one entry; `context` is the request suffix (", client: ...") or empty.</summary>
    public void Write(LogLevel level, int pid, long connection, string message, string context)
    {
        if (!Enabled(level)) return;
        var conn = connection > 0 ? $"*{connection} " : "";
        var line = $"{DateTime.Now:yyyy/MM/dd HH:mm:ss} [{Tag(level)}] {pid}#{pid}: {conn}{message}{context}";
        lock (_lock)
        {
            _lines.Add(line);
            _file?.WriteLine(line);
        }
    }

    public IReadOnlyList<string> Lines
    {
        get { lock (_lock) return _lines.ToList(); }
    }

    public void Close() => _file?.Dispose();
}
