// Twin of apisix/core/table.lua
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using KeraLua;
using LuaFunction = KeraLua.LuaFunction;
using LuaState = KeraLua.Lua;

namespace Apisix.Core;

/// <summary>
/// <c>core.table</c>: helpers over Lua tables, written against the Lua stack so tables keep their
/// identity (deepcopy copies a table shared twice once, keeps cycles and metatables, and leaves
/// the <c>shallows</c> paths shared). Reads and writes are raw except equality, which honours
/// <c>__eq</c> as Lua's <c>==</c> does. LuaJIT's table extensions (new, clear, nkeys, clone...)
/// and Lua's table library are added by apisix/core/table.lua.
/// </summary>
public static class CoreTable
{
    public const string Name = "apisix.core.table";

    private static readonly (string, LuaFunction)[] Functions =
    [
        ("insert_tail", InsertTail), ("set", Set), ("try_read_attr", TryReadAttr), ("array_find", ArrayFind),
        ("deepcopy", DeepCopy), ("merge", Merge), ("patch", Patch), ("set_eq", SetEq), ("deep_eq", DeepEqFn),
        ("pick", Pick),
    ];

    public static object Create(LuaWorker w) => CoreLib.Module(w, Functions);

    private static int Bad(LuaState L, int arg, string fn) =>
        CoreLib.Raise(L, $"bad argument #{arg} to '{fn}' (table expected, got {(L.Type(arg) == LuaType.None ? "no value" : CoreLib.TypeName(L, arg))})");

    /// <summary><c>insert_tail(t, ...)</c>: appends the values after #t; returns the last index.</summary>
    private static int InsertTail(IntPtr p) => CoreLib.Guard(p, L =>
    {
        if (L.Type(1) != LuaType.Table) return Bad(L, 1, "insert_tail");
        var n = L.GetTop();
        var idx = (long)L.RawLen(1);
        for (var i = 2; i <= n; i++)
        {
            L.PushCopy(i);
            L.RawSetInteger(1, ++idx);
        }
        L.PushInteger(idx);
        return 1;
    });

    /// <summary><c>set(t, ...)</c>: t[i] = the i-th value.</summary>
    private static int Set(IntPtr p) => CoreLib.Guard(p, L =>
    {
        if (L.Type(1) != LuaType.Table) return Bad(L, 1, "set");
        var n = L.GetTop();
        for (var i = 2; i <= n; i++)
        {
            L.PushCopy(i);
            L.RawSetInteger(1, i - 1);
        }
        return 0;
    });

    /// <summary><c>try_read_attr(t, k1, k2...)</c>: t[k1][k2]..., nil as soon as a step is not a table.</summary>
    private static int TryReadAttr(IntPtr p) => CoreLib.Guard(p, L =>
    {
        var n = L.GetTop();
        L.CheckStack(n + 2);
        L.PushCopy(1);
        for (var i = 2; i <= n; i++)
        {
            if (L.Type(-1) != LuaType.Table) { L.Pop(1); L.PushNil(); return 1; }
            L.PushCopy(i);
            L.RawGet(-2);
            L.Remove(-2);
        }
        return 1;
    });

    private static long? Find(LuaState L, int array, int val)
    {
        if (L.Type(array) != LuaType.Table) return null;
        for (long i = 1; ; i++)
        {
            if (L.RawGetInteger(array, i) == LuaType.Nil) { L.Pop(1); return null; }
            var eq = L.Compare(-1, val, LuaCompare.Equal);
            L.Pop(1);
            if (eq) return i;
        }
    }

