using System.Globalization;
using Apisix.TestNginx.Parsing;

namespace Apisix.TestNginx.Perl;

/// <summary>
/// Recursive-descent parser for the Perl subset, following Perl's operator precedence
/// (low to high: or, and, not, list comma, assignment, ?:, || //, &amp;&amp;, equality, relational,
/// named unary, + - ., * / % x, unary ! -, **, -&gt;). Anything else is rejected with its line.
/// </summary>
public sealed class PerlParser
{
    /// <summary>Functions the interpreter itself implements (the host adds its own names).</summary>
    public static readonly IReadOnlySet<string> Builtins = new HashSet<string>(StringComparer.Ordinal) { "print", "die", "close" };

    private static readonly HashSet<string> AssignOps = ["=", ".=", "||=", "//=", "&&=", "+=", "-=", "*="];
    private static readonly HashSet<string> StatementModifiers = ["if", "unless", "while", "until", "for", "foreach"];
    private static readonly HashSet<string> LowPrecedenceWords = ["or", "and", "not", "xor"];

    private readonly List<Token> _tokens;
    private readonly Func<string, bool> _isFunction;
    private int _i;

    private PerlParser(List<Token> tokens, Func<string, bool> isFunction)
    {
        _tokens = tokens;
        _isFunction = isFunction;
    }

    /// <summary>Parses a whole program (a preamble or an eval section).</summary>
    /// <param name="isHostFunction">Names the host implements (Test::Nginx settings functions...).</param>
    public static Block Parse(string source, int firstLine, Func<string, bool> isHostFunction)
    {
        var parser = new PerlParser(PerlLexer.Tokenize(source, firstLine), n => Builtins.Contains(n) || isHostFunction(n));
        var statements = new List<Stmt>();
        while (parser.Cur.Kind != TokenKind.Eof)
            if (parser.ParseStatement() is { } s) statements.Add(s);
        return new Block(statements, firstLine);
    }

    private Token Cur => _tokens[_i];
    private Token PeekAt(int n) => _tokens[Math.Min(_i + n, _tokens.Count - 1)];
    private Token Take() => _tokens[_i++];

    private static PerlException Error(Token at, string message) => new(at.Line, message);

    private Token Expect(string op)
    {
        if (!Cur.IsOp(op)) throw Error(Cur, $"expected '{op}' but found {Cur}");
        return Take();
    }

    private bool TakeOp(string op)
    {
        if (!Cur.IsOp(op)) return false;
        _i++;
        return true;
    }

    // ---- statements ----

    private Stmt? ParseStatement()
    {
        var t = Cur;
        if (TakeOp(";")) return null;
        if (t.IsOp("{")) return new BlockStmt(ParseBlock(), t.Line);
        if (t.Kind == TokenKind.Ident)
        {
            switch (t.Text)
            {
                case "BEGIN" when PeekAt(1).IsOp("{"):
                    Take();
                    return new BlockStmt(ParseBlock(), t.Line);
                case "if" or "unless":
                    return ParseIf();
                case "use":
                    return ParseUse();
                case "sub" when PeekAt(1).Kind == TokenKind.Ident:
                    throw Error(t, $"named subroutine 'sub {PeekAt(1).Text}' is not supported (use an anonymous sub)");
                case "no" or "for" or "foreach" or "while" or "until" or "package" or "require" or "END" or "format":
                    throw Error(t, $"'{t.Text}' statements are not supported");
            }
        }

        var expr = ParseExpression();
        var stmt = (Stmt)new ExprStmt(expr, t.Line);
        if (Cur.Kind == TokenKind.Ident && StatementModifiers.Contains(Cur.Text))
        {
            var modifier = Take();
            if (modifier.Text is not ("if" or "unless"))
                throw Error(modifier, $"the statement modifier '{modifier.Text}' is not supported");
            var cond = ParseExpression();
            if (modifier.Text == "unless") cond = new UnaryExpr("!", cond, cond.Line);
            stmt = new IfStmt([(cond, new Block([stmt], t.Line))], null, t.Line);
        }
        if (!TakeOp(";") && !Cur.IsOp("}") && Cur.Kind != TokenKind.Eof)
            throw Error(Cur, $"expected ';' but found {Cur}");
        return stmt;
    }

