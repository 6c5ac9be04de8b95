// Twin of resty/expr/v1.lua (lua-resty-expr 1.3.2, which APISIX uses for `vars` conditions)
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Json;
using Apisix.Core.Plugins;

namespace Apisix.Core.Utils;

/// <summary>
/// A <c>vars</c> condition as lua-resty-expr compiles it: a list of <c>[var, op, value]</c>
/// expressions (all must hold), or a list whose head is "AND", "OR", "!AND" or "!OR" (any case)
/// over sub-lists, nested freely. A four-item expression negates its operator with a "!" in
/// second place; a two-item one means equality. Operators (any case): == ~= &gt; &lt; &gt;= &lt;=
/// ~~ (regex) ~* (case-insensitive regex) in has ipmatch. An empty list always holds.
/// </summary>
public sealed class ExprV1
{
    private static readonly HashSet<string> CompareOps = new(StringComparer.Ordinal)
        { "==", "~=", ">", "<", ">=", "<=", "~~", "~*", "in", "has", "ipmatch" };

    private static readonly HashSet<string> LogicOps = new(StringComparer.Ordinal) { "OR", "!OR", "AND", "!AND" };

    /// <summary>A compiled node: a logic node (LogicOp set, Exprs its children) or one comparison.</summary>
    private sealed class Node
    {
        public string? LogicOp;
        public List<Node> Exprs = [];
        public JsonNode? Left;
        public string Op = "";
        public JsonNode? Right;
        public List<string>? Cidrs;
        public bool Reverse;
    }

    private readonly Node? _rule;

    private ExprV1(Node? rule) => _rule = rule;

    /// <summary><c>expr.new(rule)</c>: the compiled condition, or the error.</summary>
    public static (ExprV1? Expr, string? Error) New(JsonNode? rule)
    {
        if (rule == null) return (null, "missing argument rule");
        var n = Length(rule);
        if (n == 0) return (new ExprV1(null), null);
        var arr = (JsonArray)rule;
        if (arr[0] is not JsonArray && (Upper(arr[0]) is not { } head || !LogicOps.Contains(head)))
            return (null, "rule should be wrapped inside brackets");
        var (node, err) = Compile(arr);
        return node == null ? (null, err) : (new ExprV1(node), null);
    }

    /// <summary>Lua's <c>#t</c> on a decoded JSON value: array length, 0 for objects; strings count their bytes.</summary>
    private static int Length(JsonNode? n) => n switch
    {
        JsonArray a => a.Count,
        JsonValue v when JsonScalars.TryGetString(v, out var s) => System.Text.Encoding.UTF8.GetByteCount(s),
        _ => 0,
    };

    /// <summary><c>string.upper</c> of a value (numbers in their string form); tables and others give null.</summary>
    private static string? Upper(JsonNode? n) => n is JsonValue && n.GetValueKind() is JsonValueKind.String or JsonValueKind.Number
        ? CtxVar.ToVarString(n)!.ToUpperInvariant() : null;

    private static string? Lower(JsonNode? n) => n is JsonValue && n.GetValueKind() is JsonValueKind.String or JsonValueKind.Number
        ? CtxVar.ToVarString(n)!.ToLowerInvariant() : null;

    private static (Node? Node, string? Error) Compile(JsonNode? rules)
    {
        if (Length(rules) <= 0 || rules is not JsonArray arr) return (null, "rule too short");
        var compiled = new Node { LogicOp = "AND" };
        if (arr[0] is JsonArray)
        {
            foreach (var sub in arr)
            {
                var (res, err) = Compile(sub);
                if (res == null) return (null, err);
                compiled.Exprs.Add(res);
            }
            return (compiled, null);
        }
        var op = Upper(arr[0]);
        if (op != null && LogicOps.Contains(op))
        {
            compiled.LogicOp = op;
            if (arr.Count <= 2) return (null, "rule too short");
            for (var i = 1; i < arr.Count; i++)
            {
                var (res, err) = Compile(arr[i]);
                if (res == null) return (null, err);
                compiled.Exprs.Add(res);
            }
            return (compiled, null);
        }
        return CompileExpr(arr);
    }

    private static JsonNode? At(JsonArray a, int i) => i < a.Count ? a[i] : null;

