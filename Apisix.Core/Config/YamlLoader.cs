using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Apisix.Core.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Apisix.Core.Config;

/// <summary>Raised when a config text cannot be loaded; the message is APISIX's wording where it has one.</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string message) : base(message) { }
    public ConfigException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// YAML text to JsonNode the way <c>lyaml.load</c> types it: plain scalars
/// go through lyaml's implicit resolvers (null, octal, decimal, float, bool
/// incl. yes/no/on/off, inf, nan, hexadecimal, binary, sexagesimal), quoted
/// scalars stay strings, explicit <c>!!tags</c> are honoured. YAML null is C#
/// null. Only the first document is read. Anchors and aliases are copied;
/// <c>&lt;&lt;</c> merge keys are applied.
/// </summary>
public static class YamlLoader
{
    private const string TagPrefix = "tag:yaml.org,2002:";

    /// <summary>
    /// Loads the first document; an empty text gives null. A key repeated in
    /// one mapping keeps its last value, as a Lua table built from the parse
    /// events does.
    /// </summary>
    public static JsonNode? Load(string text)
    {
        try
        {
            var parser = new Parser(new StringReader(text));
            parser.Consume<StreamStart>();
            if (!parser.TryConsume<DocumentStart>(out _)) return null;
            var anchors = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
            return ReadNode(parser, anchors);
        }
        catch (YamlException e)
        {
            throw new ConfigException("invalid yaml: " + e.Message, e);
        }
    }

    private static JsonNode? ReadNode(IParser parser, Dictionary<string, JsonNode?> anchors)
    {
        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            if (!anchors.TryGetValue(alias.Value.Value, out var target))
                throw new ConfigException("invalid yaml: unknown anchor " + alias.Value.Value);
            return target?.DeepClone();
        }

        if (parser.TryConsume<Scalar>(out var scalar))
        {
            var value = ConvertScalar(scalar);
            Remember(anchors, scalar.Anchor, value);
            return value;
        }

        if (parser.TryConsume<SequenceStart>(out var seqStart))
        {
            var arr = new JsonArray();
            while (!parser.TryConsume<SequenceEnd>(out _)) arr.Add(ReadNode(parser, anchors));
            Remember(anchors, seqStart.Anchor, arr);
            return arr;
        }

        if (parser.TryConsume<MappingStart>(out var mapStart))
        {
            var obj = new JsonObject();
            var merges = new List<JsonNode?>();
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                bool mergeKey = parser.Current is Scalar { Value: "<<", Style: ScalarStyle.Plain };
                var keyNode = ReadNode(parser, anchors);
                var valueNode = ReadNode(parser, anchors);
                if (mergeKey)
                {
                    merges.Add(valueNode);
                    continue;
                }
                obj[KeyText(keyNode)] = valueNode;
            }

            // Merge keys: entries the mapping does not set itself.
            foreach (var m in merges)
            {
                var sources = m is JsonArray list ? list.ToList() : new List<JsonNode?> { m };
                foreach (var src in sources)
                {
                    if (src is not JsonObject from) continue;
                    foreach (var (fk, fv) in from.ToList())
                    {
                        if (!obj.ContainsKey(fk)) obj[fk] = fv?.DeepClone();
                    }
                }
            }