    private Block ParseBlock()
    {
        var open = Expect("{");
        var statements = new List<Stmt>();
        while (!Cur.IsOp("}"))
        {
            if (Cur.Kind == TokenKind.Eof) throw Error(open, "missing '}' for the block opened here");
            if (ParseStatement() is { } s) statements.Add(s);
        }
        Take();
        return new Block(statements, open.Line);
    }

    private Stmt ParseIf()
    {
        var first = Cur;
        var clauses = new List<(Expr, Block)>();
        Block? elseBlock = null;
        var keyword = Take();
        while (true)
        {
            Expect("(");
            var cond = ParseExpression();
            Expect(")");
            if (keyword.Text == "unless") cond = new UnaryExpr("!", cond, cond.Line);
            clauses.Add((cond, ParseBlock()));
            if (Cur.IsIdent("elsif")) { keyword = Take(); continue; }
            if (Cur.IsIdent("else")) { Take(); elseBlock = ParseBlock(); }
            break;
        }
        return new IfStmt(clauses, elseBlock, first.Line);
    }

    private Stmt ParseUse()
    {
        var use = Take();
        if (Cur.Kind != TokenKind.Ident) throw Error(Cur, "'use' must name a module (use VERSION is not supported)");
        var module = Take().Text;
        Expr? args = null;
        if (!Cur.IsOp(";")) args = ParseExpression();
        Expect(";");
        return new UseStmt(module, args, use.Line);
    }

    // ---- expressions, lowest precedence first ----

    private Expr ParseExpression() => ParseLowOr();

    private Expr ParseLowOr()
    {
        var left = ParseLowAnd();
        while (Cur.IsIdent("or") || Cur.IsIdent("xor"))
        {
            var op = Take();
            if (op.Text == "xor") throw Error(op, "'xor' is not supported");
            left = new LogicalExpr("||", left, ParseLowAnd(), op.Line);
        }
        return left;
    }

    private Expr ParseLowAnd()
    {
        var left = ParseLowNot();
        while (Cur.IsIdent("and"))
        {
            var op = Take();
            left = new LogicalExpr("&&", left, ParseLowNot(), op.Line);
        }
        return left;
    }

    private Expr ParseLowNot()
    {
        if (!Cur.IsIdent("not")) return ParseComma();
        var op = Take();
        return new UnaryExpr("!", ParseLowNot(), op.Line);
    }

    private Expr ParseComma()
    {
        var first = ParseAssign();
        if (!Cur.IsOp(",") && !Cur.IsOp("=>")) return first;
        var items = new List<Expr> { first };
        while (TakeOp(",") || TakeOp("=>"))
        {
            if (IsListEnd(Cur)) break; // trailing comma
            items.Add(ParseAssign());
        }
        return new ListExpr(items, first.Line);
    }

    private Expr ParseAssign()
    {
        var left = ParseTernary();
        if (Cur.Kind != TokenKind.Op || !AssignOps.Contains(Cur.Text)) return left;
        var op = Take();
        CheckAssignable(left, op);
        return new AssignExpr(left, op.Text, ParseAssign(), op.Line);
    }

    private static void CheckAssignable(Expr target, Token op)
    {
        var ok = target switch
        {
            ScalarVarExpr or EnvElemExpr => true,
            DeclExpr or LocalExpr => op.Text == "=",
            ListExpr l => op.Text == "=" && l.Items.All(i => i is ScalarVarExpr or DeclExpr { Parenthesized: false }),
            _ => false,
        };
        if (!ok) throw Error(op, $"can't assign with '{op.Text}' to this expression");
    }

    private Expr ParseTernary()
    {
        var cond = ParseOrOr();
        if (!Cur.IsOp("?")) return cond;
        var q = Take();
        var then = ParseAssign();
        Expect(":");
        return new TernaryExpr(cond, then, ParseAssign(), q.Line);
    }

