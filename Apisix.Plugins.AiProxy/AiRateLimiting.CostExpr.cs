// Twin of apisix/plugins/ai-rate-limiting.lua: compile_cost_expr and eval_cost_expr
using System.Globalization;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Plugins.AiProxy;

/// <summary>
/// <c>cost_expr</c>: a Lua expression (<c>return EXPR</c> loaded in a sandbox) over the raw usage
/// fields of the provider's response. Upstream hands it to Lua's <c>load</c>; here it is parsed and
/// evaluated in C# with Lua's meaning for what such an expression can hold: numbers, names (a
/// numeric usage field, else the sandbox's <c>math</c>, <c>abs</c>, <c>ceil</c>, <c>floor</c>,
/// <c>max</c>, <c>min</c>, else 0), <c>math.NAME</c>, calls, parentheses, <c>+ - * / % ^</c>,
/// unary minus, comparisons, <c>and</c>/<c>or</c>/<c>not</c>. The result is clamped at 0 and
/// rounded to the nearest integer.
/// </summary>
public static class CostExpr
{
    private const string ChunkName = "[string \"cost_expr\"]:1: ";

    private abstract record Node;
    private sealed record Num(double Value) : Node;
    private sealed record Name(string Id) : Node;
    private sealed record Field(Node Target, string Key) : Node;
    private sealed record Call(Node Fn, List<Node> Args) : Node;
    private sealed record Unary(string Op, Node Operand) : Node;
    private sealed record Binary(string Op, Node Left, Node Right) : Node;
    private sealed record Literal(object? Value) : Node;

    private delegate object? LuaFn(object?[] args);

    private sealed class LuaTable(Dictionary<string, object?> fields)
    {
        public object? Get(string k) => fields.GetValueOrDefault(k);
    }

    private sealed class ParseError(string message) : Exception(message);
    private sealed class EvalError(string message) : Exception(message);

    // ---- lexer ------------------------------------------------------------------------------

    private static List<string> Lex(string src)
    {
        var toks = new List<string>();
        var i = 0;
        while (i < src.Length)
        {
            var c = src[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (char.IsDigit(c) || (c == '.' && i + 1 < src.Length && char.IsDigit(src[i + 1])))
            {
                var j = i;
                while (j < src.Length && (char.IsLetterOrDigit(src[j]) || src[j] == '.'
                       || ((src[j] == '+' || src[j] == '-') && (src[j - 1] is 'e' or 'E')))) j++;
                toks.Add(src[i..j]);
                i = j;
                continue;
            }
            if (char.IsLetter(c) || c == '_')
            {
                var j = i;
                while (j < src.Length && (char.IsLetterOrDigit(src[j]) || src[j] == '_')) j++;
                toks.Add(src[i..j]);
                i = j;
                continue;
            }
            var two = i + 1 < src.Length ? src.Substring(i, 2) : "";
            if (two is "<=" or ">=" or "==" or "~=" or "..") { toks.Add(two); i += 2; continue; }
            toks.Add(c.ToString());
            i++;
        }
        return toks;
    }

    // ---- parser (Lua's precedence) ----------------------------------------------------------

    private sealed class Parser(List<string> toks)
    {
        private int _pos;

        private string? Peek => _pos < toks.Count ? toks[_pos] : null;

        private string Near => Peek == null ? "'<eof>'" : "'" + Peek + "'";

        private bool Accept(string t)
        {
            if (Peek != t) return false;
            _pos++;
            return true;
        }

        public Node ParseAll()
        {
            var e = Expr(0);
            if (Peek != null) throw new ParseError("'<eof>' expected near " + Near);
            return e;
        }

        private static readonly Dictionary<string, (int Left, int Right)> Binaries = new(StringComparer.Ordinal)
        {
            ["or"] = (1, 1), ["and"] = (2, 2),
            ["<"] = (3, 3), [">"] = (3, 3), ["<="] = (3, 3), [">="] = (3, 3), ["~="] = (3, 3), ["=="] = (3, 3),
            [".."] = (5, 4), ["+"] = (6, 6), ["-"] = (6, 6), ["*"] = (7, 7), ["/"] = (7, 7), ["%"] = (7, 7),
            ["^"] = (10, 9),
        };

        private const int UnaryPriority = 8;

        private Node Expr(int limit)
        {
            Node left;
            if (Peek is "-" or "not" or "#")
            {
                var op = toks[_pos++];
                left = new Unary(op, Expr(UnaryPriority));
            }
            else left = Simple();
            while (Peek is { } op && Binaries.TryGetValue(op, out var prio) && prio.Left > limit)
            {
                _pos++;
                left = new Binary(op, left, Expr(prio.Right));
            }
            return left;
        }

        private Node Simple()
        {
            var t = Peek ?? throw new ParseError("unexpected symbol near '<eof>'");
            if (char.IsDigit(t[0]) || t[0] == '.')
            {
                _pos++;
                if (!TryNumber(t, out var d)) throw new ParseError("malformed number near '" + t + "'");
                return new Num(d);
            }
            if (t is "true" or "false" or "nil")
            {
                _pos++;
                return new Literal(t == "true" ? true : t == "false" ? false : null);
            }
            return Suffixed();
        }

        private Node Suffixed()
        {
            Node e;
            var t = Peek!;
            if (Accept("("))
            {
                e = Expr(0);
                if (!Accept(")")) throw new ParseError("')' expected near " + Near);
            }
            else if (char.IsLetter(t[0]) || t[0] == '_')
            {
                if (t is "and" or "or" or "not" or "return" or "function" or "local" or "end" or "if" or "then")
                    throw new ParseError("unexpected symbol near '" + t + "'");
                _pos++;
                e = new Name(t);
            }
            else throw new ParseError("unexpected symbol near '" + t + "'");
            while (true)
            {
                if (Accept("."))
                {
                    var k = Peek;
                    if (k == null || !(char.IsLetter(k[0]) || k[0] == '_')) throw new ParseError("<name> expected near " + Near);
                    _pos++;
                    e = new Field(e, k);
                }
                else if (Accept("("))
                {
                    var args = new List<Node>();
                    if (!Accept(")"))
                    {
                        do args.Add(Expr(0)); while (Accept(","));
                        if (!Accept(")")) throw new ParseError("')' expected near " + Near);
                    }
                    e = new Call(e, args);
                }
                else return e;
            }
        }
    }

    private static bool TryNumber(string t, out double d)
    {
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            var ok = long.TryParse(t[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var l);
            d = l;
            return ok;
        }
        return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out d);
    }

