// Twin of apisix/core/utils.lua (the pure parts; dns_parse and the resolver stay in Lua, see below)
using System.Text;
using System.Text.RegularExpressions;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using KeraLua;
using LuaFunction = KeraLua.LuaFunction;
using LuaState = KeraLua.Lua;

namespace Apisix.Core;

/// <summary>
/// <c>core.utils</c>: address parsing, <c>$var</c> templates, header checks, the host name and a
/// random seed. apisix/core/utils.lua adds <c>dns_parse</c>/<c>set_resolver</c> (Lua, so a test
/// can replace <c>dns_parse</c> on the table and the resolver sees it) and <c>sleep</c> (it yields).
/// </summary>
public static class CoreUtils
{
    public const string Name = "apisix.core.utils";
    private const string GetKey = "apisix.core.utils.get";

    private static readonly (string, LuaFunction)[] Functions =
    [
        ("get_seed_from_urandom", GetSeedFromUrandom), ("parse_addr", ParseAddrFn), ("resolve_var", ResolveVarFn),
        ("resolve_var_with_captures", ResolveVarWithCaptures), ("validate_header_field", ValidateHeaderField),
        ("validate_header_value", ValidateHeaderValue), ("gethostname", Gethostname), ("uri_safe_encode", UriSafeEncode),
        ("generate_uuid_v7", GenerateUuidV7),
    ];

    public static object Create(LuaWorker w) => CoreLib.Module(w, Functions);

    /// <summary>8 bytes of /dev/urandom as one number (a double, as LuaJIT computes it).</summary>
    private static int GetSeedFromUrandom(IntPtr p) => CoreLib.Guard(p, L =>
    {
        Span<byte> bytes = stackalloc byte[8];
        System.Security.Cryptography.RandomNumberGenerator.Fill(bytes);
        double seed = 0;
        foreach (var b in bytes) seed = 256 * seed + b;
        L.PushNumber(seed);
        return 1;
    });

    /// <summary>
    /// <c>parse_addr(addr)</c>: host and port (null when there is none). "[v6]" and "[v6]:port" keep
    /// their brackets; an address with a dot splits at its last colon; two colons mean a bare IPv6.
    /// Not a validator: malformed input comes back in some shape.
    /// </summary>
    public static (string Host, double? Port) ParseAddr(string addr)
    {
        if (addr.StartsWith('['))
        {
            if (addr.EndsWith(']')) return (addr, null);
            var pos = RfindChar(addr, ':', addr.Length - 1);
            if (pos < 2 || addr[pos - 2] != ']') return (addr, null);
            return (addr[..(pos - 1)], ToNumber(addr[pos..]));
        }
        var colons = 0;
        foreach (var ch in addr)
        {
            if (ch == '.') return Ipv4OrHost(addr);
            if (ch == ':' && ++colons == 2) return (addr, null);
        }
        return Ipv4OrHost(addr);
    }

    // 1-based position of the last ch at or before idx, 0 if none
    private static int RfindChar(string s, char ch, int idx)
    {
        for (var i = Math.Min(idx, s.Length); i >= 1; i--) if (s[i - 1] == ch) return i;
        return 0;
    }

    private static (string, double?) Ipv4OrHost(string addr)
    {
        var pos = RfindChar(addr, ':', addr.Length - 1);
        return pos == 0 ? (addr, null) : (addr[..(pos - 1)], ToNumber(addr[pos..]));
    }

