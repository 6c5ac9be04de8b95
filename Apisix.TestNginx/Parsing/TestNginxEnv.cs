using System.Globalization;
using System.Text.RegularExpressions;

namespace Apisix.TestNginx.Parsing;

/// <summary>
/// Test::Nginx's <c>expand_env_in_text</c>: <c>$TEST_NGINX_NAME</c> in a block's nginx
/// configuration, request and expected output becomes that environment variable, and a block
/// naming one that is not set stops with Test::Nginx's message. <c>$TEST_NGINX_RAND_PORT_N</c>
/// is a free port: on our in-memory network any port is free, so N maps to a fixed one.
/// </summary>
public static partial class TestNginxEnv
{
    [GeneratedRegex(@"\$(TEST_NGINX_[_A-Z0-9]+)")]
    private static partial Regex EnvVar();

    private const int RandPortBase = 30000;

    /// <summary>The port <c>$TEST_NGINX_RAND_PORT_N</c> stands for, or null for any other name.</summary>
    public static int? RandPort(string name) =>
        name.StartsWith("TEST_NGINX_RAND_PORT_", StringComparison.Ordinal)
        && int.TryParse(name.AsSpan("TEST_NGINX_RAND_PORT_".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? RandPortBase + n : null;

    /// <exception cref="TestFileException">The text names a variable that is not set.</exception>
    public static string Expand(string text, string path, string blockName, Func<string, string?> env) =>
        Expand(text, env, name => throw new TestFileException(path, 0, Unset(blockName, name)));

    /// <summary>Expands, letting <paramref name="unset"/> answer for a variable that is not set.</summary>
    public static string Expand(string text, Func<string, string?> env, Func<string, string> unset) => EnvVar().Replace(text, m =>
    {
        var name = m.Groups[1].Value;
        if (RandPort(name) is { } port) return port.ToString(CultureInfo.InvariantCulture);
        return env(name) ?? unset(name);
    });

    /// <summary>Test::Nginx's words for a variable that is not set.</summary>
    public static string Unset(string blockName, string name) => $"{blockName} - No environment {name} defined.";
}
