// Twin of apisix/core/json.lua
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using KeraLua;
using LuaFunction = KeraLua.LuaFunction;
using LuaState = KeraLua.Lua;

namespace Apisix.Core;

/// <summary>
/// <c>core.json</c>: cjson.safe with APISIX's settings (forward slashes unescaped, decoded arrays
/// marked with array_mt). Encoding and decoding call the worker's cjson.safe functions, so a test
/// that changes cjson's settings changes core.json too, as upstream's shared module does. Here:
/// <c>encode(data, force)</c> (force: functions, userdata and repeated tables become their
/// <c>tostring</c>, so any value encodes), <c>decode(s, {null_as_nil = true})</c>,
/// <c>strip_nulls</c> and <c>delay_encode</c>, an object that encodes when printed.
/// </summary>
public static class CoreJson
{
    public const string Name = "apisix.core.json";
    private const string DelayMtKey = "apisix.core.json.delay_mt";

    private static readonly LuaFunction DelayToString = DelayTostring;

    private static readonly (string, LuaFunction)[] Functions =
    [
        ("encode", Encode), ("decode", Decode), ("strip_nulls", StripNullsFn), ("delay_encode", DelayEncode),
        ("stably_encode", StablyEncode),
    ];

    /// <summary>
    /// <c>stably_encode</c> (dkjson's encode upstream): the same text for equal values, whatever
    /// order their keys were set in; here object keys come out sorted.
    /// </summary>
    private static int StablyEncode(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.SetTop(1);
        var (text, err) = Apisix.Core.Json.CJson.TryEncode(SortKeys(LuaJson.ToJson(L, 1)));
        if (text == null) return CoreLib.Raise(L, err ?? "cannot encode");
        L.PushBuffer(Apisix.Core.Json.ByteString.ToBytes(text));
        return 1;
    });

    private static System.Text.Json.Nodes.JsonNode? SortKeys(System.Text.Json.Nodes.JsonNode? n) => n switch
    {
        System.Text.Json.Nodes.JsonObject o => new System.Text.Json.Nodes.JsonObject(
            o.OrderBy(kv => kv.Key, StringComparer.Ordinal)
             .Select(kv => KeyValuePair.Create(kv.Key, SortKeys(kv.Value)))),
        System.Text.Json.Nodes.JsonArray a => new System.Text.Json.Nodes.JsonArray(a.Select(SortKeys).ToArray()),
        _ => n?.DeepClone(),
    };

    public static object Create(LuaWorker w) => CoreLib.Module(w, Functions);

    // pushes package.loaded["cjson.safe"][name]
    private static void PushCjson(LuaState L, string name)
    {
        L.CheckStack(4);
        L.GetGlobal("package");
        L.GetField(-1, "loaded");
        L.GetField(-1, "cjson.safe");
        L.GetField(-1, name);
        L.Replace(-4);
        L.Pop(2);
    }

    /// <summary>Encode the value at index; pushes what cjson.safe.encode returns (the text, or nil and the error) and returns their count.</summary>
    private static int EncodeAt(LuaState L, int value, bool force)
    {
        L.CheckStack(6);
        var top = L.GetTop();
        PushCjson(L, "encode");
        if (force)
        {
            L.NewTable();
            var seen = L.GetTop();
            CloneWithSerialise(L, value, seen);
            L.Remove(seen);
        }
        else L.PushCopy(value);
        if (L.PCall(1, -1, 0) != LuaStatus.OK) { L.PushNil(); L.Insert(-2); }
        return L.GetTop() - top;
    }

    // functions, userdata, threads: their tostring; tables: a clone with serialised keys and values
    private static void Serialise(LuaState L, int i)
    {
        if (L.Type(i) is LuaType.Function or LuaType.UserData or LuaType.LightUserData or LuaType.Thread or LuaType.Table)
        {
            PushToString(L, i);
            return;
        }
        L.PushCopy(i);
    }

    // tostring(value): "function: 0x...", "table: 0x..." (KeraLua's luaL_tolstring pops its result)
    private static void PushToString(LuaState L, int i) =>
        L.PushBuffer(L.ToBuffer(i, true) ?? System.Text.Encoding.Latin1.GetBytes(L.TypeName(L.Type(i))));

    private static void CloneWithSerialise(LuaState L, int data, int seen)
    {
        L.CheckStack(10);
        if (L.Type(data) != LuaType.Table) { Serialise(L, data); return; }
        L.NewTable();
        var t = L.GetTop();
        L.PushNil();
        while (L.Next(data))
        {
            var v = L.GetTop();
            Serialise(L, v - 1);
            if (L.Type(v) == LuaType.Table)
            {
                L.PushCopy(v);
                var cached = L.RawGet(seen) != LuaType.Nil;
                L.Pop(1);
                if (cached) PushToString(L, v);
                else
                {
                    L.PushCopy(v);
                    L.PushBoolean(true);
                    L.RawSet(seen);
                    CloneWithSerialise(L, v, seen);
                }
            }
            else Serialise(L, v);
            L.RawSet(t);
            L.Pop(1);
        }
    }

    private static int Encode(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.SetTop(2);
        return EncodeAt(L, 1, L.ToBoolean(2));
    });

    private static int Decode(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.SetTop(2);
        L.CheckStack(6);
        var nullAsNil = false;
        if (L.Type(2) == LuaType.Table)
        {
            L.GetField(2, "null_as_nil");
            nullAsNil = L.ToBoolean(-1);
            L.Pop(1);
        }
        PushCjson(L, "decode");
        L.PushCopy(1);
        if (L.PCall(1, -1, 0) != LuaStatus.OK) return CoreLib.Raise(L, LuaNative.ToBytes(L, -1) ?? "decode failed");
        var n = L.GetTop() - 2;
        if (nullAsNil && L.Type(3) != LuaType.Nil)
        {
            LuaJson.PushShared(L, LuaJson.NullKey);
            var nullIdx = L.GetTop();
            if (L.RawEqual(3, nullIdx)) { L.SetTop(2); L.PushNil(); return 1; }
            if (L.Type(3) == LuaType.Table) StripNulls(L, 3, nullIdx);
            L.Pop(1);
        }
        return n;
    });

    private static void StripNulls(LuaState L, int t, int nullIdx)
    {
        L.CheckStack(6);
        L.PushNil();
        while (L.Next(t))
        {
            if (L.RawEqual(-1, nullIdx))
            {
                L.Pop(1);
                L.PushCopy(-1);
                L.PushNil();
                L.RawSet(t);
                continue;
            }
            if (L.Type(-1) == LuaType.Table) StripNulls(L, L.GetTop(), nullIdx);
            L.Pop(1);
        }
    }

    private static int StripNullsFn(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.SetTop(1);
        if (L.Type(1) != LuaType.Table) return CoreLib.Raise(L, $"bad argument #1 to 'for iterator' (table expected, got {CoreLib.TypeName(L, 1)})");
        LuaJson.PushShared(L, LuaJson.NullKey);
        StripNulls(L, 1, 2);
        L.SetTop(1);
        return 1;
    });

    /// <summary><c>delay_encode(data, force)</c>: a table that encodes data when tostring is called on it (only if the line is logged).</summary>
    private static int DelayEncode(IntPtr p) => CoreLib.Guard(p, L =>
    {
        L.SetTop(2);
        L.CheckStack(6);
        L.CreateTable(0, 2);
        L.PushCopy(1);
        L.SetField(-2, "data");
        L.PushBoolean(L.ToBoolean(2));
        L.SetField(-2, "force");
        if (L.GetField((int)LuaRegistry.Index, DelayMtKey) != LuaType.Table)
        {
            L.Pop(1);
            L.NewTable();
            L.PushCFunction(DelayToString);
            L.SetField(-2, "__tostring");
            L.PushCopy(-1);
            L.SetField((int)LuaRegistry.Index, DelayMtKey);
        }
        L.SetMetaTable(-2);
        return 1;
    });

    private static int DelayTostring(IntPtr p)
    {
        var L = LuaState.FromIntPtr(p);
        try
        {
            L.SetTop(1);
            L.GetField(1, "data");
            L.GetField(1, "force");
            var force = L.ToBoolean(-1);
            var n = EncodeAt(L, 2, force);
            if (L.Type(-n) == LuaType.String) { L.Pop(n - 1); return 1; }
            ConfigUtil.Log(L, LogLevel.Warn, "failed to encode: " + (LuaNative.ToBytes(L, -1) ?? "nil") + " force: " + (force ? "true" : "false"));
            // __tostring must return a string
            LuaNative.PushBytes(L, "nil");
            return 1;
        }
        catch (Exception e)
        {
            LuaNative.PushBytes(L, "failed to encode: " + e.Message);
            return 1;
        }
    }
}
