using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using KeraLua;
using LuaState = KeraLua.Lua;

namespace Apisix.Core.OpenResty.Libs;

/// <summary>How Lua tables become JSON, as lua-cjson's encoder settings decide it.</summary>
public sealed class LuaJsonEncodeOptions
{
    /// <summary>cjson.encode_empty_table_as_object: a plain empty table is <c>{}</c> (else <c>[]</c>).</summary>
    public bool EmptyTableAsObject { get; set; } = true;
    /// <summary>cjson.encode_sparse_array(convert, ratio, safe).</summary>
    public bool SparseConvert { get; set; }
    public int SparseRatio { get; set; } = 2;
    public int SparseSafe { get; set; } = 10;
    /// <summary>cjson.encode_max_depth.</summary>
    public int MaxDepth { get; set; } = 1000;
    /// <summary>cjson.encode_invalid_numbers("null"): NaN and infinities become null instead of an error.</summary>
    public bool InvalidNumbersAsNull { get; set; }
    /// <summary>cjson.encode_skip_unsupported_value_types: functions, userdata... are left out instead of an error.</summary>
    public bool SkipUnsupported { get; set; }

    public static readonly LuaJsonEncodeOptions Default = new();
}

/// <summary>
/// Lua values ⇄ <see cref="JsonNode"/>, following lua-cjson's rules. A table is an array when
/// every key is a positive integer (holes become null, excessively sparse arrays are an error),
/// an empty table is an object unless it carries <c>cjson.empty_array_mt</c> or
/// <c>cjson.array_mt</c> (the latter also forces array output of the table's 1..#t part);
/// <c>ngx.null</c> is JSON null. Decoding builds fresh tables; arrays get <c>cjson.array_mt</c>
/// when asked (APISIX decodes with <c>decode_array_with_array_mt(true)</c>).
///
/// The null sentinel and the two metatables live in the Lua registry (keys below), shared by the
/// cjson modules, <c>core.json</c> and C# callers. Two API levels: stack level (KeraLua state and
/// index, for C functions) and object level (NLua values, for bridge methods).
/// </summary>
public static class LuaJson
{
    public const string NullKey = "apisix.json.null";
    public const string ArrayMtKey = "apisix.json.array_mt";
    public const string EmptyArrayMtKey = "apisix.json.empty_array_mt";

    private const double MaxExact = 9007199254740992d;

    // Shared values ----------------------------------------------------------------------------

    /// <summary>Create the registry entries once per Lua state (null is the global ngx.null when there is one).</summary>
    public static void EnsureShared(LuaState L)
    {
        L.CheckStack(4);
        if (L.GetField(LuaRegistry.Index, NullKey) != LuaType.Nil)
        {
            L.Pop(1);
            return;
        }
        L.Pop(1);
        L.NewTable();
        L.SetField((int)LuaRegistry.Index, ArrayMtKey);
        L.NewTable();
        L.SetField((int)LuaRegistry.Index, EmptyArrayMtKey);
        if (L.GetGlobal("ngx") == LuaType.Table)
        {
            L.GetField(-1, "null");
            L.Remove(-2);
        }
        if (L.Type(-1) != LuaType.Table && L.Type(-1) != LuaType.LightUserData)
        {
            L.Pop(1);
            L.NewTable();
        }
        L.SetField((int)LuaRegistry.Index, NullKey);
    }

    /// <summary>Push null, array_mt, empty_array_mt (in that order).</summary>
    private static void PushShared(LuaState L)
    {
        EnsureShared(L);
        L.CheckStack(3);
        L.GetField(LuaRegistry.Index, NullKey);
        L.GetField(LuaRegistry.Index, ArrayMtKey);
        L.GetField(LuaRegistry.Index, EmptyArrayMtKey);
    }

    /// <summary>Push one of the shared values by registry key.</summary>
    public static void PushShared(LuaState L, string key)
    {
        EnsureShared(L);
        L.CheckStack(1);
        L.GetField(LuaRegistry.Index, key);
    }

    private readonly record struct Shared(int Null, int ArrayMt, int EmptyArrayMt);

    // Lua → JSON -------------------------------------------------------------------------------