    private static (Node? Node, string? Error) CompileExpr(JsonArray expr)
    {
        JsonNode? left, opNode, right;
        var reverse = false;
        if (expr.Count == 4)
        {
            if (!(JsonScalars.TryGetString(expr[1], out var bang) && bang == "!")) return (null, "bad 'not' expression");
            reverse = true;
            (left, opNode, right) = (expr[0], expr[2], expr[3]);
        }
        else
        {
            (left, opNode, right) = (At(expr, 0), At(expr, 1), At(expr, 2));
        }
        var op = opNode == null ? null : Lower(opNode) ?? "";
        if (right == null && (op == null || !CompareOps.Contains(op)))
        {
            // a two-item expression is an equality test
            right = opNode;
            op = "==";
            if (right == null) return (null, "invalid expression");
        }
        if (left == null || op == null) return (null, "invalid expression");
        if (!CompareOps.Contains(op)) return (null, "invalid operator '" + op + "'");
        var node = new Node { Left = left, Op = op, Right = right, Reverse = reverse };
        if (op == "ipmatch")
        {
            if (right == null || (JsonScalars.TryGetString(right, out var rs) && rs == "")) return (null, "invalid ip address");
            var list = right is JsonArray ra ? ra.Select(x => x).ToList() : [right];
            if (list.Count == 0) return (null, "invalid ip address");
            node.Cidrs = [];
            foreach (var item in list)
            {
                var text = CtxVar.ToVarString(item) ?? "";
                if (!IpMatcher.IsValid(text)) return (null, "invalid ip address: " + text);
                node.Cidrs.Add(text);
            }
        }
        return (node, null);
    }

    /// <summary><c>ex:eval(ctx.var)</c>.</summary>
    public bool Eval(CtxVar vars) => Eval(name => vars.Get(name));

    /// <summary><c>ex:eval(ctx)</c> over any lookup of variable names.</summary>
    public bool Eval(Func<string, object?> vars) => _rule == null || EvalNode(_rule, vars);

    private static bool EvalNode(Node node, Func<string, object?> vars) => node.LogicOp switch
    {
        "AND" => EvalAnd(node.Exprs, vars),
        "OR" => EvalOr(node.Exprs, vars),
        "!AND" => !EvalAnd(node.Exprs, vars),
        _ => !EvalOr(node.Exprs, vars),
    };

    private static bool EvalAnd(List<Node> exprs, Func<string, object?> vars)
    {
        foreach (var e in exprs)
        {
            if (e.LogicOp != null) { if (!EvalNode(e, vars)) return false; }
            else if (CompareVal(Lookup(e, vars), e) == e.Reverse) return false;
        }
        return true;
    }

    private static bool EvalOr(List<Node> exprs, Func<string, object?> vars)
    {
        foreach (var e in exprs)
        {
            if (e.LogicOp != null) { if (EvalNode(e, vars)) return true; }
            else if (CompareVal(Lookup(e, vars), e) != e.Reverse) return true;
        }
        return false;
    }

    private static object? Lookup(Node e, Func<string, object?> vars) =>
        JsonScalars.TryGetString(e.Left, out var name) ? vars(name) : null;

    /// <summary>Lua's <c>tonumber</c> of a value.</summary>
    private static double? ToNumber(object? v) => v switch
    {
        null => null,
        int i => i,
        long l => l,
        double d => d,
        string s => LuaText.ToNumber(s),
        JsonValue j when j.GetValueKind() == JsonValueKind.Number && JsonScalars.TryGetNumber(j, out var d) => d,
        JsonValue j when JsonScalars.TryGetString(j, out var s) => LuaText.ToNumber(s),
        _ => null,
    };

    private static bool IsNumber(object? v) => v is int or long or double
        || (v is JsonValue j && j.GetValueKind() == JsonValueKind.Number);

    private static bool IsString(object? v) => v is string || (v is JsonValue j && j.GetValueKind() == JsonValueKind.String);