    /// <summary><c>compile_cost_expr</c>: the parsed expression, or Lua's syntax error.</summary>
    public static (object? Compiled, string? Error) Compile(string expr)
    {
        try
        {
            return (new Parser(Lex(expr)).ParseAll(), null);
        }
        catch (ParseError e)
        {
            return (null, ChunkName + e.Message);
        }
    }

    // ---- evaluation -------------------------------------------------------------------------

    private static double Arg(object?[] a, int i, string fn) =>
        i < a.Length && a[i] is double d ? d
            : throw new EvalError("bad argument #" + (i + 1) + " to '" + fn + "' (number expected, got " + TypeName(i < a.Length ? a[i] : null) + ")");

    private static readonly LuaTable MathTable = new(new Dictionary<string, object?>(StringComparer.Ordinal)
    {
        ["abs"] = (LuaFn)(a => Math.Abs(Arg(a, 0, "abs"))),
        ["ceil"] = (LuaFn)(a => Math.Ceiling(Arg(a, 0, "ceil"))),
        ["floor"] = (LuaFn)(a => Math.Floor(Arg(a, 0, "floor"))),
        ["max"] = (LuaFn)(a => Enumerable.Range(0, Math.Max(1, a.Length)).Select(i => Arg(a, i, "max")).Max()),
        ["min"] = (LuaFn)(a => Enumerable.Range(0, Math.Max(1, a.Length)).Select(i => Arg(a, i, "min")).Min()),
        ["sqrt"] = (LuaFn)(a => Math.Sqrt(Arg(a, 0, "sqrt"))),
        ["pow"] = (LuaFn)(a => Math.Pow(Arg(a, 0, "pow"), Arg(a, 1, "pow"))),
        ["exp"] = (LuaFn)(a => Math.Exp(Arg(a, 0, "exp"))),
        ["log"] = (LuaFn)(a => Math.Log(Arg(a, 0, "log"))),
        ["fmod"] = (LuaFn)(a => Math.IEEERemainder(Arg(a, 0, "fmod"), Arg(a, 1, "fmod"))),
        ["huge"] = double.PositiveInfinity,
        ["pi"] = Math.PI,
    });

    // expr_safe_env
    private static readonly Dictionary<string, object?> SafeEnv = new(StringComparer.Ordinal)
    {
        ["math"] = MathTable,
        ["abs"] = MathTable.Get("abs"), ["ceil"] = MathTable.Get("ceil"), ["floor"] = MathTable.Get("floor"),
        ["max"] = MathTable.Get("max"), ["min"] = MathTable.Get("min"),
    };

