// Twin of the `jsonpath` rock (lua-jsonpath 1.0), the subset APISIX uses: jp.parse and jp.query
using System.Globalization;
using System.Text.Json.Nodes;

namespace Apisix.Core.Utils;

/// <summary>
/// JSONPath over a parsed JSON value, as APISIX uses it for <c>post_arg.*</c> variables and the
/// admin API's check of them. Supported: <c>$</c>, <c>.name</c>, <c>..name</c>, <c>.*</c>,
/// <c>[*]</c>, <c>[n]</c> and <c>[n,m]</c> (negative counts from the end), <c>[a:b]</c>,
/// <c>['name']</c> / <c>["name"]</c> (comma lists too). Filter and script expressions
/// (<c>?(...)</c>, <c>(...)</c>) are refused with an error naming them, never ignored.
/// A path that does not parse gives "invalid expression", as the rock's parse does.
/// </summary>
public static class JsonPath
{
    public const string InvalidExpression = "invalid expression";

    private enum Kind { Child, Descendant }

    private sealed record Step(Kind Kind, bool Wildcard, List<string>? Names, List<int>? Indexes, (int? From, int? To)? Slice);

    /// <summary><c>jp.parse(path)</c>: null error when the path is valid.</summary>
    public static string? Parse(string path) => Compile(path).Error;

    /// <summary><c>jp.query(obj, path)</c>: every match, in document order.</summary>
    public static (List<JsonNode?>? Results, string? Error) Query(JsonNode? root, string path)
    {
        var (steps, err) = Compile(path);
        if (steps == null) return (null, err);
        var current = new List<JsonNode?> { root };
        foreach (var step in steps)
        {
            var next = new List<JsonNode?>();
            foreach (var node in current)
            {
                if (step.Kind == Kind.Child) Select(node, step, next);
                else foreach (var d in SelfAndDescendants(node)) Select(d, step, next);
            }
            current = next;
        }
        return (current, null);
    }

    private static IEnumerable<JsonNode?> SelfAndDescendants(JsonNode? node)
    {
        yield return node;
        IEnumerable<JsonNode?> children = node switch
        {
            JsonObject o => o.Select(kv => kv.Value),
            JsonArray a => a,
            _ => [],
        };
        foreach (var c in children)
            foreach (var d in SelfAndDescendants(c)) yield return d;
    }

    private static void Select(JsonNode? node, Step step, List<JsonNode?> into)
    {
        switch (node)
        {
            case JsonObject o:
                if (step.Wildcard) into.AddRange(o.Select(kv => kv.Value));
                else if (step.Names != null)
                    foreach (var n in step.Names) if (o.TryGetPropertyValue(n, out var v)) into.Add(v);
                break;
            case JsonArray a:
                if (step.Wildcard) into.AddRange(a);
                else if (step.Indexes != null)
                    foreach (var i in step.Indexes)
                    {
                        var at = i < 0 ? a.Count + i : i;
                        if (at >= 0 && at < a.Count) into.Add(a[at]);
                    }
                else if (step.Slice is var (from, to))
                {
                    var f = Clamp(from ?? 0, a.Count);
                    var t = Clamp(to ?? a.Count, a.Count);
                    for (var i = f; i < t; i++) into.Add(a[i]);
                }
                else if (step.Names != null)
                    foreach (var n in step.Names)
                        if (int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count) into.Add(a[i]);
                break;
        }
    }

    private static int Clamp(int i, int count) => Math.Clamp(i < 0 ? count + i : i, 0, count);

    private static (List<Step>? Steps, string? Error) Compile(string path)
    {
        var steps = new List<Step>();
        if (path.Length == 0 || path[0] != '$') return (null, InvalidExpression);
        var p = 1;
        while (p < path.Length)
        {
            Kind kind;
            if (path[p] == '.')
            {
                kind = Kind.Child;
                p++;
                if (p < path.Length && path[p] == '.') { kind = Kind.Descendant; p++; }
                if (p >= path.Length) return (null, InvalidExpression);
                if (path[p] == '*') { steps.Add(new Step(kind, true, null, null, null)); p++; continue; }
                if (path[p] == '[')
                {
                    if (kind == Kind.Child) return (null, InvalidExpression);
                    var (bs, berr) = Bracket(path, ref p, kind);
                    if (bs == null) return (null, berr);
                    steps.Add(bs);
                    continue;
                }
                var start = p;
                while (p < path.Length && IsNameChar(path[p])) p++;
                if (p == start) return (null, InvalidExpression);
                steps.Add(new Step(kind, false, [path[start..p]], null, null));
            }
            else if (path[p] == '[')
            {
                var (bs, berr) = Bracket(path, ref p, Kind.Child);
                if (bs == null) return (null, berr);
                steps.Add(bs);
            }
            else return (null, InvalidExpression);
        }
        return (steps, null);
    }