    /// <summary>Lua's <c>==</c> between two values (strings with strings, numbers with numbers; tables never equal).</summary>
    private static bool LuaEquals(object? a, object? b)
    {
        if (a is JsonValue ja && ja.GetValueKind() == JsonValueKind.Null) a = null;
        if (b is JsonValue jb && jb.GetValueKind() == JsonValueKind.Null) b = null;
        if (a == null || b == null) return a == null && b == null;
        if (IsNumber(a) && IsNumber(b)) return ToNumber(a) == ToNumber(b);
        if (IsString(a) && IsString(b)) return CtxVar.ToVarString(a) == CtxVar.ToVarString(b);
        if (a is bool ba && b is JsonValue bj && JsonScalars.TryGetBoolean(bj, out var bb)) return ba == bb;
        if (b is bool bb2 && a is JsonValue aj && JsonScalars.TryGetBoolean(aj, out var ab)) return ab == bb2;
        if (a is bool x && b is bool y) return x == y;
        if (a is JsonValue va && b is JsonValue vb && JsonScalars.TryGetBoolean(va, out var xa) && JsonScalars.TryGetBoolean(vb, out var xb))
            return xa == xb;
        return ReferenceEquals(a, b);
    }

    private static bool CompareVal(object? left, Node e)
    {
        var right = e.Right is JsonValue rv && rv.GetValueKind() == JsonValueKind.Null ? null : e.Right;
        if (left is JsonValue lv && lv.GetValueKind() == JsonValueKind.Null) left = null;
        switch (e.Op)
        {
            case "==":
                if (IsNumber(right))
                {
                    var l = ToNumber(left);
                    return l != null && l == ToNumber(right);
                }
                return LuaEquals(left, right);
            case "~=":
                if (IsNumber(right))
                {
                    var l = ToNumber(left);
                    return l == null || l != ToNumber(right);
                }
                return !LuaEquals(left, right);
            case ">":
            case "<":
            case ">=":
            case "<=":
                {
                    var a = ToNumber(left);
                    var b = ToNumber(right);
                    if (a == null || b == null) return false;
                    return e.Op switch { ">" => a > b, "<" => a < b, ">=" => a >= b, _ => a <= b };
                }
            case "~~":
            case "~*":
                {
                    if (left == null || left is false) return false;
                    var subject = CtxVar.ToVarString(left) ?? "";
                    var pattern = CtxVar.ToVarString(right) ?? "";
                    return PluginRegex.Match(subject, pattern, e.Op == "~~" ? "jo" : "joi").Captures != null;
                }
            case "in":
                return right is JsonArray list && list.Any(x => LuaEquals(x, left));
            case "has":
                {
                    IEnumerable<object?>? items = left switch
                    {
                        JsonArray la => la.Select(x => (object?)x),
                        IEnumerable<string> ls when left is not string => ls,
                        _ => null,
                    };
                    return items != null && items.Any(x => LuaEquals(x, right));
                }
            case "ipmatch":
                {
                    if (CtxVar.ToVarString(left) is not { } ip) return false;
                    return e.Cidrs!.Any(c => IpMatcher.Matches(ip, c));
                }
        }
        return false;
    }
}

/// <summary>An IP against an address or CIDR (IPv4 and IPv6), as resty.ipmatcher matches.</summary>
public static class IpMatcher
{
    /// <summary>Whether the text is an address or CIDR ipmatcher accepts.</summary>
    public static bool IsValid(string cidr)
    {
        var slash = cidr.IndexOf('/');
        var addr = slash < 0 ? cidr : cidr[..slash];
        if (!System.Net.IPAddress.TryParse(addr, out var ip)) return false;
        if (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && addr.Count(c => c == '.') != 3) return false;
        if (slash < 0) return true;
        var max = ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128;
        return int.TryParse(cidr[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var bits) && bits >= 0 && bits <= max;
    }

    public static bool Matches(string ipText, string cidr)
    {
        if (!System.Net.IPAddress.TryParse(ipText, out var ip)) return false;
        var slash = cidr.IndexOf('/');
        if (!System.Net.IPAddress.TryParse(slash < 0 ? cidr : cidr[..slash], out var net)) return false;
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
        if (net.AddressFamily != ip.AddressFamily) return false;
        var a = ip.GetAddressBytes();
        var b = net.GetAddressBytes();
        var bits = slash < 0 ? a.Length * 8 : int.Parse(cidr[(slash + 1)..], CultureInfo.InvariantCulture);
        for (var i = 0; i < a.Length && bits > 0; i++, bits -= 8)
        {
            var mask = bits >= 8 ? 0xFF : (byte)(0xFF << (8 - bits));
            if ((a[i] & mask) != (b[i] & mask)) return false;
        }
        return true;
    }
}
