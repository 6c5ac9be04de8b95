using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;

namespace Apisix.Plugins.AiProxy.AiTransport;

/// <summary>
/// The C# half of the Lua module <c>apisix.plugins.ai-transport.sse</c>
/// (Bridges/Lua/apisix/plugins/ai-transport/sse.lua), bridge object
/// "apisix.plugins.ai-transport.sse". Methods return their result, or nil and an error.
/// </summary>
public sealed class SseBridge
{
    public const string Name = "apisix.plugins.ai-transport.sse";

    private static readonly LuaJsonEncodeOptions Lenient = new() { SparseConvert = true, SkipUnsupported = true };

    private readonly NLua.Lua _lua;

    public SseBridge(LuaWorker worker) => _lua = worker.Lua;

    public long MaxRemainder => Sse.MaxRemainder;

    /// <summary>A Lua string (or number, which Lua would coerce) as a byte string.</summary>
    internal static string? LuaString(object? v) => v switch
    {
        string s => ByteString.Normalize(s),
        long l => l.ToString(System.Globalization.CultureInfo.InvariantCulture),
        double d => LuaNumber.ToLuaString(d),
        _ => null,
    };

    internal static string LuaTypeName(object? v) => v switch
    {
        null => "nil",
        bool => "boolean",
        string => "string",
        long or double => "number",
        NLua.LuaTable => "table",
        NLua.LuaFunction => "function",
        _ => "userdata",
    };

    public object? Decode(object? chunk, out string? err)
    {
        err = null;
        try
        {
            if (chunk == null || chunk is false) return LuaJson.FromJson(_lua, Sse.Decode(null), arrayMt: false);
            var s = LuaString(chunk);
            if (s == null)
            {
                err = $"attempt to get length of local 'chunk' (a {LuaTypeName(chunk)} value)";
                return null;
            }
            return LuaJson.FromJson(_lua, Sse.Decode(s), arrayMt: false);
        }
        catch (Exception e)
        {
            err = e.Message;
            return null;
        }
    }

    public string? Encode(object? ev, out string? err)
    {
        err = null;
        try
        {
            if (ev is not NLua.LuaTable)
            {
                err = $"attempt to index local 'event' (a {LuaTypeName(ev)} value)";
                return null;
            }
            var node = LuaJson.ToJson(_lua, ev, Lenient);
            if (node is not JsonObject obj) obj = new JsonObject();
            return Sse.Encode(obj);
        }
        catch (Exception e)
        {
            err = e.Message;
            return null;
        }
    }

    public object? DecodeBuf(object? buf, out string? remainder, out string? err)
    {
        remainder = null;
        err = null;
        try
        {
            var s = LuaString(buf);
            if (s == null)
            {
                err = $"attempt to get length of local 'buf' (a {LuaTypeName(buf)} value)";
                return null;
            }
            var (events, rest) = Sse.DecodeBuf(s);
            remainder = rest;
            return LuaJson.FromJson(_lua, events, arrayMt: false);
        }
        catch (Exception e)
        {
            err = e.Message;
            return null;
        }
    }

    public string? SplitBuf(object? buf, out string? remainder, out string? err)
    {
        remainder = null;
        err = null;
        var s = LuaString(buf);
        if (s == null)
        {
            err = $"attempt to index local 'buf' (a {LuaTypeName(buf)} value)";
            return null;
        }
        var (complete, rest) = Sse.SplitBuf(s);
        remainder = rest;
        return complete;
    }
}
