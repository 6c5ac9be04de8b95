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
    public static readonly IReadOnlySet<string> Builtins = new HashSet<string>(StringComparer.Ordinal) { "print", "die", "close", "system", "unlink", "join", "int", "dirname", "basename", "length", "uc", "lc", "ucfirst", "lcfirst" };

    /// <summary>
    /// Names Perl or the test modules define that the subset doesn't implement: using one is a
    /// limit of the subset. Any other bareword, under <c>use strict</c>, is a Perl compile error.
    /// </summary>
    private static readonly HashSet<string> KnownNames =
    [
        // perlfunc
        "abs", "accept", "alarm", "atan2", "bind", "binmode", "bless", "caller", "chdir", "chmod", "chop", "chown",
        "chr", "chroot", "closedir", "connect", "cos", "crypt", "dbmclose", "dbmopen", "dump", "each", "eof",
        "exec", "exists", "exit", "exp", "fc", "fcntl", "fileno", "flock", "fork", "format", "formline", "getc",
        "getppid", "getpriority", "glob", "gmtime", "goto", "grep", "hex", "index", "int", "ioctl", "join", "keys",
        "kill", "last", "lc", "lcfirst", "length", "link", "listen", "localtime", "lock", "log", "lstat", "map",
        "mkdir", "next", "oct", "opendir", "ord", "pack", "pipe", "pop", "pos", "printf", "prototype", "push",
        "quotemeta", "rand", "read", "readdir", "readline", "readlink", "readpipe", "recv", "redo", "ref", "rename",
        "require", "reset", "reverse", "rewinddir", "rindex", "rmdir", "say", "scalar", "seek", "seekdir", "select",
        "send", "setpgrp", "setpriority", "shutdown", "sin", "sleep", "socket", "socketpair", "sort", "splice",
        "split", "sprintf", "sqrt", "srand", "stat", "study", "substr", "symlink", "syscall", "sysopen", "sysread",
        "sysseek", "syswrite", "tell", "telldir", "tie", "tied", "time", "times", "truncate", "uc", "ucfirst",
        "umask", "unpack", "unshift", "untie", "utime", "values", "vec", "wait", "waitpid", "wantarray", "warn",
        "write", "__FILE__", "__LINE__", "__PACKAGE__",
        // Test::More, Test::Base, Test::Nginx::Socket / Util exports
        "ok", "is", "isnt", "like", "unlike", "is_deeply", "cmp_ok", "diag", "note", "pass", "fail", "skip",
        "done_testing", "BAIL_OUT", "explain", "run", "run_is", "filters", "spec_file", "spec_string",
        "is_str", "run_test", "config_preamble", "master_process_enabled", "server_name", "server_addr",
        "server_port", "server_port_for_client", "timeout", "no_nginx_manager", "bail_out",
        "add_response_body_check", "expand_env_in_text", "use_http2", "use_http3", "is_running", "parse_time",
        "verbose", "sleep_time", "access_log_data", "error_log_data", "setup_server_root", "get_canon_version",
        "get_nginx_version", "trim",
    ];

    private static readonly HashSet<string> AssignOps = ["=", ".=", "||=", "//=", "&&=", "+=", "-=", "*="];
    private static readonly HashSet<string> StatementModifiers = ["if", "unless", "while", "until", "for", "foreach"];
    private static readonly HashSet<string> LowPrecedenceWords = ["or", "and", "not", "xor"];

    private readonly List<Token> _tokens;
    private readonly Func<string, bool> _isFunction;
    private readonly HashSet<string> _userSubs = new(StringComparer.Ordinal);
    private bool _strict;
    private int _i;

    private PerlParser(List<Token> tokens, Func<string, bool> isFunction, bool strict)
    {
        _tokens = tokens;
        _isFunction = isFunction;
        _strict = strict;
        // Named subs exist from compile time on, so a call may come before the definition.
        for (var i = 0; i + 1 < tokens.Count; i++)
            if (tokens[i].IsIdent("sub") && tokens[i + 1].Kind == TokenKind.Ident) _userSubs.Add(tokens[i + 1].Text);
    }

    /// <summary>Parses a whole program (a preamble or an eval section).</summary>
    /// <param name="isHostFunction">Names the host implements (Test::Nginx settings functions...).</param>
    /// <param name="strict">Whether <c>use strict</c> is in force from the start. A .t file starts without it;
    /// <c>use strict</c> or using a Test::Base module (which prepends <c>use strict;</c> to the rest of the
    /// file) turns it on. Test::Base evaluates <c>eval</c> sections under strict.</param>
    public static Block Parse(string source, int firstLine, Func<string, bool> isHostFunction, bool strict = true)
    {
        var parser = new PerlParser(PerlLexer.Tokenize(source, firstLine), n => Builtins.Contains(n) || isHostFunction(n), strict);
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
                    return new BlockStmt(ParseBlock(), t.Line, Begin: true);
                case "if" or "unless":
                    return ParseIf();
                case "use":
                    return ParseUse();
                case "sub" when PeekAt(1).Kind == TokenKind.Ident:
                    Take();
                    var name = Take();
                    if (!Cur.IsOp("{")) throw Error(name, $"only 'sub {name.Text} {{ ... }}' is supported (no prototypes, attributes or forward declarations)");
                    return new SubDefStmt(name.Text, ParseBlock(), t.Line);
                case "while" or "until" when PeekAt(1).IsOp("("):
                    return ParseWhile();
                case "for" or "foreach" when PeekAt(1).IsIdent("my") && PeekAt(2).Kind == TokenKind.Scalar && PeekAt(3).IsOp("("):
                    return ParseForeach();
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
        {
            // A term right after a complete expression is a syntax error to Perl as well;
            // anything else may be an operator the subset lacks.
            var term = Cur.Kind is TokenKind.String or TokenKind.Number or TokenKind.Regex or TokenKind.Words
                or TokenKind.Scalar or TokenKind.Array or TokenKind.Backtick or TokenKind.Match or TokenKind.Subst || Cur.IsOp("[");
            if (term) throw new PerlException(Cur.Line, "syntax error", compileError: true) { Near = Cur.Kind == TokenKind.Op ? Cur.Text : Cur.ToString() };
            throw Error(Cur, $"expected ';' but found {Cur}");
        }
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

    private Stmt ParseWhile()
    {
        var keyword = Take();
        Expect("(");
        var cond = ParseExpression();
        Expect(")");
        return new WhileStmt(cond, ParseBlock(), keyword.Text == "until", keyword.Line);
    }

    private Stmt ParseForeach()
    {
        var keyword = Take();
        Take(); // my
        var variable = Take();
        Expect("(");
        var list = Cur.IsOp(")") ? new ListExpr([], variable.Line) : ParseExpression();
        Expect(")");
        return new ForeachStmt(variable.Text, true, list, ParseBlock(), keyword.Line);
    }

    private Stmt ParseUse()
    {
        var use = Take();
        if (Cur.Kind != TokenKind.Ident) throw Error(Cur, "'use' must name a module (use VERSION is not supported)");
        var module = Take().Text;
        Expr? args = null;
        if (!Cur.IsOp(";")) args = ParseExpression();
        Expect(";");
        // Test::Base (under Test::Nginx and t::APISIX) prepends "use strict;" to the rest of the file.
        if (module == "strict" || module.StartsWith("Test::", StringComparison.Ordinal) || module.StartsWith("t::", StringComparison.Ordinal))
            _strict = true;
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
            while (TakeOp(",")) { } // empty elements: (a, , b) is (a, b)
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
            ScalarVarExpr or EnvElemExpr or ArrayElemExpr => true,
            ArrayVarExpr { Name: not "_" } => op.Text == "=",
            DeclExpr { Parenthesized: false, Names: [['@', ..]] } => op.Text == "=",
            DeclExpr { Parenthesized: false, Names.Count: 1 } => true, // my $x ||= ... assigns to the new, undefined $x
            DeclExpr or LocalExpr => op.Text == "=",
            ListExpr l => op.Text == "=" && l.Items.All(i => i is ScalarVarExpr or ArrayElemExpr or DeclExpr { Parenthesized: false } or ArrayVarExpr { Name: not "_" }),
            _ => false,
        };
        if (!ok) throw Error(op, $"can't assign with '{op.Text}' to this expression");
    }

    private Expr ParseTernary()
    {
        var cond = ParseRange();
        if (!Cur.IsOp("?")) return cond;
        var q = Take();
        var then = ParseAssign();
        Expect(":");
        return new TernaryExpr(cond, then, ParseAssign(), q.Line);
    }

    private Expr ParseRange()
    {
        var left = ParseOrOr();
        if (!Cur.IsOp("..")) return left;
        var op = Take();
        return new RangeExpr(left, ParseOrOr(), op.Line);
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
        while (Cur.IsOp("==") || Cur.IsOp("!=") || Cur.IsOp("<=>") || Cur.IsIdent("eq") || Cur.IsIdent("ne") || Cur.IsIdent("cmp"))
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
        var left = ParseBinding();
        while (true)
        {
            if (!(Cur.IsOp("*") || Cur.IsOp("/") || Cur.IsOp("%") || Cur.IsIdent("x"))) return left;
            var op = Take();
            left = new BinaryExpr(op.Text, left, ParseBinding(), op.Line);
        }
    }

    // =~ and !~ bind looser than unary ! and -, tighter than * and x.
    private Expr ParseBinding()
    {
        var left = ParseUnary();
        while (Cur.IsOp("=~") || Cur.IsOp("!~"))
        {
            var op = Take();
            var negated = op.Text == "!~";
            var rhs = Take();
            switch (rhs.Kind)
            {
                case TokenKind.Match or TokenKind.Regex:
                    left = new MatchExpr(left, rhs.Text, rhs.Flags, negated, op.Line);
                    break;
                case TokenKind.Subst:
                    if (negated) throw Error(op, "'!~' with s/// is not supported");
                    if (!rhs.Flags.Contains('r')) CheckLvalue(left, "s///");
                    left = new SubstExpr(left, rhs.Text, rhs.Parts, rhs.Flags, op.Line);
                    break;
                default:
                    throw Error(op, $"'{op.Text}' must be followed by m//, s/// or qr// (matching against an expression is not supported)");
            }
        }
        return left;
    }

    // What undef, delete, chomp and s/// can modify in the subset: a scalar variable or an %ENV element.
    private static void CheckLvalue(Expr e, string what)
    {
        if (e is not (ScalarVarExpr or EnvElemExpr))
            throw new PerlException(e.Line, $"{what} can only modify a scalar variable or an $ENV{{...}} element");
    }

    private Expr ParseUnary()
    {
        var t = Cur;
        if (TakeOp("!")) return new UnaryExpr("!", ParseUnary(), t.Line);
        if (t.IsOp("-") && PeekAt(1) is { Kind: TokenKind.Ident, Text: [var letter] } && FileTests.Contains(letter)
            && !PeekAt(2).IsOp("=>") && !PeekAt(2).IsOp("("))
        {
            Take();
            var test = Take();
            return new FileTestExpr(letter, ParseNamedUnaryOperand(test), t.Line);
        }
        if (TakeOp("-")) return new UnaryExpr("-", ParseUnary(), t.Line);
        if (TakeOp("+")) return ParseUnary();
        if (t.IsOp("\\")) throw Error(t, "references (\\) are not supported");
        if (t.IsOp("~")) throw Error(t, "bitwise '~' is not supported");
        if (t.IsOp("++") || t.IsOp("--"))
        {
            Take();
            return new IncDecExpr(IncDecTarget(ParsePostfix(), t), t.Text, true, t.Line);
        }
        var left = ParsePostfix();
        if (Cur.IsOp("**"))
        {
            var op = Take();
            return new BinaryExpr("**", left, ParseUnary(), op.Line);
        }
        return left;
    }

    // -e exists, -f plain file, -d directory, -x executable, -r readable, -w writable, -s non-empty, -z empty, -l symlink.
    private const string FileTests = "efdxrwszl";

    private Expr ParsePostfix()
    {
        var e = ParsePrimary();
        while (true)
        {
            if (Cur.IsOp("++") || Cur.IsOp("--"))
            {
                var op = Take();
                return new IncDecExpr(IncDecTarget(e, op), op.Text, false, op.Line);
            }
            if (!Cur.IsOp("->")) return e;
            var arrow = Take();
            if (Cur.Kind != TokenKind.Ident)
                throw Error(arrow, $"dereference '->{Cur.Text}' is not supported (only ->method calls)");
            var method = Take().Text;
            var args = Cur.IsOp("(") ? ParseParenArgs() : [];
            e = new MethodCallExpr(e, method, args, arrow.Line);
        }
    }

    private static Expr IncDecTarget(Expr e, Token op) =>
        e is ScalarVarExpr or ArrayElemExpr or DeclExpr { Parenthesized: false, Names.Count: 1 } ? e
        : throw Error(op, $"'{op.Text}' is only supported on a scalar variable");

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
            case TokenKind.Backtick:
                return new BacktickExpr(t.Parts, t.Line);
            case TokenKind.Match or TokenKind.Subst:
                throw Error(t, $"{t} without '=~' (on $_) is not supported");
            case TokenKind.Scalar:
                return ParseScalar(t);
            case TokenKind.Array:
                return new ArrayVarExpr(t.Text, t.Line, _strict);
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
        {
            if (t.Text == "_" || t.Text.Length == 1 && !char.IsLetter(t.Text[0]))
                throw Error(t, $"array elements (${t.Text}[...]) are only supported on named arrays");
            Take();
            var index = ParseExpression();
            Expect("]");
            return new ArrayElemExpr(t.Text, index, t.Line, _strict);
        }
        if (!Cur.IsOp("{")) return new ScalarVarExpr(t.Text, t.Line, _strict);
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
                else if (Cur.Kind == TokenKind.Scalar || Cur.IsOp("(") && PeekAt(1).Kind == TokenKind.Scalar)
                    return new UndefExpr(ParseLvalueOperand(t), t.Line);
                else if (!IsListEnd(Cur) && !IsBinaryOperator(Cur)) throw Error(t, "'undef' of this expression is not supported (only of a scalar or an $ENV{...} element)");
                return new LiteralExpr(PerlValue.Undef, t.Line);
            case "delete":
                return new DeleteExpr(ParseLvalueOperand(t, envOnly: true), t.Line);
            case "chomp":
                if (IsListEnd(Cur) || Cur.IsOp("(") && PeekAt(1).IsOp(")")) throw Error(t, "'chomp' without an operand ($_) is not supported");
                return new ChompExpr(ParseLvalueOperand(t), t.Line);
            case "eval":
                if (!Cur.IsOp("{")) throw Error(t, "only 'eval { ... }' blocks are supported (not eval STRING)");
                return new EvalBlockExpr(ParseBlock(), t.Line);
            case "shift" or "pop":
            {
                var paren = TakeOp("(");
                ArrayVarExpr? array = null;
                if (Cur.Kind == TokenKind.Array && Cur.Text != "_") { var a = Take(); array = new ArrayVarExpr(a.Text, a.Line, _strict); }
                else if (Cur.Kind == TokenKind.Array) Take();
                else if (!(paren ? Cur.IsOp(")") : IsListEnd(Cur) || IsBinaryOperator(Cur)))
                    throw Error(t, $"only '{t.Text}' of an array variable is supported");
                if (paren) Expect(")");
                if (array != null) return new ArrayOpExpr(t.Text, array, [], t.Line);
                if (t.Text == "pop") throw Error(t, "'pop' of @_ is not supported");
                return new ShiftExpr(t.Line);
            }
            case "push" or "unshift":
            {
                var args = Cur.IsOp("(") ? ParseParenArgs() : IsListEnd(Cur) ? [] : Flatten(ParseComma());
                if (args is not [ArrayVarExpr { Name: not "_" } array, ..])
                    throw Error(t, $"'{t.Text}' needs a named array as its first argument");
                return new ArrayOpExpr(t.Text, array, args.Skip(1).ToList(), t.Line);
            }
            case "sort":
            {
                var paren = TakeOp("(");
                Block? comparator = null;
                if (Cur.IsOp("{")) { comparator = ParseBlock(); TakeOp(","); }
                else if (Cur.Kind == TokenKind.Ident && _userSubs.Contains(Cur.Text) && PeekAt(1).Kind is TokenKind.Array or TokenKind.Scalar)
                    throw Error(t, "only 'sort LIST' and 'sort { ... } LIST' are supported (no SUBNAME)");
                Expr list = (paren ? Cur.IsOp(")") : IsListEnd(Cur)) ? new ListExpr([], t.Line) : ParseComma();
                if (paren) Expect(")");
                return new SortExpr(comparator, list, t.Line);
            }
            case "reverse":
            {
                if (Cur.IsOp("(")) return new ReverseExpr(new ListExpr(ParseParenArgs(), t.Line), t.Line);
                return new ReverseExpr(IsListEnd(Cur) ? new ListExpr([], t.Line) : ParseComma(), t.Line);
            }
            case "scalar":
                return new ScalarCtxExpr(ParseNamedUnaryOperand(t), t.Line);
            case "return":
                return new ReturnExpr(IsListEnd(Cur) ? null : ParseComma(), t.Line);
            case "open":
                return ParseOpen(t);
            case "not":
                return new UnaryExpr("!", ParseComma(), t.Line);
            case "map":
                if (Cur.IsOp("(")) throw Error(t, "only 'map { ... } LIST' and 'map EXPR, LIST' are supported (no parentheses)");
                if (Cur.IsOp("{")) { var body = ParseBlock(); TakeOp(","); return new MapExpr(body, null, ParseComma(), t.Line); }
                var each = ParseAssign();
                Expect(",");
                return new MapExpr(null, each, ParseComma(), t.Line);
            case "STDIN" or "STDOUT" or "STDERR":
                throw Error(t, $"the filehandle {t.Text} is not supported");
        }

        if (!_isFunction(t.Text) && !_userSubs.Contains(t.Text))
        {
            if (Cur.IsOp("(")) throw Error(t, $"unsupported function '{t.Text}'");
            if (_strict && !KnownNames.Contains(t.Text) && !t.Text.Contains("::"))
                throw new PerlException(t.Line, $"Bareword \"{t.Text}\" not allowed while \"strict subs\" in use", compileError: true);
            throw Error(t, $"unsupported bareword or function '{t.Text}'");
        }
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
        if (Cur.Kind == TokenKind.Array)
            return new DeclExpr(kw.Text, ["@" + Take().Text], false, kw.Line);
        if (TakeOp("("))
        {
            var names = new List<string>();
            while (!TakeOp(")"))
            {
                if (Cur.Kind is not (TokenKind.Scalar or TokenKind.Array)) throw Error(Cur, $"only scalars and arrays can be declared with '{kw.Text}' (found {Cur})");
                names.Add((Cur.Kind == TokenKind.Array ? "@" : "") + Take().Text);
                if (!Cur.IsOp(")")) Expect(",");
            }
            return new DeclExpr(kw.Text, names, true, kw.Line);
        }
        throw Error(kw, $"only scalars and arrays can be declared with '{kw.Text}' (found {Cur})");
    }

    // The operand of undef / delete / chomp, with or without parentheses.
    private Expr ParseLvalueOperand(Token op, bool envOnly = false)
    {
        var paren = TakeOp("(");
        if (Cur.Kind != TokenKind.Scalar) throw Error(op, $"'{op.Text}' is only supported on a scalar variable or an $ENV{{...}} element");
        var target = ParseScalar(Take());
        if (paren) Expect(")");
        if (envOnly && target is not EnvElemExpr) throw Error(op, $"'{op.Text}' is only supported on $ENV{{...}} elements");
        return target;
    }

    private Expr ParseOpen(Token t)
    {
        var args = Cur.IsOp("(") ? ParseParenArgs() : Flatten(ParseComma());
        if (args.Count is not (2 or 3)) throw Error(t, "open takes a filehandle, a mode and a path (or a filehandle and \"<path\")");
        if (args[0] is not (DeclExpr { Parenthesized: false, Names.Count: 1 } or ScalarVarExpr))
            throw Error(t, "open's first argument must be a scalar variable");
        return args.Count == 3 ? new OpenExpr(args[0], args[1], args[2], t.Line) : new OpenExpr(args[0], null, args[1], t.Line);
    }
}