    private Expr ParseOrOr()
    {
        var left = ParseAndAnd();
        while (Cur.IsOp("||") || Cur.IsOp("//"))
        {
            var op = Take();
            left = new LogicalExpr(op.Text, left, ParseAndAnd(), op.Line);
        }
        return left;
    }

    private Expr ParseAndAnd()
    {
        var left = ParseEquality();
        while (Cur.IsOp("&&"))
        {
            var op = Take();
            left = new LogicalExpr("&&", left, ParseEquality(), op.Line);
        }
        return left;
    }

    private Expr ParseEquality()
    {
        var left = ParseRelational();
        while (Cur.IsOp("==") || Cur.IsOp("!=") || Cur.IsIdent("eq") || Cur.IsIdent("ne"))
        {
            var op = Take();
            left = new BinaryExpr(op.Text, left, ParseRelational(), op.Line);
        }
        return left;
    }

    private Expr ParseRelational()
    {
        var left = ParseAdditive();
        while (Cur.IsOp("<") || Cur.IsOp(">") || Cur.IsOp("<=") || Cur.IsOp(">=")
               || Cur.IsIdent("lt") || Cur.IsIdent("gt") || Cur.IsIdent("le") || Cur.IsIdent("ge"))
        {
            var op = Take();
            left = new BinaryExpr(op.Text, left, ParseAdditive(), op.Line);
        }
        return left;
    }

    private Expr ParseAdditive()
    {
        var left = ParseMultiplicative();
        while (Cur.IsOp("+") || Cur.IsOp("-") || Cur.IsOp("."))
        {
            var op = Take();
            left = new BinaryExpr(op.Text, left, ParseMultiplicative(), op.Line);
        }
        return left;
    }

    private Expr ParseMultiplicative()
    {
        var left = ParseUnary();
        while (true)
        {
            if (Cur.IsOp("=~") || Cur.IsOp("!~")) throw Error(Cur, $"regex matching ('{Cur.Text}') is not supported");
            if (!(Cur.IsOp("*") || Cur.IsOp("/") || Cur.IsOp("%") || Cur.IsIdent("x"))) return left;
            var op = Take();
            left = new BinaryExpr(op.Text, left, ParseUnary(), op.Line);
        }
    }

    private Expr ParseUnary()
    {
        var t = Cur;
        if (TakeOp("!")) return new UnaryExpr("!", ParseUnary(), t.Line);
        if (TakeOp("-")) return new UnaryExpr("-", ParseUnary(), t.Line);
        if (TakeOp("+")) return ParseUnary();
        if (t.IsOp("\\")) throw Error(t, "references (\\) are not supported");
        if (t.IsOp("~")) throw Error(t, "bitwise '~' is not supported");
        if (t.IsOp("++") || t.IsOp("--")) throw Error(t, $"'{t.Text}' is not supported");
        var left = ParsePostfix();
        if (Cur.IsOp("**"))
        {
            var op = Take();
            return new BinaryExpr("**", left, ParseUnary(), op.Line);
        }
        return left;
    }

    private Expr ParsePostfix()
    {
        var e = ParsePrimary();
        while (true)
        {
            if (Cur.IsOp("++") || Cur.IsOp("--")) throw Error(Cur, $"'{Cur.Text}' is not supported");
            if (!Cur.IsOp("->")) return e;
            var arrow = Take();
            if (Cur.Kind != TokenKind.Ident)
                throw Error(arrow, $"dereference '->{Cur.Text}' is not supported (only ->method calls)");
            var method = Take().Text;
            var args = Cur.IsOp("(") ? ParseParenArgs() : [];
            e = new MethodCallExpr(e, method, args, arrow.Line);
        }
    }

    private List<Expr> ParseParenArgs()
    {
        Expect("(");
        if (TakeOp(")")) return [];
        var e = ParseExpression();
        Expect(")");
        return Flatten(e);
    }