    /// <summary><c>array_find(array, val)</c>: the first index holding val, or nil.</summary>
    private static int ArrayFind(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.CheckStack(4);
        if (Find(L, 1, 2) is long i) L.PushInteger(i); else L.PushNil();
        return 1;
    });

    /// <summary><c>deepcopy(orig, opts)</c>: opts.shallows lists paths ("self.a.b") copied by reference.</summary>
    private static int DeepCopy(IntPtr p) => CoreLib.Guard(p, L =>
    {
        if (L.Type(1) != LuaType.Table) { L.SetTop(1); return 1; }
        L.CheckStack(8);
        L.SetTop(2);
        var shallows = 0;
        if (L.Type(2) == LuaType.Table && L.GetField(2, "shallows") == LuaType.Table) shallows = L.GetTop();
        else L.Pop(1);
        L.NewTable();
        var copied = L.GetTop();
        // the JSON null is a table in this port (a lightuserdata in OpenResty): it is kept, never copied
        LuaJson.PushShared(L, LuaJson.NullKey);
        L.PushCopy(-1);
        L.RawSet(copied);
        Copy(L, 1, copied, "self", shallows);
        return 1;
    });

    // pushes the copy of the table at orig
    private static void Copy(LuaState L, int orig, int copied, string parent, int shallows)
    {
        L.CheckStack(10);
        var len = (int)L.RawLen(orig);
        L.CreateTable(len, 0);
        var copy = L.GetTop();
        L.PushCopy(orig);
        L.PushCopy(copy);
        L.RawSet(copied);
        L.PushNil();
        while (L.Next(orig))
        {
            // stack: key value
            var value = L.GetTop();
            var shared = false;
            if (shallows != 0)
            {
                LuaNative.PushBytes(L, parent + "." + KeyText(L, value - 1));
                shared = Find(L, shallows, L.GetTop()) != null;
                L.Pop(1);
            }
            if (!shared && L.Type(value) == LuaType.Table)
            {
                L.PushCopy(value);
                if (L.RawGet(copied) == LuaType.Nil)
                {
                    L.Pop(1);
                    Copy(L, value, copied, parent + "." + KeyText(L, value - 1), shallows);
                }
                L.Replace(value);
            }
            L.PushCopy(value - 1);
            L.Insert(-2);
            L.RawSet(copy);
        }
        if (L.GetMetaTable(orig)) L.SetMetaTable(copy);
    }

    // tostring(key) for the path of a nested value
    private static string KeyText(LuaState L, int i) => L.Type(i) switch
    {
        LuaType.String => LuaNative.ToBytes(L, i) ?? "",
        LuaType.Number => L.IsInteger(i) ? L.ToInteger(i).ToString(System.Globalization.CultureInfo.InvariantCulture)
            : Json.LuaNumber.ToLuaString(L.ToNumber(i)),
        LuaType.Boolean => L.ToBoolean(i) ? "true" : "false",
        var t => L.TypeName(t) + ": 0x" + L.ToPointer(i).ToString("x"),
    };

    /// <summary>
    /// <c>merge(origin, extend)</c>: extend's entries into origin, recursing into tables that are both
    /// hashes; an array on either side replaces, ngx.null deletes.
    /// </summary>
    private static int Merge(IntPtr p) => CoreLib.Guard(p, L =>
    {
        if (L.Type(1) != LuaType.Table) return Bad(L, 1, "merge");
        if (L.Type(2) != LuaType.Table) return Bad(L, 2, "merge");
        L.SetTop(2);
        L.GetGlobal("ngx");
        L.GetField(-1, "null");
        L.Remove(-2);
        LuaJson.PushShared(L, LuaJson.NullKey); // cjson.null: the same NULL as ngx.null in OpenResty
        MergeInto(L, 1, 2, 3);
        L.SetTop(1);
        return 1;
    });

    private static void MergeInto(LuaState L, int origin, int extend, int nullIdx)
    {
        L.CheckStack(8);
        L.PushNil();
        while (L.Next(extend))
        {
            var key = L.GetTop() - 1;
            var value = key + 1;
            var isNull = L.RawEqual(value, nullIdx) || L.RawEqual(value, nullIdx + 1); // ngx.null is a table here
            if (!isNull && L.Type(value) == LuaType.Table)
            {
                L.PushCopy(key);
                L.RawGet(origin);
                var cur = L.GetTop();
                if (L.Type(cur) == LuaType.Table && !IsArray(L, cur) && !IsArray(L, value))
                    MergeInto(L, cur, value, nullIdx);
                else { L.PushCopy(key); L.PushCopy(value); L.RawSet(origin); }
                L.Pop(1);
            }
            else
            {
                L.PushCopy(key);
                if (isNull) L.PushNil(); else L.PushCopy(value);
                L.RawSet(origin);
            }
            L.Pop(1);
        }
    }

    // LuaJIT's table.isarray: every key a positive integer (an empty table counts as an array)
    private static bool IsArray(LuaState L, int t)
    {
        L.PushNil();
        while (L.Next(t))
        {
            L.Pop(1);
            if (!(L.Type(-1) == LuaType.Number && L.IsInteger(-1) && L.ToInteger(-1) > 0)) { L.Pop(1); return false; }
        }
        return true;
    }

    /// <summary><c>patch(node, "a/b", conf)</c>: node.a.b = conf, creating tables on the way; nil, nil, node or 400, err.</summary>
    private static int Patch(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.SetTop(3);
        L.CheckStack(8);
        var path = LuaNative.ToBytes(L, 2) ?? "";
        var parts = path.Split('/');
        L.PushCopy(1);
        for (var i = 0; i < parts.Length - 1; i++)
        {
            if (L.Type(-1) != LuaType.Table) return PatchFail(L, "invalid sub-path: /" + string.Join("/", parts[..i]));
            LuaNative.PushBytes(L, parts[i]);
            if (L.RawGet(-2) == LuaType.Nil)
            {
                L.Pop(1);
                L.NewTable();
                LuaNative.PushBytes(L, parts[i]);
                L.PushCopy(-2);
                L.RawSet(-4);
            }
            L.Remove(-2);
            if (L.Type(-1) != LuaType.Table) return PatchFail(L, "invalid sub-path: /" + string.Join("/", parts[..(i + 1)]));
        }
        if (L.Type(-1) != LuaType.Table) return PatchFail(L, "invalid sub-path: /" + path);
        var last = parts[^1];
        L.PushNil();
        L.PushNil();
        if (last != "")
        {
            LuaNative.PushBytes(L, last);
            L.PushCopy(3);
            L.RawSet(-5);
            L.PushCopy(1);
        }
        else L.PushCopy(3);
        return 3;
    });

    private static int PatchFail(LuaState L, string err)
    {
        L.PushInteger(400);
        LuaNative.PushBytes(L, err);
        return 2;
    }

    private static long NKeys(LuaState L, int t)
    {
        long n = 0;
        L.PushNil();
        while (L.Next(t)) { L.Pop(1); n++; }
        return n;
    }

    /// <summary><c>set_eq(a, b)</c>: the same keys (values not compared).</summary>
    private static int SetEq(IntPtr p) => CoreLib.Guard(p, L =>
    {
        if (L.Type(1) != LuaType.Table) return Bad(L, 1, "set_eq");
        if (L.Type(2) != LuaType.Table) return Bad(L, 2, "set_eq");
        L.CheckStack(6);
        if (NKeys(L, 1) != NKeys(L, 2)) { L.PushBoolean(false); return 1; }
        L.PushNil();
        while (L.Next(1))
        {
            L.Pop(1);
            L.PushCopy(-1);
            var missing = L.RawGet(2) == LuaType.Nil;
            L.Pop(1);
            if (missing) { L.Pop(1); L.PushBoolean(false); return 1; }
        }
        L.PushBoolean(true);
        return 1;
    });

    private static bool DeepEq(LuaState L, int a, int b)
    {
        L.CheckStack(8);
        if (L.Type(a) != LuaType.Table || L.Type(b) != LuaType.Table) return L.Compare(a, b, LuaCompare.Equal);
        if (NKeys(L, a) != NKeys(L, b)) return false;
        L.PushNil();
        while (L.Next(a))
        {
            L.PushCopy(-2);
            L.RawGet(b);
            var eq = DeepEq(L, L.GetTop() - 1, L.GetTop());
            L.Pop(2);
            if (!eq) { L.Pop(1); return false; }
        }
        return true;
    }

    /// <summary><c>deep_eq(a, b)</c>: tables with the same keys whose values are deep_eq; otherwise ==.</summary>
    private static int DeepEqFn(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.SetTop(2);
        L.PushBoolean(DeepEq(L, 1, 2));
        return 1;
    });

    /// <summary><c>pick(obj, attrs)</c>: a new table with obj's entries whose key is set in attrs.</summary>
    private static int Pick(IntPtr p) => CoreLib.Guard(p, L =>
    {
        if (L.Type(1) != LuaType.Table) return Bad(L, 1, "pick");
        L.SetTop(2);
        L.CheckStack(8);
        L.NewTable();
        L.PushNil();
        while (L.Next(1))
        {
            L.PushCopy(-2);
            var keep = L.GetTable(2) != LuaType.Nil;
            L.Pop(1);
            if (keep) { L.PushCopy(-2); L.PushCopy(-2); L.RawSet(3); }
            L.Pop(1);
        }
        return 1;
    });
}