    private static double? ToNumber(string s) =>
        double.TryParse(s.Trim(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) ? d : null;

    private static int ParseAddrFn(IntPtr p) => CoreLib.Guard(p, L =>
    {
        var addr = LuaNative.ToBytes(L, 1);
        if (addr == null) return CoreLib.Raise(L, $"bad argument #1 to 'byte' (string expected, got {CoreLib.TypeName(L, 1)})");
        var (host, port) = ParseAddr(addr);
        LuaNative.PushBytes(L, host);
        if (port is double d) LuaNative.PushNumber(L, d); else L.PushNil();
        return 2;
    });

    // $name, ${name}, ${name ?? default}; a backslash before '$' keeps it literal (PCRE's \s and \w, ASCII)
    private static readonly Regex VarPattern = new(@"(?<!\\)\$(\{[ \t\n\v\f\r]*([^}]+?)[ \t\n\v\f\r]*\}|([A-Za-z0-9_.]+))", RegexOptions.CultureInvariant);
    private static readonly Regex DefaultSep = new(@"[ \t\n\v\f\r]*\?\?[ \t\n\v\f\r]*", RegexOptions.CultureInvariant);

    /// <summary>
    /// <c>resolve_var(tpl, ctx, escaper)</c> over any lookup: the template with its variables put
    /// in, and how many were (an unset variable without a default becomes "" and is not counted).
    /// </summary>
    public static (string? Value, int Resolved) ResolveVar(string? tpl, Func<string, string?> lookup, Func<string, string>? escaper = null)
    {
        if (tpl == null || !tpl.Contains('$')) return (tpl, 0);
        var n = 0;
        var result = VarPattern.Replace(tpl, m =>
        {
            var name = m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value;
            var segs = DefaultSep.Split(name);
            var v = lookup(segs[0]);
            if (v == null)
            {
                if (segs.Length == 1) return "";
                v = segs[1];
            }
            n++;
            return escaper != null ? escaper(v) : v;
        });
        return (result, n);
    }

    // t[k] with metamethods, in a protected call (ctx.var's __index may raise)
    private static bool ProtectedGet(LuaState L, int t, string key)
    {
        if (L.GetField((int)LuaRegistry.Index, GetKey) != LuaType.Function)
        {
            L.Pop(1);
            L.LoadString("local t, k = ... return t[k]", "=resolve_var");
            L.PushCopy(-1);
            L.SetField((int)LuaRegistry.Index, GetKey);
        }
        L.PushCopy(t);
        LuaNative.PushBytes(L, key);
        return L.PCall(2, 1, 0) == LuaStatus.OK;
    }

    private static string LuaToString(LuaState L, int i) =>
        Encoding.Latin1.GetString(L.ToBuffer(i, true) ?? []);

    private sealed class LuaFailure(string message) : Exception(message);

    private static int ResolveVarFn(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.SetTop(3);
        L.CheckStack(8);
        if (L.Type(1) == LuaType.Nil) { L.PushNil(); L.PushNil(); L.PushInteger(0); return 3; }
        var tpl = LuaNative.ToBytes(L, 1);
        if (tpl == null) return CoreLib.Raise(L, $"bad argument #1 to 'find' (string expected, got {CoreLib.TypeName(L, 1)})");
        Func<string, string>? escaper = null;
        if (L.Type(3) != LuaType.Nil)
            escaper = s =>
            {
                L.PushCopy(3);
                LuaNative.PushBytes(L, s);
                if (L.PCall(1, 1, 0) != LuaStatus.OK) throw new LuaFailure(LuaToString(L, -1));
                var r = LuaToString(L, -1);
                L.Pop(1);
                return r;
            };
        try
        {
            var (value, n) = ResolveVar(tpl, key =>
            {
                if (L.Type(2) != LuaType.Table && L.Type(2) != LuaType.UserData)
                    throw new LuaFailure($"attempt to index a {CoreLib.TypeName(L, 2)} value (upvalue '_ctx')");
                if (!ProtectedGet(L, 2, key)) throw new LuaFailure(LuaToString(L, -1));
                var v = L.Type(-1) == LuaType.Nil ? null : LuaToString(L, -1);
                L.Pop(1);
                return v;
            }, escaper);
            LuaNative.PushBytes(L, value!);
            L.PushNil();
            L.PushInteger(n);
            return 3;
        }
        catch (LuaFailure e) { return CoreLib.Raise(L, e.Message); }
    });

    private static readonly Regex CapturePattern = new(@"(?<!\\)\$\{?(\d+)\}?", RegexOptions.CultureInvariant);