    /// <summary>
    /// The value at <paramref name="index"/> as JSON. Throws <see cref="CJsonException"/> with
    /// cjson's message for what cjson refuses. The stack is left as it was.
    /// </summary>
    public static JsonNode? ToJson(LuaState L, int index, LuaJsonEncodeOptions? options = null)
    {
        options ??= LuaJsonEncodeOptions.Default;
        var idx = L.AbsIndex(index);
        var top = L.GetTop();
        try
        {
            PushShared(L);
            var sh = new Shared(top + 1, top + 2, top + 3);
            return Convert(L, idx, 0, sh, options, out _);
        }
        finally
        {
            L.SetTop(top);
        }
    }

    private static string TypeName(LuaState L, LuaType t) => t switch
    {
        LuaType.LightUserData => "userdata",
        _ => L.TypeName(t),
    };

    private static JsonNode? Convert(LuaState L, int idx, int depth, Shared sh, LuaJsonEncodeOptions o, out bool skip)
    {
        skip = false;
        var t = L.Type(idx);
        switch (t)
        {
            case LuaType.None:
            case LuaType.Nil:
                return null;
            case LuaType.Boolean:
                return JsonValue.Create(L.ToBoolean(idx));
            case LuaType.Number:
                if (L.IsInteger(idx)) return CJson.NumberNode(L.ToInteger(idx));
                var d = L.ToNumber(idx);
                if ((double.IsNaN(d) || double.IsInfinity(d)) && o.InvalidNumbersAsNull) return null;
                return CJson.NumberNode(d);
            case LuaType.String:
                return JsonValue.Create(Encoding.Latin1.GetString(L.ToBuffer(idx, false) ?? []));
            case LuaType.LightUserData:
                if (L.ToUserData(idx) == IntPtr.Zero) return null;
                break;
            case LuaType.Table:
                if (L.RawEqual(idx, sh.Null)) return null;
                return ConvertTable(L, idx, depth + 1, sh, o);
        }
        if (o.SkipUnsupported)
        {
            skip = true;
            return null;
        }
        throw new CJsonException($"Cannot serialise {TypeName(L, t)}: type not supported");
    }

    private static JsonNode ConvertTable(LuaState L, int idx, int depth, Shared sh, LuaJsonEncodeOptions o)
    {
        if (depth > o.MaxDepth) throw new CJsonException($"Cannot serialise, excessive nesting ({depth})");
        if (!L.CheckStack(6)) throw new CJsonException($"Cannot serialise, excessive nesting ({depth})");

        bool asArray = false, emptyArrayMt = false;
        if (L.GetMetaTable(idx))
        {
            asArray = L.RawEqual(-1, sh.ArrayMt);
            emptyArrayMt = L.RawEqual(-1, sh.EmptyArrayMt);
            L.Pop(1);
        }
        if (asArray) return ConvertArray(L, idx, L.RawLen(idx), depth, sh, o);

        var len = ArrayLength(L, idx, o);
        if (len > 0 || (len == 0 && !o.EmptyTableAsObject)) return ConvertArray(L, idx, len, depth, sh, o);
        if (emptyArrayMt) return ConvertArray(L, idx, L.RawLen(idx), depth, sh, o);
        return ConvertObject(L, idx, depth, sh, o);
    }

    /// <summary>cjson's lua_array_length: the largest key when all keys are positive integers, else -1.</summary>
    private static long ArrayLength(LuaState L, int idx, LuaJsonEncodeOptions o)
    {
        double max = 0;
        long items = 0;
        L.PushNil();
        while (L.Next(idx))
        {
            if (L.Type(-2) == LuaType.Number)
            {
                double k = L.IsInteger(-2) ? L.ToInteger(-2) : L.ToNumber(-2);
                if (Math.Floor(k) == k && k >= 1)
                {
                    if (k > max) max = k;
                    items++;
                    L.Pop(1);
                    continue;
                }
            }
            L.Pop(2);
            return -1;
        }
        if (o.SparseRatio > 0 && max > items * o.SparseRatio && max > o.SparseSafe)
        {
            if (!o.SparseConvert) throw new CJsonException("Cannot serialise table: excessively sparse array");
            return -1;
        }
        return (long)max;
    }

    private static JsonArray ConvertArray(LuaState L, int idx, long len, int depth, Shared sh, LuaJsonEncodeOptions o)
    {
        var arr = new JsonArray();
        for (long i = 1; i <= len; i++)
        {
            L.RawGetInteger(idx, i);
            var node = Convert(L, L.GetTop(), depth, sh, o, out var skip);
            L.Pop(1);
            if (!skip) arr.Add(node);
        }
        return arr;
    }