    private static List<Expr> Flatten(Expr e) => e is ListExpr l ? [.. l.Items] : [e];

    // Where a list operator's arguments (or an optional operand) end.
    private static bool IsListEnd(Token t) =>
        t.Kind == TokenKind.Eof
        || t.Kind == TokenKind.Op && t.Text is ";" or ")" or "}" or "]" or ":" or "," or "=>" or "?"
        || t.Kind == TokenKind.Ident && (LowPrecedenceWords.Contains(t.Text) || StatementModifiers.Contains(t.Text));

    private Expr ParsePrimary()
    {
        var t = Take();
        switch (t.Kind)
        {
            case TokenKind.Number:
                return new LiteralExpr(new PerlString(PerlOps.FormatNumber(double.Parse(t.Text, CultureInfo.InvariantCulture))), t.Line);
            case TokenKind.String:
                return t.Parts.All(p => p is LiteralPart)
                    ? new LiteralExpr(new PerlString(string.Concat(t.Parts.Cast<LiteralPart>().Select(p => p.Text))), t.Line)
                    : new InterpolatedExpr(t.Parts, t.Line);
            case TokenKind.Regex:
                return new RegexExpr(t.Text, t.Flags, t.Line);
            case TokenKind.Words:
                return new ListExpr(t.Words.Select(w => (Expr)new LiteralExpr(new PerlString(w), t.Line)).ToList(), t.Line);
            case TokenKind.ReadLine:
                return new ReadLineExpr(t.Text, t.Line);
            case TokenKind.Scalar:
                return ParseScalar(t);
            case TokenKind.Array:
                if (t.Text != "_") throw Error(t, $"arrays other than @_ are not supported (@{t.Text})");
                return new ArrayVarExpr("_", t.Line);
            case TokenKind.Hash:
                throw Error(t, $"hashes are not supported (%{t.Text}); only $ENV{{...}} elements are");
            case TokenKind.Ident:
                return ParseWord(t);
        }
        if (t.IsOp("("))
        {
            if (TakeOp(")")) return new ListExpr([], t.Line);
            var inner = ParseExpression();
            Expect(")");
            return inner;
        }
        if (t.IsOp("["))
        {
            if (TakeOp("]")) return new ArrayRefExpr([], t.Line);
            var inner = ParseExpression();
            Expect("]");
            return new ArrayRefExpr(Flatten(inner), t.Line);
        }
        if (t.IsOp("{")) throw Error(t, "anonymous hashes ({...}) are not supported");
        if (t.Kind == TokenKind.Eof) throw Error(t, "unexpected end of code");
        throw Error(t, $"unexpected {t}");
    }

    private Expr ParseScalar(Token t)
    {
        if (Cur.IsOp("["))
            throw Error(t, $"array elements (${t.Text}[...]) are not supported");
        if (!Cur.IsOp("{")) return new ScalarVarExpr(t.Text, t.Line);
        if (t.Text != "ENV")
            throw Error(t, $"hash elements (${t.Text}{{...}}) are not supported; only $ENV{{...}} is");
        Take();
        Expr key = Cur.Kind == TokenKind.Ident && PeekAt(1).IsOp("}")
            ? new LiteralExpr(new PerlString(Take().Text), t.Line)
            : ParseExpression();
        Expect("}");
        return new EnvElemExpr(key, t.Line);
    }

