// Twin of resty/expr/v1.lua (lua-resty-expr, which APISIX uses for `vars` conditions)
using System.Globalization;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.Plugins;

namespace Apisix.Core.Utils;

/// <summary>
/// A <c>vars</c> condition: a list of <c>[var, op, value]</c> expressions (all must hold), or a
/// list whose head is "AND", "OR", "!AND" or "!OR" over sub-lists. An operator may be negated
/// with a "!" before it. Operators: == ~= &gt; &lt; &gt;= &lt;= ~~ (regex) ~* (case-insensitive
/// regex) in has ipmatch.
/// </summary>
public sealed class ExprV1
{
    private static readonly HashSet<string> Ops = new(StringComparer.Ordinal)
        { "==", "~=", ">", "<", ">=", "<=", "~~", "~*", "in", "has", "ipmatch" };

    private readonly JsonArray _rule;

    private ExprV1(JsonArray rule) => _rule = rule;

    /// <summary><c>expr.new(rule)</c>: the compiled condition, or the error.</summary>
    public static (ExprV1? Expr, string? Error) New(JsonNode? rule)
    {
        if (rule is not JsonArray arr) return (null, "rule should be wrapped inside brackets");
        var err = Check(arr);
        return err != null ? (null, err) : (new ExprV1(arr), null);
    }

    private static bool IsLogic(JsonNode? n) =>
        JsonScalars.TryGetString(n, out var s) && s is "AND" or "OR" or "!AND" or "!OR";

    private static string? Check(JsonArray rule)
    {
        if (rule.Count == 0) return null;
        if (IsLogic(rule[0]))
        {
            for (var i = 1; i < rule.Count; i++)
            {
                if (rule[i] is not JsonArray sub) return "rule should be wrapped inside brackets";
                if (Check(sub) is { } e) return e;
            }
            return null;
        }
        if (rule[0] is JsonArray)
        {
            foreach (var sub in rule)
            {
                if (sub is not JsonArray s) return "rule should be wrapped inside brackets";
                if (Check(s) is { } e) return e;
            }
            return null;
        }
        return CheckOne(rule);
    }

    private static string? CheckOne(JsonArray expr)
    {
        if (expr.Count < 2) return "invalid expression";
        var opIndex = 1;
        if (JsonScalars.TryGetString(expr[1], out var maybeNot) && maybeNot == "!") opIndex = 2;
        if (!JsonScalars.TryGetString(expr.Count > opIndex ? expr[opIndex] : null, out var op))
            return "invalid operator '" + CtxVar.ToVarString(expr.Count > opIndex ? expr[opIndex] : null) + "'";
        if (!Ops.Contains(op)) return "invalid operator '" + op + "'";
        return null;
    }

    /// <summary><c>ex:eval(ctx.var)</c>.</summary>
    public bool Eval(CtxVar vars) => EvalRule(_rule, vars);

    private static bool EvalRule(JsonArray rule, CtxVar vars)
    {
        if (rule.Count == 0) return true;
        if (IsLogic(rule[0]))
        {
            var logic = rule[0]!.GetValue<string>();
            var negate = logic.StartsWith('!');
            var isAnd = logic.EndsWith("AND", StringComparison.Ordinal);
            bool result = isAnd;
            for (var i = 1; i < rule.Count; i++)
            {
                var r = EvalRule((JsonArray)rule[i]!, vars);
                if (isAnd && !r) { result = false; break; }
                if (!isAnd && r) { result = true; break; }
            }
            return negate ? !result : result;
        }
        if (rule[0] is JsonArray)
        {
            foreach (var sub in rule)
                if (!EvalRule((JsonArray)sub!, vars)) return false;
            return true;
        }
        return EvalOne(rule, vars);
    }

    private static bool EvalOne(JsonArray expr, CtxVar vars)
    {
        var negate = JsonScalars.TryGetString(expr[1], out var n) && n == "!";
        var opIndex = negate ? 2 : 1;
        var op = expr[opIndex]!.GetValue<string>();
        var right = expr.Count > opIndex + 1 ? expr[opIndex + 1] : null;
        var name = CtxVar.ToVarString(expr[0]) ?? "";
        var left = vars.Get(name);
        var r = Compare(left, op, right);
        return negate ? !r : r;
    }

    private static double? ToNumber(object? v)
    {
        var s = v switch
        {
            JsonNode node => CtxVar.ToVarString(node),
            _ => CtxVar.ToVarString(v),
        };
        return s != null && double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;
    }

    private static bool Compare(object? left, string op, JsonNode? right)
    {
        if (left == null) return false;
        var l = CtxVar.ToVarString(left) ?? "";
        switch (op)
        {
            case "==":
                if (JsonScalars.TryGetNumber(right, out var rn) && right!.GetValueKind() == System.Text.Json.JsonValueKind.Number)
                    return ToNumber(left) == rn;
                return l == CtxVar.ToVarString(right);
            case "~=":
                if (JsonScalars.TryGetNumber(right, out var rn2) && right!.GetValueKind() == System.Text.Json.JsonValueKind.Number)
                    return ToNumber(left) != rn2;
                return l != CtxVar.ToVarString(right);
            case ">":
            case "<":
            case ">=":
            case "<=":
                {
                    var a = ToNumber(left);
                    var b = ToNumber(right);
                    if (a == null || b == null) return false;
                    return op switch { ">" => a > b, "<" => a < b, ">=" => a >= b, _ => a <= b };
                }
            case "~~":
                return PluginRegex.Match(l, CtxVar.ToVarString(right) ?? "", "jo").Captures != null;
            case "~*":
                return PluginRegex.Match(l, CtxVar.ToVarString(right) ?? "", "joi").Captures != null;
            case "in":
                return right is JsonArray list && list.Any(x => CtxVar.ToVarString(x) == l);
            case "has":
                return left is JsonArray la && la.Any(x => CtxVar.ToVarString(x) == CtxVar.ToVarString(right));
            case "ipmatch":
                {
                    var cidrs = right is JsonArray arr ? arr.Select(x => CtxVar.ToVarString(x) ?? "") : [CtxVar.ToVarString(right) ?? ""];
                    return cidrs.Any(c => IpMatcher.Matches(l, c));
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