    private static string TypeName(object? v) => v switch
    {
        null => "nil",
        double => "number",
        bool => "boolean",
        string => "string",
        LuaFn => "function",
        _ => "table",
    };

    private static bool Truthy(object? v) => v is not (null or false);

    private static double Arith(object? v, string what) =>
        v is double d ? d : throw new EvalError("attempt to perform arithmetic on " + what + " (a " + TypeName(v) + " value)");

    private static string Describe(Node n) => n switch
    {
        Name nm => "global '" + nm.Id + "'",
        Field f => "field '" + f.Key + "'",
        _ => "a value",
    };

    private static object? Eval(Node n, Func<string, object?> env) => n switch
    {
        Num x => x.Value,
        Literal l => l.Value,
        Name nm => env(nm.Id),
        Field f => Eval(f.Target, env) is LuaTable t ? t.Get(f.Key)
            : throw new EvalError("attempt to index " + Describe(f.Target) + " (a " + TypeName(Eval(f.Target, env)) + " value)"),
        Call c => Eval(c.Fn, env) is LuaFn fn ? fn(c.Args.Select(a => Eval(a, env)).ToArray())
            : throw new EvalError("attempt to call " + Describe(c.Fn) + " (a " + TypeName(Eval(c.Fn, env)) + " value)"),
        Unary { Op: "-" } u => -Arith(Eval(u.Operand, env), Describe(u.Operand)),
        Unary { Op: "not" } u => !Truthy(Eval(u.Operand, env)),
        Unary u => throw new EvalError("attempt to get length of " + Describe(u.Operand) + " (a " + TypeName(Eval(u.Operand, env)) + " value)"),
        Binary { Op: "and" } b => Truthy(Eval(b.Left, env)) ? Eval(b.Right, env) : Eval(b.Left, env),
        Binary { Op: "or" } b => Eval(b.Left, env) is var l && Truthy(l) ? l : Eval(b.Right, env),
        Binary b => EvalBinary(b, env),
        _ => null,
    };

    private static object? EvalBinary(Binary b, Func<string, object?> env)
    {
        var l = Eval(b.Left, env);
        var r = Eval(b.Right, env);
        switch (b.Op)
        {
            case "==": return Equals(l, r);
            case "~=": return !Equals(l, r);
            case "<" or ">" or "<=" or ">=":
                if (l is not double x || r is not double y)
                    throw new EvalError("attempt to compare " + TypeName(l) + " with " + TypeName(r));
                return b.Op switch { "<" => x < y, ">" => x > y, "<=" => x <= y, _ => x >= y };
            case "..":
                throw new EvalError("attempt to concatenate " + Describe(l is double or string ? b.Right : b.Left) + " (a "
                                    + TypeName(l is double or string ? r : l) + " value)");
        }
        var a = Arith(l, Describe(b.Left));
        var c = Arith(r, Describe(b.Right));
        return b.Op switch
        {
            "+" => a + c,
            "-" => a - c,
            "*" => a * c,
            "/" => a / c,
            "%" => a - Math.Floor(a / c) * c,
            _ => Math.Pow(a, c),
        };
    }

    /// <summary>
    /// <c>eval_cost_expr(cost_expr, raw)</c>: the cost (rounded, at least 0), or the error to log.
    /// </summary>
    public static (long? Cost, string? Error) Eval(string expr, JsonObject raw)
    {
        var (compiled, err) = Compile(expr);
        if (compiled is not Node node) return (null, "failed to compile cost_expr: " + err);
        var vars = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (k, v) in raw)
            if (v is JsonValue jv && jv.GetValueKind() == System.Text.Json.JsonValueKind.Number
                && JsonScalars.TryGetNumber(jv, out var d) && !SafeEnv.ContainsKey(k))
                vars[k] = d;
        object? Env(string name) =>
            vars.TryGetValue(name, out var d) ? d : SafeEnv.TryGetValue(name, out var v) ? v : 0.0;
        object? result;
        try
        {
            result = Eval(node, Env);
        }
        catch (EvalError e)
        {
            return (null, "failed to evaluate cost_expr: " + ChunkName + e.Message);
        }
        if (result is not double value) return (null, "cost_expr must return a number, got: " + TypeName(result));
        if (double.IsNaN(value) || double.IsInfinity(value)) return (null, "cost_expr returned non-finite value");
        if (value < 0) value = 0;
        return ((long)Math.Floor(value + 0.5), null);
    }
}