    private static bool IsNameChar(char c) => char.IsLetterOrDigit(c) || c is '_' or '-' or '$' || c > 127;

    // path[p] is '['; on success p is past the matching ']'
    private static (Step? Step, string? Error) Bracket(string path, ref int p, Kind kind)
    {
        var close = -1;
        char? quote = null;
        for (var i = p + 1; i < path.Length; i++)
        {
            var c = path[i];
            if (quote != null) { if (c == '\\') i++; else if (c == quote) quote = null; continue; }
            if (c is '\'' or '"') quote = c;
            else if (c == '[') return (null, InvalidExpression);
            else if (c == ']') { close = i; break; }
        }
        if (close < 0) return (null, InvalidExpression);
        var inner = path[(p + 1)..close].Trim();
        p = close + 1;
        if (inner.Length == 0) return (null, InvalidExpression);
        if (inner == "*") return (new Step(kind, true, null, null, null), null);
        if (inner[0] is '?' or '(')
            return (null, "filter and script expressions are not supported by this port: [" + inner + "]");
        if (inner.Contains(':'))
        {
            var parts = inner.Split(':');
            if (parts.Length > 3) return (null, InvalidExpression);
            int? from = null, to = null;
            if (parts[0].Trim().Length > 0) { if (!TryInt(parts[0], out var f)) return (null, InvalidExpression); from = f; }
            if (parts[1].Trim().Length > 0) { if (!TryInt(parts[1], out var t)) return (null, InvalidExpression); to = t; }
            if (parts.Length == 3 && parts[2].Trim() is { Length: > 0 } s && s != "1")
                return (null, "slice steps are not supported by this port: [" + inner + "]");
            return (new Step(kind, false, null, null, (from, to)), null);
        }
        var items = SplitList(inner);
        if (items == null) return (null, InvalidExpression);
        if (items.All(x => x.Quoted)) return (new Step(kind, false, items.Select(x => x.Text).ToList(), null, null), null);
        if (items.Any(x => x.Quoted)) return (null, InvalidExpression);
        var ints = new List<int>();
        foreach (var (text, _) in items)
        {
            if (TryInt(text, out var n)) ints.Add(n);
            else if (text.All(IsNameChar)) return (new Step(kind, false, items.Select(x => x.Text).ToList(), null, null), null);
            else return (null, InvalidExpression);
        }
        return (new Step(kind, false, null, ints, null), null);
    }

    private static bool TryInt(string s, out int n) =>
        int.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out n);

    private static List<(string Text, bool Quoted)>? SplitList(string inner)
    {
        var items = new List<(string, bool)>();
        var i = 0;
        while (i < inner.Length)
        {
            while (i < inner.Length && inner[i] == ' ') i++;
            if (i >= inner.Length) return null;
            if (inner[i] is '\'' or '"')
            {
                var q = inner[i++];
                var sb = new System.Text.StringBuilder();
                while (i < inner.Length && inner[i] != q)
                {
                    if (inner[i] == '\\' && i + 1 < inner.Length) i++;
                    sb.Append(inner[i++]);
                }
                if (i >= inner.Length) return null;
                i++;
                items.Add((sb.ToString(), true));
            }
            else
            {
                var start = i;
                while (i < inner.Length && inner[i] != ',') i++;
                var t = inner[start..i].Trim();
                if (t.Length == 0) return null;
                items.Add((t, false));
            }
            while (i < inner.Length && inner[i] == ' ') i++;
            if (i < inner.Length)
            {
                if (inner[i] != ',') return null;
                i++;
                if (i >= inner.Length) return null;
            }
        }
        return items;
    }
}
