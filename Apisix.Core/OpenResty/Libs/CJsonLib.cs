using Apisix.Core.Json;
using KeraLua;
using LuaState = KeraLua.Lua;

namespace Apisix.Core.OpenResty.Libs;

/// <summary>
/// The native half of the <c>cjson</c> / <c>cjson.safe</c> modules (Lua/cjson/impl.lua):
/// `encode(value, cfg)` and `decode(text, cfg)` return the result or nil and cjson's message;
/// `shared()` returns null, array_mt and empty_array_mt. Exposed as bridge object "cjson".
/// </summary>
public static class CJsonLib
{
    private static readonly LuaFunction EncodeFn = Encode;
    private static readonly LuaFunction DecodeFn = Decode;
    private static readonly LuaFunction SharedFn = Shared;

    public static object Create(LuaWorker w) =>
        LuaNative.Table(w.Lua, [("encode", EncodeFn), ("decode", DecodeFn), ("shared", SharedFn)]);

    private static bool BoolField(LuaState L, int cfg, string name, bool dflt)
    {
        if (L.Type(cfg) != LuaType.Table) return dflt;
        var t = L.GetField(cfg, name);
        var r = t == LuaType.Nil ? dflt : L.ToBoolean(-1);
        L.Pop(1);
        return r;
    }

    private static int IntField(LuaState L, int cfg, string name, int dflt)
    {
        if (L.Type(cfg) != LuaType.Table) return dflt;
        L.GetField(cfg, name);
        var r = LuaNative.ToLong(L, -1) is long l ? (int)l : dflt;
        L.Pop(1);
        return r;
    }

    private static int Encode(IntPtr p)
    {
        var L = LuaState.FromIntPtr(p);
        try
        {
            L.CheckStack(8);
            var opts = new LuaJsonEncodeOptions
            {
                EmptyTableAsObject = BoolField(L, 2, "empty_table_as_object", true),
                SparseConvert = BoolField(L, 2, "sparse_convert", false),
                SparseRatio = IntField(L, 2, "sparse_ratio", 2),
                SparseSafe = IntField(L, 2, "sparse_safe", 10),
                MaxDepth = IntField(L, 2, "max_depth", 1000),
                InvalidNumbersAsNull = BoolField(L, 2, "invalid_numbers_null", false),
                SkipUnsupported = BoolField(L, 2, "skip_unsupported", false),
            };
            var escape = BoolField(L, 2, "escape_slash", true);
            var node = LuaJson.ToJson(L, 1, opts);
            var text = CJson.Encode(node, escape);
            LuaNative.PushBytes(L, text);
            return 1;
        }
        catch (CJsonException e)
        {
            return LuaNative.Fail(L, e.Message);
        }
        catch (Exception e)
        {
            return LuaNative.Fail(L, "cjson encode failed: " + e.Message);
        }
    }

    private static int Decode(IntPtr p)
    {
        var L = LuaState.FromIntPtr(p);
        try
        {
            var text = LuaNative.ToBytes(L, 1);
            if (text == null)
                return LuaNative.Fail(L, $"bad argument #1 to 'decode' (string expected, got {L.TypeName(L.Type(1))})");
            var arrayMt = BoolField(L, 2, "array_mt", false);
            var (node, err) = CJson.Decode(text);
            if (err != null) return LuaNative.Fail(L, err);
            L.CheckStack(4);
            LuaJson.Push(L, node, arrayMt);
            return 1;
        }
        catch (Exception e)
        {
            return LuaNative.Fail(L, "cjson decode failed: " + e.Message);
        }
    }

    private static int Shared(IntPtr p)
    {
        var L = LuaState.FromIntPtr(p);
        try
        {
            LuaJson.PushShared(L, LuaJson.NullKey);
            LuaJson.PushShared(L, LuaJson.ArrayMtKey);
            LuaJson.PushShared(L, LuaJson.EmptyArrayMtKey);
            return 3;
        }
        catch (Exception e)
        {
            return LuaNative.Fail(L, e.Message);
        }
    }
}
