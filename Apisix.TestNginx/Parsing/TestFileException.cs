using Apisix.TestNginx.Perl;

namespace Apisix.TestNginx.Parsing;

/// <summary>A .t file that can't be loaded; the message reads "path:line: what went wrong".</summary>
public sealed class TestFileException(string path, int line, string detail)
    : Exception(line > 0 ? $"{path}:{line}: {detail}" : $"{path}: {detail}")
{
    public string FilePath { get; } = path;
    public int Line { get; } = line;
    public string Detail { get; } = detail;

    /// <summary>Wraps a Perl failure; <paramref name="context"/> says where it ran (a section, a preprocessor).</summary>
    public static TestFileException FromPerl(string path, PerlException e, string? context = null)
    {
        var what = e.Died ? $"died: {e.Message}" : e.Detail;
        return new TestFileException(path, e.Line, context == null ? what : $"{context}: {what}");
    }
}