            Remember(anchors, mapStart.Anchor, obj);
            return obj;
        }

        throw new ConfigException("invalid yaml: unexpected " + parser.Current?.GetType().Name);
    }

    private static void Remember(Dictionary<string, JsonNode?> anchors, AnchorName anchor, JsonNode? value)
    {
        if (!anchor.IsEmpty) anchors[anchor.Value] = value;
    }

    /// <summary>A mapping key as text (Lua would keep numbers and booleans as such; JSON keys are strings).</summary>
    private static string KeyText(JsonNode? key) => key switch
    {
        null => "null",
        JsonValue v when JsonScalars.TryGetString(v, out string s) => s,
        JsonValue v when JsonScalars.TryGetNumber(v, out double d) => LuaNumber.ToLuaString(d),
        _ => key.ToJsonString(),
    };

    private static JsonNode? ConvertScalar(Scalar scalar)
    {
        string value = scalar.Value ?? "";
        string tag = scalar.Tag.IsEmpty ? "" : scalar.Tag.Value;

        if (tag.StartsWith(TagPrefix, StringComparison.Ordinal))
        {
            switch (tag.Substring(TagPrefix.Length))
            {
                case "str":
                    return JsonValue.Create(value);
                case "null":
                    return null;
                case "bool":
                    return Bool(value) is bool b ? JsonValue.Create(b) : JsonValue.Create(value);
                case "int":
                case "float":
                    return Number(value) is double d ? CJson.NumberNode(d) : JsonValue.Create(value);
            }
        }

        if (scalar.Style != ScalarStyle.Plain) return JsonValue.Create(value);

        return Implicit(value);
    }

    /// <summary>lyaml's implicit typing of a plain scalar.</summary>
    public static JsonNode? Implicit(string value)
    {
        if (value is "" or "~" or "null" or "Null" or "NULL") return null;
        if (Octal(value) is double o) return CJson.NumberNode(o);
        if (Decimal(value) is double dec) return CJson.NumberNode(dec);
        if (Float(value) is double f) return CJson.NumberNode(f);
        if (Bool(value) is bool b) return JsonValue.Create(b);
        // LuaJIT numbers cannot hold inf/nan in our JSON model; keep them as doubles.
        switch (value)
        {
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF":
                return JsonValue.Create(double.PositiveInfinity);
            case "-.inf" or "-.Inf" or "-.INF":
                return JsonValue.Create(double.NegativeInfinity);
            case ".nan" or ".NaN" or ".NAN":
                return JsonValue.Create(double.NaN);
        }
        if (Hexadecimal(value) is double h) return CJson.NumberNode(h);
        if (Binary(value) is double bin) return CJson.NumberNode(bin);
        if (Sexagesimal(value) is double sx) return CJson.NumberNode(sx);
        if (SexFloat(value) is double sf) return CJson.NumberNode(sf);
        return JsonValue.Create(value);
    }

    private static bool? Bool(string v) => v switch
    {
        "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "on" or "On" or "ON" => true,
        "false" or "False" or "FALSE" or "no" or "No" or "NO" or "off" or "Off" or "OFF" => false,
        _ => null,
    };

    private static readonly Regex OctalRe = new(@"^([+-]?)0_*([0-7][0-7_]*)$");
    private static readonly Regex DecimalRe = new(@"^([+-]?)_*([0-9][0-9_]*)$");
    private static readonly Regex HexRe = new(@"^([+-]?)0x_*([0-9a-fA-F][0-9a-fA-F_]*)$");
    private static readonly Regex BinaryRe = new(@"^([+-]?)0b_*([01][01_]+)$");
    private static readonly Regex SexRe = new(@"^([+-]?)([0-9]+:[0-5]?[0-9][:0-9]*)$");
    private static readonly Regex SexFloatRe = new(@"^([+-]?)([0-9]+:[0-5]?[0-9][:0-9]*)(\.[0-9]+)$");

    private static double? Digits(Regex re, string v, int radix)
    {
        var m = re.Match(v);
        if (!m.Success) return null;
        double r = 0;
        foreach (char c in m.Groups[2].Value)
        {
            if (c == '_') continue;
            r = r * radix + System.Convert.ToInt32(c.ToString(), 16);
        }
        return m.Groups[1].Value == "-" ? -r : r;
    }

    private static double? Octal(string v) => Digits(OctalRe, v, 8);

    private static double? Binary(string v) => Digits(BinaryRe, v, 2);

    private static double? Hexadecimal(string v) => Digits(HexRe, v, 16);

    private static double? Decimal(string v)
    {
        var m = DecimalRe.Match(v);
        if (!m.Success) return null;
        string rest = m.Groups[2].Value.Replace("_", "");
        // A leading zero makes it octal (or nothing), except "0" itself.
        if (!(rest == "0" || rest.Length > 1 || rest[0] != '0')) return null;
        double r = double.Parse(rest, CultureInfo.InvariantCulture);
        return m.Groups[1].Value == "-" ? -r : r;
    }

    private static double? Float(string v)
    {
        var r = LuaText.ToNumber(v.Replace("_", ""));
        if (r != null && v.IndexOfAny(new[] { '.', 'e', 'E' }) >= 0) return r;
        return null;
    }

    private static double? Sexagesimal(string v)
    {
        var m = SexRe.Match(v);
        if (!m.Success) return null;
        double r = 0;
        foreach (var part in m.Groups[2].Value.Split(':', StringSplitOptions.RemoveEmptyEntries))
            r = r * 60 + double.Parse(part, CultureInfo.InvariantCulture);
        return m.Groups[1].Value == "-" ? -r : r;
    }

    private static double? SexFloat(string v)
    {
        var m = SexFloatRe.Match(v);
        if (!m.Success) return null;
        double r = 0;
        foreach (var part in m.Groups[2].Value.Split(':', StringSplitOptions.RemoveEmptyEntries))
            r = r * 60 + double.Parse(part, CultureInfo.InvariantCulture);
        r += double.Parse("0" + m.Groups[3].Value, CultureInfo.InvariantCulture);
        return m.Groups[1].Value == "-" ? -r : r;
    }

    private static double? Number(string v) =>
        Decimal(v) ?? Octal(v) ?? Hexadecimal(v) ?? Binary(v) ?? LuaText.ToNumber(v.Replace("_", ""));
}
