using System.Globalization;
using System.Text.RegularExpressions;
using Apisix.TestNginx.Parsing;

namespace Apisix.TestNginx.Runner;

/// <summary>
/// What Test::Nginx's <c>--- tcp_listen</c> and <c>--- udp_listen</c> mock servers share: the reply
/// sections this runner can serve, and the listen target (a port, or a unix socket path).
/// </summary>
internal static partial class MockListen
{
    /// <summary>Why a block's <c>{kind}_listen</c> mock cannot be set up here, or null.</summary>
    public static string? Unsupported(TestBlock block, string kind)
    {
        if (!block.Has(kind + "_listen")) return null;
        if (block.Get(kind + "_reply") is { } reply && reply is not (PerlString or PerlArray))
            return $"--- {kind}_reply computed by a Perl sub is not supported by this runner";
        return null;
    }

    /// <summary>Binds the target as a port or a unix socket path; anything else is the block's error.</summary>
    public static void Bind(string path, TestBlock block, string kind, string target, Action<int> port, Action<string> unix)
    {
        if (int.TryParse(target, NumberStyles.None, CultureInfo.InvariantCulture, out var p)) port(p);
        else if (UnixSocketPath().IsMatch(target)) unix(target);
        else throw new TestFileException(path, block.Line, $"{block.Name} - bad {kind}_listen target: {target}");
    }

    [GeneratedRegex(@"\S+\.sock$")]
    private static partial Regex UnixSocketPath();
}