    private static JsonObject ConvertObject(LuaState L, int idx, int depth, Shared sh, LuaJsonEncodeOptions o)
    {
        var obj = new JsonObject();
        L.PushNil();
        while (L.Next(idx))
        {
            string key;
            var kt = L.Type(-2);
            if (kt == LuaType.Number)
                key = LuaNumber.FormatG(L.IsInteger(-2) ? L.ToInteger(-2) : L.ToNumber(-2), 14);
            else if (kt == LuaType.String)
                key = Encoding.Latin1.GetString(L.ToBuffer(-2, false) ?? []);
            else
            {
                L.Pop(2);
                throw new CJsonException($"Cannot serialise {TypeName(L, kt)}: table key must be a number or string");
            }
            var node = Convert(L, L.GetTop(), depth, sh, o, out var skip);
            L.Pop(1);
            if (!skip) obj[key] = node;
        }
        return obj;
    }

    // JSON → Lua -------------------------------------------------------------------------------

    /// <summary>Push <paramref name="node"/> as a Lua value (JSON null is ngx.null).</summary>
    public static void Push(LuaState L, JsonNode? node, bool arrayMt = true)
    {
        var top = L.GetTop();
        PushShared(L);
        PushNode(L, node, new Shared(top + 1, top + 2, top + 3), arrayMt);
        L.Replace(top + 1);
        L.SetTop(top + 1);
    }

    private static void PushNode(LuaState L, JsonNode? node, Shared sh, bool arrayMt)
    {
        if (!L.CheckStack(4)) throw new CJsonException("stack overflow while building a table");
        switch (node)
        {
            case null:
                L.PushCopy(sh.Null);
                return;
            case JsonObject obj:
                L.CreateTable(0, obj.Count);
                foreach (var (k, v) in obj)
                {
                    LuaNative.PushBytes(L, k);
                    PushNode(L, v, sh, arrayMt);
                    L.RawSet(-3);
                }
                return;
            case JsonArray arr:
                L.CreateTable(arr.Count, 0);
                for (int i = 0; i < arr.Count; i++)
                {
                    PushNode(L, arr[i], sh, arrayMt);
                    L.RawSetInteger(-2, i + 1);
                }
                if (arrayMt)
                {
                    L.PushCopy(sh.ArrayMt);
                    L.SetMetaTable(-2);
                }
                return;
            case JsonValue v:
                PushScalar(L, v, sh);
                return;
        }
    }

    private static void PushScalar(LuaState L, JsonValue v, Shared sh)
    {
        switch (v.GetValueKind())
        {
            case JsonValueKind.String:
                JsonScalars.TryGetString(v, out var s);
                LuaNative.PushBytes(L, s);
                return;
            case JsonValueKind.Number:
                if (v.TryGetValue(out long l))
                {
                    if (Math.Abs((double)l) <= MaxExact) L.PushInteger(l);
                    else L.PushNumber(l);
                    return;
                }
                JsonScalars.TryGetNumber(v, out var d);
                LuaNative.PushNumber(L, d);
                return;
            case JsonValueKind.True:
                L.PushBoolean(true);
                return;
            case JsonValueKind.False:
                L.PushBoolean(false);
                return;
            case JsonValueKind.Object:
            case JsonValueKind.Array:
                // a JsonValue wrapping a JsonElement object/array
                PushNode(L, JsonNode.Parse(v.ToJsonString()), sh, true);
                return;
            default:
                L.PushCopy(sh.Null);
                return;
        }
    }

    /// <summary>
    /// Copy <paramref name="source"/> into the existing table at <paramref name="tableIndex"/>:
    /// keys the JSON has are set (nested tables are updated in place, so references held by
    /// the caller stay valid); keys only the table has are kept.
    /// </summary>
    public static void SyncInto(LuaState L, int tableIndex, JsonNode? source)
    {
        if (L.Type(tableIndex) != LuaType.Table) return;
        var idx = L.AbsIndex(tableIndex);
        var top = L.GetTop();
        try
        {
            PushShared(L);
            SyncNode(L, idx, source, new Shared(top + 1, top + 2, top + 3));
        }
        finally
        {
            L.SetTop(top);
        }
    }

