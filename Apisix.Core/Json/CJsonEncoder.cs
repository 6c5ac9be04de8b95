using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Apisix.Core.Json;

/// <summary>
/// Serialiser matching lua-cjson's encoder output byte for byte, given the
/// same table contents.
/// </summary>
internal sealed class CJsonEncoder
{
    private const int MaxDepth = 1000;

    private readonly bool _escapeSlash;
    private readonly StringBuilder _sb = new();

    public CJsonEncoder(bool escapeForwardSlash) => _escapeSlash = escapeForwardSlash;

    public string Run(JsonNode? value)
    {
        Append(value, 0);
        return _sb.ToString();
    }

    private void Append(JsonNode? node, int depth)
    {
        switch (node)
        {
            case null:
                _sb.Append("null");
                return;
            case JsonObject obj:
                depth = Descend(depth);
                AppendObject(obj, depth);
                return;
            case JsonArray arr:
                depth = Descend(depth);
                AppendArray(arr, depth);
                return;
        }

        var v = (JsonValue)node;
        switch (v.GetValueKind())
        {
            case JsonValueKind.String:
                JsonScalars.TryGetString(v, out string s);
                AppendString(s);
                return;
            case JsonValueKind.Number:
                JsonScalars.TryGetNumber(v, out double d);
                AppendNumber(d);
                return;
            case JsonValueKind.True:
                _sb.Append("true");
                return;
            case JsonValueKind.False:
                _sb.Append("false");
                return;
            case JsonValueKind.Null:
                _sb.Append("null");
                return;
            default:
                // A JsonValue wrapping an object/array (e.g. a JsonElement):
                // encode the equivalent node tree.
                Append(JsonNode.Parse(v.ToJsonString()), depth);
                return;
        }
    }

    private static int Descend(int depth)
    {
        depth++;
        if (depth > MaxDepth)
            throw new CJsonException($"Cannot serialise, excessive nesting ({depth})");
        return depth;
    }

    private void AppendObject(JsonObject obj, int depth)
    {
        // Real cjson walks the Lua table with lua_next, i.e. hash order; the
        // port uses the JsonObject's insertion order instead.
        _sb.Append('{');
        bool first = true;
        foreach (var (key, value) in obj)
        {
            if (!first) _sb.Append(',');
            first = false;
            AppendString(key);
            _sb.Append(':');
            Append(value, depth);
        }
        _sb.Append('}');
    }

    private void AppendArray(JsonArray arr, int depth)
    {
        // An empty JsonArray stands for a table carrying cjson's array
        // metatable, so it stays "[]"; a plain empty table is an empty JsonObject.
        _sb.Append('[');
        for (int i = 0; i < arr.Count; i++)
        {
            if (i > 0) _sb.Append(',');
            Append(arr[i], depth);
        }
        _sb.Append(']');
    }

    private void AppendNumber(double d)
    {
        if (double.IsNaN(d) || double.IsInfinity(d))
            throw new CJsonException("Cannot serialise number: must not be NaN or Infinity");
        // LuaJIT numbers are doubles, so integers too go through %.14g.
        _sb.Append(LuaNumber.FormatG(d, 14));
    }

    private void AppendString(string s)
    {
        s = ByteString.Normalize(s);
        _sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': _sb.Append("\\\""); break;
                case '\\': _sb.Append("\\\\"); break;
                case '/':
                    _sb.Append(_escapeSlash ? "\\/" : "/");
                    break;
                case '\b': _sb.Append("\\b"); break;
                case '\t': _sb.Append("\\t"); break;
                case '\n': _sb.Append("\\n"); break;
                case '\f': _sb.Append("\\f"); break;
                case '\r': _sb.Append("\\r"); break;
                default:
                    // Other control bytes and DEL get \u00XX; bytes >= 0x80 pass through.
                    if (c < 0x20 || c == 0x7F)
                        _sb.Append("\\u00").Append(((int)c).ToString("x2"));
                    else
                        _sb.Append(c);
                    break;
            }
        }
        _sb.Append('"');
    }
}