    private Expr ParseWord(Token t)
    {
        if (Cur.IsOp("=>")) return new LiteralExpr(new PerlString(t.Text), t.Line); // fat comma quotes barewords
        switch (t.Text)
        {
            case "my" or "our":
                return ParseDecl(t);
            case "local":
                if (Cur.Kind == TokenKind.Scalar && Cur.Text == "/") { Take(); return new LocalExpr("/", t.Line); }
                throw Error(t, "only 'local $/' is supported");
            case "sub":
                return new AnonSubExpr(ParseBlock(), t.Line);
            case "do":
                if (!Cur.IsOp("{")) throw Error(t, "only 'do { ... }' blocks are supported (not do FILE)");
                return new DoBlockExpr(ParseBlock(), t.Line);
            case "defined":
                return new DefinedExpr(ParseNamedUnaryOperand(t), t.Line);
            case "undef":
                if (Cur.IsOp("(") && PeekAt(1).IsOp(")")) { Take(); Take(); }
                else if (!IsListEnd(Cur) && !IsBinaryOperator(Cur)) throw Error(t, "'undef EXPR' is not supported (only the undef value)");
                return new LiteralExpr(PerlValue.Undef, t.Line);
            case "shift":
                if (Cur.IsOp("(")) { Take(); if (Cur.Kind == TokenKind.Array && Cur.Text == "_") Take(); Expect(")"); }
                else if (Cur.Kind == TokenKind.Array && Cur.Text == "_") Take();
                else if (Cur.Kind == TokenKind.Array) throw Error(t, "only 'shift' of @_ is supported");
                return new ShiftExpr(t.Line);
            case "return":
                return new ReturnExpr(IsListEnd(Cur) ? null : ParseComma(), t.Line);
            case "open":
                return ParseOpen(t);
            case "not":
                return new UnaryExpr("!", ParseComma(), t.Line);
            case "STDIN" or "STDOUT" or "STDERR":
                throw Error(t, $"the filehandle {t.Text} is not supported");
        }

        if (!_isFunction(t.Text))
            throw Error(t, Cur.IsOp("(") ? $"unsupported function '{t.Text}'" : $"unsupported bareword or function '{t.Text}'");
        if (t.Text == "print" && (Cur.Kind == TokenKind.Ident && Cur.Text is "STDERR" or "STDOUT"
                                  || Cur.Kind == TokenKind.Scalar && PeekAt(1).Kind is TokenKind.String or TokenKind.Scalar or TokenKind.Number))
            throw Error(t, "print to a filehandle is not supported");
        if (Cur.IsOp("(")) return new CallExpr(t.Text, ParseParenArgs(), t.Line);
        return new CallExpr(t.Text, IsListEnd(Cur) ? [] : Flatten(ParseComma()), t.Line);
    }

    private static bool IsBinaryOperator(Token t) =>
        t.Kind == TokenKind.Op && t.Text is "||" or "//" or "&&" or "." or "==" or "!=" or "=>";

    // A named unary operator (defined) binds tighter than comparison but looser than arithmetic.
    private Expr ParseNamedUnaryOperand(Token op)
    {
        if (Cur.IsOp("("))
        {
            Take();
            var inner = ParseExpression();
            Expect(")");
            return inner;
        }
        if (IsListEnd(Cur)) throw Error(op, $"'{op.Text}' without an operand ($_) is not supported");
        return ParseAdditive();
    }

    private Expr ParseDecl(Token kw)
    {
        if (Cur.Kind == TokenKind.Scalar)
            return new DeclExpr(kw.Text, [Take().Text], false, kw.Line);
        if (TakeOp("("))
        {
            var names = new List<string>();
            while (!TakeOp(")"))
            {
                if (Cur.Kind != TokenKind.Scalar) throw Error(Cur, $"only scalars can be declared with '{kw.Text}' (found {Cur})");
                names.Add(Take().Text);
                if (!Cur.IsOp(")")) Expect(",");
            }
            return new DeclExpr(kw.Text, names, true, kw.Line);
        }
        throw Error(kw, $"only scalars can be declared with '{kw.Text}' (found {Cur})");
    }

    private Expr ParseOpen(Token t)
    {
        if (!Cur.IsOp("(")) throw Error(t, "only the parenthesised 'open(...)' form is supported");
        var args = ParseParenArgs();
        if (args.Count != 3) throw Error(t, "only the 3-argument open(my $fh, '<', $path) is supported");
        if (args[0] is not (DeclExpr { Parenthesized: false, Names.Count: 1 } or ScalarVarExpr))
            throw Error(t, "open's first argument must be a scalar variable");
        return new OpenExpr(args[0], args[1], args[2], t.Line);
    }
}