    private static bool IsPlainTable(LuaState L, int idx, Shared sh) => L.Type(idx) == LuaType.Table && !L.RawEqual(idx, sh.Null);

    private static void SyncNode(LuaState L, int idx, JsonNode? source, Shared sh)
    {
        if (!L.CheckStack(6)) return;
        switch (source)
        {
            case JsonObject obj:
                foreach (var (k, v) in obj)
                {
                    LuaNative.PushBytes(L, k);
                    L.RawGet(idx);
                    if (v is JsonObject or JsonArray && IsPlainTable(L, -1, sh))
                    {
                        SyncNode(L, L.GetTop(), v, sh);
                        L.Pop(1);
                        continue;
                    }
                    L.Pop(1);
                    LuaNative.PushBytes(L, k);
                    PushNode(L, v, sh, true);
                    L.RawSet(idx);
                }
                break;
            case JsonArray arr:
                for (int i = 0; i < arr.Count; i++)
                {
                    var v = arr[i];
                    L.RawGetInteger(idx, i + 1);
                    if (v is JsonObject or JsonArray && IsPlainTable(L, -1, sh))
                    {
                        SyncNode(L, L.GetTop(), v, sh);
                        L.Pop(1);
                        continue;
                    }
                    L.Pop(1);
                    PushNode(L, v, sh, true);
                    L.RawSetInteger(idx, i + 1);
                }
                break;
        }
    }

    // NLua object level -------------------------------------------------------------------------

    /// <summary>Push a CLR value as NLua would (LuaTable, string as bytes, numbers, bool, JsonNode...).</summary>
    public static void PushClr(NLua.Lua lua, object? value)
    {
        var L = lua.State;
        L.CheckStack(2);
        switch (value)
        {
            case null: L.PushNil(); break;
            case string s: LuaNative.PushBytes(L, s); break;
            case long l: L.PushInteger(l); break;
            case int i: L.PushInteger(i); break;
            case double d: L.PushNumber(d); break;
            case bool b: L.PushBoolean(b); break;
            case JsonNode n: Push(L, n); break;
            default: lua.Push(value); break;
        }
    }

    /// <summary><paramref name="value"/> (an NLua value: LuaTable, string, long, double, bool, null) as JSON.</summary>
    public static JsonNode? ToJson(NLua.Lua lua, object? value, LuaJsonEncodeOptions? options = null)
    {
        var L = lua.State;
        var top = L.GetTop();
        try
        {
            PushClr(lua, value);
            return ToJson(L, -1, options);
        }
        finally
        {
            L.SetTop(top);
        }
    }

    /// <summary>Like <see cref="ToJson(NLua.Lua, object?, LuaJsonEncodeOptions?)"/>, with cjson's message instead of an exception.</summary>
    public static (JsonNode? Value, string? Error) TryToJson(NLua.Lua lua, object? value, LuaJsonEncodeOptions? options = null)
    {
        try { return (ToJson(lua, value, options), null); }
        catch (CJsonException e) { return (null, e.Message); }
    }

    /// <summary>A Lua value for <paramref name="node"/>: a LuaTable, string, long, double, bool, or the ngx.null table.</summary>
    public static object? FromJson(NLua.Lua lua, JsonNode? node, bool arrayMt = true)
    {
        Push(lua.State, node, arrayMt);
        return lua.Pop();
    }

    /// <summary>Write <paramref name="source"/>'s values into an existing table (see the stack-level overload).</summary>
    public static void SyncInto(NLua.Lua lua, NLua.LuaTable target, JsonNode? source)
    {
        var L = lua.State;
        var top = L.GetTop();
        try
        {
            lua.Push(target);
            SyncInto(L, -1, source);
        }
        finally
        {
            L.SetTop(top);
        }
    }

    /// <summary>Whether an NLua value is the JSON null sentinel (ngx.null).</summary>
    public static bool IsNull(NLua.Lua lua, object? value)
    {
        if (value is not NLua.LuaTable) return false;
        var L = lua.State;
        var top = L.GetTop();
        try
        {
            lua.Push(value);
            PushShared(L, NullKey);
            return L.RawEqual(-1, -2);
        }
        finally
        {
            L.SetTop(top);
        }
    }
}
