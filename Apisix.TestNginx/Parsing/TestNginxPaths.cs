namespace Apisix.TestNginx.Parsing;

/// <summary>
/// Where Test::Nginx puts a test run's nginx: its server root (the nginx prefix) and html directory.
/// One place, so a .t file's <c>server_root()</c> / <c>html_dir()</c> name the directories the runner uses.
/// </summary>
public static class TestNginxPaths
{
    /// <summary>Test::Nginx's <c>server_root()</c>: t/servroot under the directory the tests run from.</summary>
    public static string ServerRoot(string root) => Path.Combine(root, "t", "servroot");

    /// <summary>Test::Nginx's <c>html_dir()</c>: the server root's html directory (nginx's <c>root html</c>).</summary>
    public static string HtmlDir(string root) => Path.Combine(ServerRoot(root), "html");
}
