namespace Apisix.Core.Utils;

/// <summary>The table LuaSocket's <c>url.parse</c> returns; absent components are null (Lua nil).</summary>
public sealed record ParsedUrl
{
    public string? Scheme { get; init; }
    public string? Authority { get; init; }
    public string? Userinfo { get; init; }
    public string? User { get; init; }
    public string? Password { get; init; }
    public string? Host { get; init; }
    /// <summary>Kept as text, as LuaSocket does ("" for "host:").</summary>
    public string? Port { get; init; }
    public string? Path { get; init; }
    public string? Params { get; init; }
    public string? Query { get; init; }
    public string? Fragment { get; init; }
}

/// <summary>
/// <c>socket.url.parse</c> (LuaSocket 3.1.0, the version APISIX pins): a plain left-to-right split
/// with no validation and no unescaping.
/// </summary>
public static class SocketUrl
{
    /// <summary><c>url.parse(url)</c>: null for a null or empty url (Lua returns nil, "invalid url").</summary>
    public static ParsedUrl? Parse(string? url, ParsedUrl? defaults = null) => TryParse(url, defaults).Url;

    public static (ParsedUrl? Url, string? Error) TryParse(string? url, ParsedUrl? defaults = null)
    {
        if (string.IsNullOrEmpty(url)) return (null, "invalid url");
        var p = defaults ?? new ParsedUrl();
        var rest = url;

        // scheme: a letter or digit, then letters, digits, "+", "-", "."; then ":"
        if (IsAlnum(rest[0]))
        {
            var i = 1;
            while (i < rest.Length && (IsAlnum(rest[i]) || rest[i] is '+' or '-' or '.')) i++;
            if (i < rest.Length && rest[i] == ':')
            {
                p = p with { Scheme = rest[..i] };
                rest = rest[(i + 1)..];
            }
        }

        // authority: after "//", everything up to the next "/" (3.1.0 does not stop at "?" or "#")
        if (rest.StartsWith("//", StringComparison.Ordinal))
        {
            var end = rest.IndexOf('/', 2);
            if (end < 0) end = rest.Length;
            p = p with { Authority = rest[2..end] };
            rest = rest[end..];
        }

        var hash = rest.IndexOf('#');
        if (hash >= 0) { p = p with { Fragment = rest[(hash + 1)..] }; rest = rest[..hash]; }
        var q = rest.IndexOf('?');
        if (q >= 0) { p = p with { Query = rest[(q + 1)..] }; rest = rest[..q]; }
        var semi = rest.IndexOf(';');
        if (semi >= 0) { p = p with { Params = rest[(semi + 1)..] }; rest = rest[..semi]; }
        if (rest.Length > 0) p = p with { Path = rest };

        var authority = p.Authority;
        if (authority == null) return (p, null);

        var at = authority.IndexOf('@');
        if (at >= 0) { p = p with { Userinfo = authority[..at] }; authority = authority[(at + 1)..]; }
        // port: the text after the last ":" when it holds no "]" (so "[::1]" keeps its colons)
        var colon = authority.LastIndexOf(':');
        if (colon >= 0 && authority.IndexOf(']', colon) < 0)
        {
            p = p with { Port = authority[(colon + 1)..] };
            authority = authority[..colon];
        }
        if (authority.Length > 0)
        {
            var host = authority.Length > 2 && authority[0] == '[' && authority[^1] == ']' ? authority[1..^1] : authority;
            p = p with { Host = host };
        }

        if (p.Userinfo is { } userinfo)
        {
            var c = userinfo.LastIndexOf(':');
            if (c >= 0) { p = p with { Password = userinfo[(c + 1)..] }; userinfo = userinfo[..c]; }
            p = p with { User = userinfo };
        }
        return (p, null);
    }

    // Lua's %w in the C locale
    private static bool IsAlnum(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9');
}
