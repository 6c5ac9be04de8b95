// Twin of apisix/core/string.lua
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using KeraLua;
using LuaFunction = KeraLua.LuaFunction;
using LuaState = KeraLua.Lua;

namespace Apisix.Core;

/// <summary>
/// <c>core.string</c>: plain (non-pattern) search and prefix/suffix tests over byte strings.
/// The Lua module also falls back to Lua's <c>string</c> library (apisix/core/string.lua glue),
/// and <c>compress_script</c>, <c>decode_args</c>, <c>encode_args</c> forward to ngx there.
/// </summary>
public static class CoreString
{
    public const string Name = "apisix.core.string";

    private static readonly (string, LuaFunction)[] Functions =
    [
        ("find", Find), ("has_prefix", HasPrefix), ("has_suffix", HasSuffix), ("rfind_char", RfindChar),
    ];

    public static object Create(LuaWorker w) => CoreLib.Module(w, Functions);

    /// <summary><c>find(haystack, needle, from)</c>: string.find with plain = true (Lua's own errors for bad types).</summary>
    private static int Find(IntPtr p) => CoreLib.Guard(p, L =>
    {
        var s = LuaNative.ToBytes(L, 1);
        var needle = LuaNative.ToBytes(L, 2);
        if (s == null) return CoreLib.Raise(L, $"bad argument #1 to 'find' (string expected, got {BadType(L, 1)})");
        if (needle == null) return CoreLib.Raise(L, $"bad argument #2 to 'find' (string expected, got {BadType(L, 2)})");
        long init = 1;
        if (L.Type(3) is not (LuaType.None or LuaType.Nil))
        {
            if (LuaNative.ToLong(L, 3) is not long i) return CoreLib.Raise(L, $"bad argument #3 to 'find' (number expected, got {BadType(L, 3)})");
            init = i;
        }
        var len = s.Length;
        if (init < 0) init = Math.Max(1, len + init + 1);
        else if (init == 0) init = 1;
        if (init > len + 1) { L.PushNil(); return 1; }
        var at = s.IndexOf(needle, (int)init - 1, StringComparison.Ordinal);
        if (at < 0) { L.PushNil(); return 1; }
        L.PushInteger(at + 1);
        L.PushInteger(at + needle.Length);
        return 2;
    });

    private static string BadType(LuaState L, int i) => L.Type(i) == LuaType.None ? "no value" : CoreLib.TypeName(L, i);

    private static int HasPrefix(IntPtr p) => CoreLib.Guard(p, L =>
    {
        var (s, prefix) = (CoreLib.Str(L, 1), CoreLib.Str(L, 2));
        if (s == null || prefix == null)
            return CoreLib.Raise(L, $"unexpected type: s:{CoreLib.TypeName(L, 1)}, prefix:{CoreLib.TypeName(L, 2)}");
        L.PushBoolean(s.StartsWith(prefix, StringComparison.Ordinal));
        return 1;
    });

    private static int HasSuffix(IntPtr p) => CoreLib.Guard(p, L =>
    {
        var (s, suffix) = (CoreLib.Str(L, 1), CoreLib.Str(L, 2));
        if (s == null || suffix == null)
            return CoreLib.Raise(L, $"unexpected type: s:{CoreLib.TypeName(L, 1)}, suffix:{CoreLib.TypeName(L, 2)}");
        L.PushBoolean(s.EndsWith(suffix, StringComparison.Ordinal));
        return 1;
    });

    /// <summary><c>rfind_char(s, ch, idx)</c>: the last position at or before idx holding ch's first byte.</summary>
    private static int RfindChar(IntPtr p) => CoreLib.Guard(p, L =>
    {
        var s = LuaNative.ToBytes(L, 1) ?? "";
        var ch = LuaNative.ToBytes(L, 2);
        var from = LuaNative.ToLong(L, 3) ?? s.Length;
        if (!string.IsNullOrEmpty(ch))
            for (var i = (int)Math.Min(from, s.Length); i >= 1; i--)
                if (s[i - 1] == ch[0]) { L.PushInteger(i); return 1; }
        L.PushNil();
        return 1;
    });
}
