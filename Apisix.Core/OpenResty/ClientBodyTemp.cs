namespace Apisix.Core.OpenResty;

/// <summary>
/// nginx's client_body_temp: request bodies kept in files (`client_body_in_file_only`, or a body
/// larger than `client_body_buffer_size`), named with a ten-digit sequence as nginx names them.
/// The files live under the system temp directory and are removed when the request ends.
/// </summary>
public static class ClientBodyTemp
{
    private static long _seq;
    private static readonly string Dir = Path.Combine(Path.GetTempPath(), "apisix-port-client_body_temp");

    /// <summary>Write a body to a new temp file; its path.</summary>
    public static string Write(byte[] body)
    {
        Directory.CreateDirectory(Dir);
        var name = Interlocked.Increment(ref _seq).ToString("D10", System.Globalization.CultureInfo.InvariantCulture);
        var path = Path.Combine(Dir, $"{Environment.ProcessId}-{name}");
        File.WriteAllBytes(path, body);
        return path;
    }

    /// <summary>Remove a request's temp file (at the end of the request).</summary>
    public static void Remove(string? path)
    {
        if (path == null) return;
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