    /// <summary><c>resolve_var_with_captures(tpl, captures)</c>: $1 / ${1} from a regex match's captures ("" when absent).</summary>
    private static int ResolveVarWithCaptures(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.SetTop(2);
        if (L.Type(1) == LuaType.Nil) { L.PushNil(); L.PushNil(); return 2; }
        var tpl = LuaNative.ToBytes(L, 1) ?? "";
        if (!tpl.Contains('$')) { L.PushCopy(1); L.PushNil(); return 2; }
        var res = CapturePattern.Replace(tpl, m =>
        {
            if (L.Type(2) != LuaType.Table || !long.TryParse(m.Groups[1].Value, out var i)) return "";
            L.RawGetInteger(2, i);
            var v = L.Type(-1) is LuaType.String or LuaType.Number ? LuaNative.ToBytes(L, -1) ?? "" : "";
            L.Pop(1);
            return v;
        });
        LuaNative.PushBytes(L, res);
        L.PushNil();
        return 2;
    });

    /// <summary>A header name: visible ASCII ('!'..'~') without ':'.</summary>
    public static bool IsValidHeaderField(string field) => field.All(c => c > 32 && c < 127 && c != ':');

    /// <summary>A header value: no control characters (non-strings pass).</summary>
    public static bool IsValidHeaderValue(string value) => value.All(c => c >= 32 && c < 127);

    private static int ValidateHeaderField(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.PushBoolean(IsValidHeaderField(LuaNative.ToBytes(L, 1) ?? ""));
        return 1;
    });

    private static int ValidateHeaderValue(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.PushBoolean(L.Type(1) != LuaType.String || IsValidHeaderValue(LuaNative.ToBytes(L, 1)!));
        return 1;
    });

    private static string? _hostname;

    /// <summary>The machine's host name (gethostname(2)), read once.</summary>
    public static string Hostname() => _hostname ??= System.Net.Dns.GetHostName();

    private static int Gethostname(IntPtr p) => CoreLib.Guard(p, L =>
    {
        LuaNative.PushBytes(L, Hostname());
        return 1;
    });

    /// <summary><c>uri_safe_encode(uri)</c>: nginx's ngx_escape_uri (NGX_ESCAPE_URI): %XX for bytes outside its safe set.</summary>
    public static string UriSafeEncode(string uri)
    {
        var sb = new StringBuilder(uri.Length);
        foreach (var c in uri)
        {
            // ngx_escape_uri's NGX_ESCAPE_URI table escapes controls, space, '"', '#', '%', '?', and bytes >= 0x7f
            if (c <= 0x20 || c >= 0x7f || c is '"' or '#' or '%' or '?') sb.Append('%').Append(((int)c).ToString("X2"));
            else sb.Append(c);
        }
        return sb.ToString();
    }

    private static int UriSafeEncode(IntPtr p) => CoreLib.Guard(p, L =>
    {
        LuaNative.PushBytes(L, UriSafeEncode(LuaNative.ToBytes(L, 1) ?? ""));
        return 1;
    });

    private static int GenerateUuidV7(IntPtr p) => CoreLib.Guard(p, L =>
    {
        LuaNative.PushBytes(L, new Plugins.Builtin.RequestIdAlgorithms().UuidV7());
        return 1;
    });

    /// <summary>
    /// <c>get_root_conf(str, conf)</c>: for a dotted path <c>a.b.c</c>, the object that holds
    /// <c>c</c> and the name <c>c</c>; null when a step on the way is not an object.
    /// </summary>
    private static (System.Text.Json.Nodes.JsonObject? Conf, string Field) GetRootConf(string path, System.Text.Json.Nodes.JsonObject conf)
    {
        var parts = path.Split('.', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) return (conf, path);
        System.Text.Json.Nodes.JsonNode? node = conf;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            node = (node as System.Text.Json.Nodes.JsonObject)?[parts[i]];
            if (node is not System.Text.Json.Nodes.JsonObject) return (null, "");
        }
        return ((System.Text.Json.Nodes.JsonObject)node!, parts[^1]);
    }

    /// <summary>
    /// <c>check_https(fields, conf, plugin_name)</c>: the warn lines Lua logs for each configured
    /// field (string, or each string of an array) that does not start with "https".
    /// </summary>
    public static List<string> CheckHttps(IEnumerable<string> fields, System.Text.Json.Nodes.JsonObject conf, string pluginName)
    {
        var warnings = new List<string>();
        foreach (var field in fields)
        {
            var (root, name) = GetRootConf(field, conf);
            if (root?[name] is not { } value) continue;
            IEnumerable<System.Text.Json.Nodes.JsonNode?> values = value is System.Text.Json.Nodes.JsonArray arr ? arr : new[] { value };
            foreach (var v in values)
            {
                if (Json.JsonScalars.TryGetString(v, out var s) && !s.StartsWith("https", StringComparison.Ordinal))
                    warnings.Add($"Using {pluginName} {field} with no TLS is a security risk");
            }
        }
        return warnings;
    }

    /// <summary>
    /// <c>check_tls_bool(fields, conf, plugin_name)</c>: the warn lines Lua logs for each field set
    /// to anything but true (stops at the first path that does not resolve, as Lua returns).
    /// </summary>
    public static List<string> CheckTlsBool(IEnumerable<string> fields, System.Text.Json.Nodes.JsonObject conf, string pluginName)
    {
        var warnings = new List<string>();
        foreach (var field in fields)
        {
            var (root, name) = GetRootConf(field, conf);
            if (root == null) break;
            var value = root[name];
            if (value != null && !(Json.JsonScalars.TryGetBoolean(value, out var b) && b))
                warnings.Add($"Keeping {field} disabled in {pluginName} configuration is a security risk");
        }
        return warnings;
    }
}
