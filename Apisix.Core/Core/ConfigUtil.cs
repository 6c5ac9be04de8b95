// Twin of apisix/core/config_util.lua
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using KeraLua;
using LuaFunction = KeraLua.LuaFunction;
using LuaState = KeraLua.Lua;

namespace Apisix.Core;

/// <summary>
/// <c>core.config_util</c>: iterating the table values of an array, the clean handlers a config
/// item keeps (run when the item goes away), <c>parse_time_unit</c> ("1h30m" → 5400) and
/// <c>parse_path</c>. Handlers run with a protected call from C#: a handler that raises makes the
/// calling function raise that error, as the Lua original would.
/// </summary>
public static class ConfigUtil
{
    public const string Name = "apisix.core.config_util";

    private static readonly (string, LuaFunction)[] Functions =
    [
        ("iterate_values", IterateValues), ("add_clean_handler", AddCleanHandler),
        ("cancel_clean_handler", CancelCleanHandler), ("fire_all_clean_handlers", FireAllCleanHandlers),
        ("parse_time_unit", ParseTimeUnitFn), ("parse_path", ParsePath),
    ];

    private static readonly LuaFunction NextTableValue = IterateStep;

    public static object Create(LuaWorker w) => CoreLib.Module(w, Functions);

    /// <summary><c>for i, v in iterate_values(t)</c>: the entries of t[1..] that are tables, stopping at the first nil.</summary>
    private static int IterateValues(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.PushCFunction(NextTableValue);
        L.PushCopy(1);
        L.PushInteger(0);
        return 3;
    });

    private static int IterateStep(IntPtr p) => CoreLib.Guard(p, L =>
    {
        if (L.Type(1) != LuaType.Table) { L.PushNil(); return 1; }
        var i = LuaNative.ToLong(L, 2) ?? 0;
        while (true)
        {
            i++;
            var t = L.RawGetInteger(1, i);
            if (t == LuaType.Table) { L.PushInteger(i); L.Insert(-2); return 2; }
            L.Pop(1);
            if (t == LuaType.Nil) { L.PushNil(); return 1; }
        }
    });

    private static int AddCleanHandler(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.CheckStack(6);
        if (L.Type(1) != LuaType.Table) return CoreLib.Raise(L, $"attempt to index a {CoreLib.TypeName(L, 1)} value (local 'item')");
        if (L.GetField(1, "clean_handlers") is LuaType.Nil or LuaType.Boolean && !L.ToBoolean(-1))
            return LuaNative.Fail(L, "clean handlers for the item are nil");
        var handlers = L.GetTop();
        L.GetField(handlers, "_id");
        var id = LuaNative.ToLong(L, -1) ?? 1;
        L.Pop(1);
        L.PushInteger(id + 1);
        L.SetField(handlers, "_id");
        L.CreateTable(0, 2);
        L.PushCopy(2);
        L.SetField(-2, "f");
        L.PushInteger(id);
        L.SetField(-2, "id");
        L.RawSetInteger(handlers, (long)L.RawLen(handlers) + 1);
        L.PushInteger(id);
        return 1;
    });

    private static int CancelCleanHandler(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.CheckStack(8);
        var fire = L.ToBoolean(3);
        L.GetField(1, "clean_handlers");
        var handlers = L.GetTop();
        var n = (long)L.RawLen(handlers);
        long pos = 0;
        for (long i = 1; i <= n && pos == 0; i++)
        {
            L.RawGetInteger(handlers, i);
            L.GetField(-1, "id");
            if (L.Compare(-1, 2, LuaCompare.Equal)) pos = i;
            L.Pop(2);
        }
        if (pos == 0)
        {
            Log(L, LogLevel.Error, "failed to find clean_handler with idx " + LuaText(L, 2));
            return 0;
        }
        L.RawGetInteger(handlers, pos);
        L.GetField(-1, "f");
        var f = L.GetTop();
        for (var i = pos; i < n; i++)
        {
            L.RawGetInteger(handlers, i + 1);
            L.RawSetInteger(handlers, i);
        }
        L.PushNil();
        L.RawSetInteger(handlers, n);
        if (!fire) return 0;
        if (L.Type(f) == LuaType.Nil)
        {
            Log(L, LogLevel.Error, "The function used to clear the health checker is nil, please check");
            return 0;
        }
        L.PushCopy(f);
        L.PushCopy(1);
        if (L.PCall(1, 0, 0) != LuaStatus.OK) return CoreLib.Raise(L, LuaNative.ToBytes(L, -1) ?? "error in clean handler");
        return 0;
    });

    private static int FireAllCleanHandlers(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.CheckStack(8);
        if (!L.ToBoolean(1)) return 0;
        if (L.GetField(1, "clean_handlers") is LuaType.Nil || !L.ToBoolean(-1)) return 0;
        var handlers = L.GetTop();
        for (long i = 1; ; i++)
        {
            if (L.RawGetInteger(handlers, i) == LuaType.Nil) { L.Pop(1); break; }
            L.GetField(-1, "f");
            L.PushCopy(1);
            if (L.PCall(1, 0, 0) != LuaStatus.OK) return CoreLib.Raise(L, LuaNative.ToBytes(L, -1) ?? "error in clean handler");
            L.Pop(1);
        }
        L.NewTable();
        L.SetField(1, "clean_handlers");
        return 0;
    });

    /// <summary>
    /// <c>parse_time_unit(s)</c>: seconds from a number or a string of units, largest first
    /// (y, M, w, d, h, m, s, then ms which ends the string's parsing); a bare trailing number is seconds.
    /// </summary>
    public static (double? Seconds, string? Error) ParseTimeUnit(string s)
    {
        if (s.Length == 0) return (null, "invalid data: ");
        double size = 0, sizeInUnit = 0, step = 60 * 60 * 24 * 365;
        var withMs = false;
        for (var i = 0; i < s.Length; i++)
        {
            double? scale = null;
            var unit = s[i];
            switch (unit)
            {
                case 'y': scale = 60 * 60 * 24 * 365; break;
                case 'M': scale = 60 * 60 * 24 * 30; break;
                case 'w': scale = 60 * 60 * 24 * 7; break;
                case 'd': scale = 60 * 60 * 24; break;
                case 'h': scale = 60 * 60; break;
                case 'm':
                    if (i + 1 < s.Length && s[i + 1] == 's')
                    {
                        size *= 1000;
                        withMs = true;
                        step = 0;
                        goto done;
                    }
                    scale = 60;
                    break;
                case 's': scale = 1; break;
                case >= '0' and <= '9': sizeInUnit = sizeInUnit * 10 + (unit - '0'); break;
                case ' ': break;
                default: return (null, "invalid data: " + unit);
            }
            if (scale is double sc)
            {
                if (sc > step) return (null, "unexpected unit: " + unit);
                step = sc;
                size += sc * sizeInUnit;
                sizeInUnit = 0;
            }
        }
    done:
        if (sizeInUnit > 0)
        {
            if (step == 1) return (null, "specific unit conflicts with the default unit second");
            size += sizeInUnit;
        }
        if (withMs) size /= 1000;
        return (size, null);
    }

    private static int ParseTimeUnitFn(IntPtr p) => CoreLib.Guard(p, L =>
    {
        if (L.Type(1) == LuaType.Number) { L.PushCopy(1); return 1; }
        if (L.Type(1) != LuaType.String) return LuaNative.Fail(L, "invalid data: " + LuaText(L, 1));
        var (seconds, err) = ParseTimeUnit(LuaNative.ToBytes(L, 1)!);
        if (err != null) return LuaNative.Fail(L, err);
        // the Lua original computes in doubles; "1s100ms" is 1100 / 1000
        LuaNative.PushNumber(L, seconds!.Value);
        return 1;
    });

    /// <summary><c>parse_path("a/b#sub")</c> → "a/b", "sub".</summary>
    private static int ParsePath(IntPtr p) => CoreLib.Guard(p, L =>
    {
        var s = LuaNative.ToBytes(L, 1) ?? "";
        var hash = s.IndexOf('#');
        LuaNative.PushBytes(L, hash < 0 ? s : s[..hash]);
        LuaNative.PushBytes(L, hash < 0 ? "" : s.Split('#')[1]);
        return 2;
    });

    internal static string LuaText(LuaState L, int i) => L.Type(i) switch
    {
        LuaType.Nil or LuaType.None => "nil",
        LuaType.Boolean => L.ToBoolean(i) ? "true" : "false",
        LuaType.String or LuaType.Number => LuaNative.ToBytes(L, i) ?? "",
        var t => L.TypeName(t),
    };

    /// <summary>core.log from a C function: through the worker's `ngx.log`, so the line carries the request.</summary>
    internal static void Log(LuaState L, LogLevel level, string message)
    {
        L.CheckStack(4);
        L.GetGlobal("ngx");
        L.GetField(-1, "log");
        L.Remove(-2);
        L.PushInteger((long)level);
        LuaNative.PushBytes(L, message);
        if (L.PCall(2, 0, 0) != LuaStatus.OK) L.Pop(1);
    }
}
