using System.Text.Json.Nodes;
using Apisix.Core.Config;

namespace Apisix.Core.Admin;

/// <summary>
/// The compile step of <c>resty.expr</c>'s <c>expr.new(rule)</c> (lua-resty-expr v1), which
/// the admin API runs on a route's <c>vars</c>: the rule's shape and operators are checked and
/// the library's error text returned (null when it compiles). Evaluation is the router's.
/// </summary>
public static class ExprCheck
{
    // the comparison operators the library knows (matched after lowercasing)
    private static readonly HashSet<string> Operators = new(StringComparer.Ordinal)
    {
        "==", "~=", ">", ">=", "<", "<=", "~~", "~*", "in", "has", "ipmatch",
    };

    private static readonly HashSet<string> LogicOps = new(StringComparer.Ordinal) { "OR", "!OR", "AND", "!AND" };

    /// <summary><c>expr.new(rule)</c>'s error, or null.</summary>
    public static string? Validate(JsonNode? rule)
    {
        if (rule is not JsonArray rules) return rule == null ? "missing argument rule" : null;
        if (rules.Count == 0) return null;
        if (rules[0] is not JsonArray && !LogicOps.Contains(Text(rules[0]).ToUpperInvariant()))
            return "rule should be wrapped inside brackets";
        return Compile(rules);
    }

    private static string? Compile(JsonNode? node)
    {
        if (node is not JsonArray rules || rules.Count == 0) return "rule too short";
        if (rules[0] is JsonArray)
        {
            foreach (var child in rules)
            {
                if (Compile(child) is { } err) return err;
            }
            return null;
        }

        if (LogicOps.Contains(Text(rules[0]).ToUpperInvariant()))
        {
            if (rules.Count <= 2) return "rule too short";
            for (int i = 1; i < rules.Count; i++)
            {
                if (Compile(rules[i]) is { } err) return err;
            }
            return null;
        }

        return CompileExpr(rules);
    }

    /// <summary>One comparison: <c>{var, op, val}</c> or <c>{var, "!", op, val}</c>.</summary>
    private static string? CompileExpr(JsonArray expr)
    {
        JsonNode? left, right;
        bool hasOp, hasRight;
        string? op;
        if (expr.Count == 4)
        {
            if (Text(expr[1]) != "!" || expr[1] is null) return "bad 'not' expression";
            left = expr[0];
            op = expr[2] == null ? "null" : Text(expr[2]).ToLowerInvariant();
            right = expr[3];
            hasOp = hasRight = true;
        }
        else
        {
            left = expr.Count > 0 ? expr[0] : null;
            hasOp = expr.Count > 1;
            op = hasOp ? (expr[1] == null ? "null" : Text(expr[1]).ToLowerInvariant()) : null;
            hasRight = expr.Count > 2;
            right = hasRight ? expr[2] : null;
        }

        if (!hasRight && (op == null || !Operators.Contains(op)))
        {
            // two elements: {var, value} compares with "=="
            if (op == null) return "invalid expression";
            hasRight = true;
            op = "==";
        }

        if (expr.Count == 0 || !hasOp) return "invalid expression";
        if (!Operators.Contains(op!)) return "invalid operator '" + op + "'";
        _ = left;
        _ = right;
        return null;
    }

    // a value as Lua's string functions see it (numbers as tostring gives them)
    private static string Text(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue(out string? s) ? s : node == null ? "" : LuaText.ToLuaString(node);
}
