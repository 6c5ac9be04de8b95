using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Apisix.TestNginx.Checks;
using Apisix.TestNginx.Parsing;

namespace Apisix.TestNginx.Perl;

/// <summary>A function the host (Test::Nginx emulation) provides to Perl code.</summary>
public delegate PerlValue PerlFunction(IReadOnlyList<PerlValue> args, int line);

/// <summary>
/// Tree-walking evaluator for the Perl subset. Generic Perl lives here; everything Test::Nginx
/// specific (settings calls, <c>use</c>, preprocessors) is plugged in through <see cref="Functions"/>
/// and <see cref="UseHandler"/>, see <c>TestNginxFunctions</c>.
/// </summary>
public sealed partial class PerlInterpreter
{
    private readonly Dictionary<string, PerlCell> _packageVars = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<PerlCell>> _packageArrays = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PerlCode> _subs = new(StringComparer.Ordinal); // named subs
    private bool _slurp;           // $/ is undef: <$fh> reads the rest of the file
    private string _errno = "";    // $!
    private string _evalError = ""; // $@
    private int _childStatus;      // $?
    private Match? _lastMatch;     // $1, $2 ... of the last successful match

    /// <summary>How long a backtick or system() command may run before it is killed.</summary>
    public static TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(60);
    public PerlInterpreter(string rootDir)
    {
        RootDir = rootDir;
        FileScope = new PerlScope(null);
    }

    /// <summary>Perl's working directory: relative paths (open, file tests, unlink) resolve against it and commands run in it.</summary>
    public string RootDir { get; }

    /// <summary>The script's name as Perl reports it in "at FILE line N." messages.</summary>
    public string ScriptName { get; set; } = "-";

    /// <summary>The preamble's lexical scope; preprocessor subs close over it.</summary>
    public PerlScope FileScope { get; }

    public Dictionary<string, PerlFunction> Functions { get; } = new(StringComparer.Ordinal);

    /// <summary>How many times a while/until loop may run before it is taken for an endless one.</summary>
    public const long MaxLoopIterations = 10_000_000;

    /// <summary>Receives <c>use Module LIST;</c>; without one, <c>use</c> is an error.</summary>
    public Action<string, IReadOnlyList<PerlValue>, int>? UseHandler { get; set; }

    /// <summary>Where <c>print</c> output goes.</summary>
    public Action<string> Print { get; set; } = _ => { };

    /// <summary>
    /// %ENV changes made by the Perl code (null: made undefined or deleted); reads of other names fall
    /// back to the process environment. Commands run by the code get the changed environment.
    /// </summary>
    public Dictionary<string, string?> Env { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Variables the runner provides when the process has no value for them (TEST_NGINX_BINARY):
    /// read after <see cref="Env"/> and the process environment, passed on to commands the same way.
    /// </summary>
    public Dictionary<string, string> EnvDefaults { get; } = new(StringComparer.Ordinal);

    /// <param name="strict">False for a .t file's preamble, which starts without <c>use strict</c>.</param>
    public Block Parse(string source, int firstLine, bool strict = true) => PerlParser.Parse(source, firstLine, Functions.ContainsKey, strict);

    /// <summary>Runs a preamble in the file scope.</summary>
    public void Run(Block program)
    {
        // Perl defines named subs while compiling and runs a BEGIN block as soon as it is compiled:
        // a BEGIN sees the subs written before its end, everything else sees the final definitions.
        var subs = new List<(int Top, SubDefStmt Def)>();
        for (var i = 0; i < program.Statements.Count; i++)
            foreach (var def in SubDefs(program.Statements[i])) subs.Add((i, def));
        void DefineUpTo(int top)
        {
            _subs.Clear();
            foreach (var (t, def) in subs)
                if (t <= top) _subs[def.Name] = new PerlCode(def.Body, FileScope); // a later definition replaces an earlier one
        }
        try
        {
            for (var i = 0; i < program.Statements.Count; i++)
            {
                var stmt = program.Statements[i];
                DefineUpTo(stmt is BlockStmt { Begin: true } ? i : int.MaxValue);
                Exec(stmt, FileScope);
            }
        }
        catch (PerlExit) { }
        catch (ReturnSignal) { throw new PerlException(program.Line, "Can't return outside a subroutine"); }
        finally { DefineUpTo(int.MaxValue); }
    }

    /// <summary>
    /// Runs an <c>eval</c> section as Test::Base does: in a fresh scope (globals and %ENV visible,
    /// the preamble's <c>my</c> variables not), returning the last statement's value in list context.
    /// </summary>
    public List<PerlValue> EvalList(Block program)
    {
        var scope = new PerlScope(null);
        foreach (var def in program.Statements.SelectMany(SubDefs)) _subs[def.Name] = new PerlCode(def.Body, scope);
        try
        {
            var stmts = program.Statements;
            if (stmts.Count == 0) return [];
            ExecStatements(stmts.Take(stmts.Count - 1).ToList(), scope);
            return stmts[^1] is ExprStmt last ? List(last.Expr, scope) : [ExecStatements([stmts[^1]], scope)];
        }
        catch (ReturnSignal r) { return r.Values; }
        finally { RunRestores(scope); }
    }

    /// <summary>Calls a sub (e.g. a block preprocessor) with the given <c>@_</c>.</summary>
    public PerlValue Call(PerlCode code, params PerlValue[] args)
    {
        var scope = new PerlScope(code.Closure) { Args = [.. args] };
        try { return ExecStatements(code.Body.Statements, scope); }
        catch (ReturnSignal r) { return r.Values.Count == 0 ? PerlValue.Undef : r.Values[^1]; }
        finally { RunRestores(scope); }
    }

    public string? GetEnv(string name) => Env.TryGetValue(name, out var v) ? v
        : Runner.RunEnvironment.Get(name) ?? EnvDefaults.GetValueOrDefault(name);

    // The named subs a statement defines, nested blocks included, in source order.
    private static IEnumerable<SubDefStmt> SubDefs(Stmt stmt) => stmt switch
    {
        SubDefStmt d => [d],
        BlockStmt b => b.Body.Statements.SelectMany(SubDefs),
        IfStmt i => i.Clauses.SelectMany(c => c.Body.Statements).Concat(i.Else?.Statements ?? []).SelectMany(SubDefs),
        _ => [],
    };

    private sealed class ReturnSignal(List<PerlValue> values) : Exception
    {
        public List<PerlValue> Values { get; } = values;
    }

    // ---- statements ----

    private PerlValue ExecStatements(IReadOnlyList<Stmt> statements, PerlScope scope)
    {
        PerlValue last = PerlValue.Undef;
        foreach (var stmt in statements) last = Exec(stmt, scope);
        return last;
    }

    private PerlValue ExecBlock(Block block, PerlScope parent)
    {
        var scope = new PerlScope(parent);
        try { return ExecStatements(block.Statements, scope); }
        finally { RunRestores(scope); }
    }

    // A block's last statement's value in list context (map's block), its statements run in scope.
    private List<PerlValue> ListOfBlock(Block block, PerlScope scope)
    {
        var stmts = block.Statements;
        if (stmts.Count == 0) return [];
        ExecStatements(stmts.Take(stmts.Count - 1).ToList(), scope);
        return stmts[^1] is ExprStmt last ? List(last.Expr, scope) : [ExecStatements([stmts[^1]], scope)];
    }

    private static void RunRestores(PerlScope scope)
    {
        for (var i = scope.Restores.Count - 1; i >= 0; i--) scope.Restores[i]();
    }

    private PerlValue Exec(Stmt stmt, PerlScope scope)
    {
        switch (stmt)
        {
            case ExprStmt e:
                return Scalar(e.Expr, scope);
            case IfStmt i:
                foreach (var (cond, body) in i.Clauses)
                    if (PerlOps.Truthy(Scalar(cond, scope))) return ExecBlock(body, scope);
                return i.Else != null ? ExecBlock(i.Else, scope) : PerlValue.Undef;
            case BlockStmt b:
                return ExecBlock(b.Body, scope);
            case WhileStmt w:
                // a test file's loops build requests and headers; one that never ends is a bug in
                // the file, reported instead of hanging the runner
                for (var n = 0L; PerlOps.Truthy(Scalar(w.Cond, scope)) != w.Until; n++)
                {
                    if (n == MaxLoopIterations)
                        throw new PerlException(w.Line, $"'{(w.Until ? "until" : "while")}' loop still running after {MaxLoopIterations} iterations: stopped");
                    ExecBlock(w.Body, scope);
                }
                return PerlValue.Undef;
            case ForeachStmt f:
                // the loop variable aliases each element: assigning to it changes the array
                foreach (var cell in Cells(f.List, scope))
                {
                    var loop = new PerlScope(scope);
                    loop.Alias(f.Var, cell);
                    try { ExecStatements(f.Body.Statements, loop); }
                    finally { RunRestores(loop); }
                }
                return PerlValue.Undef;
            case SubDefStmt:
                return PerlValue.Undef; // defined before the program ran
            case UseStmt u:
                if (UseHandler == null) throw new PerlException(u.Line, $"'use {u.Module}' is not supported here");
                UseHandler(u.Module, u.Args == null ? [] : List(u.Args, scope), u.Line);
                return PerlValue.Undef;
            default:
                throw new PerlException(stmt.Line, $"unsupported statement {stmt.GetType().Name}");
        }
    }

    // ---- expressions ----

    private PerlValue Scalar(Expr expr, PerlScope scope)
    {
        switch (expr)
        {
            case LiteralExpr l:
                return l.Value;
            case InterpolatedExpr s:
                return new PerlString(Interpolate(s, scope));
            case ScalarVarExpr v:
                return ReadScalar(v.Name, v.Line, scope, v.Strict);
            case ArrayVarExpr { Name: "_" } a:
                return new PerlString((ArgsOf(scope, a.Line).Count).ToString());
            case ArrayVarExpr a:
                return new PerlString(ArrayOf(a.Name, a.Line, scope, a.Strict).Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
            case ArrayElemExpr e:
                return LValue(e, scope).Get();
            case ArrayOpExpr op:
                return ArrayOp(op, scope);
            case ScalarCtxExpr sc:
                return Scalar(sc.Operand, scope);
            case ReverseExpr r:
            {
                var chars = string.Concat(List(r.List, scope).Select(v => PerlOps.Str(v, r.Line))).ToCharArray();
                Array.Reverse(chars);
                return new PerlString(new string(chars));
            }
            case SortExpr:
                throw new PerlException(expr.Line, "'sort' is only supported in list context");
            case EnvElemExpr env:
                return GetEnv(PerlOps.Str(Scalar(env.Key, scope), env.Line)) is { } value ? new PerlString(value) : PerlValue.Undef;
            case DeclExpr d:
                foreach (var name in d.Names) Declare(d, name, scope);
                return PerlValue.Undef;
            case LocalExpr l:
                LocalizeSlurp(scope);
                return PerlValue.Undef;
            case AssignExpr a:
                return Assign(a, scope);
            case IncDecExpr inc:
            {
                var place = LValue(inc.Target, scope);
                var current = place.Get();
                var before = current is PerlUndef ? 0 : PerlOps.Num(current, inc.Line);
                var after = new PerlString((inc.Op == "++" ? before + 1 : before - 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
                place.Set(after);
                return inc.Prefix ? after : new PerlString(before.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            case RangeExpr or MapExpr:
                var items = List(expr, scope); // scalar context: the count for map; a range's flip-flop is not supported
                if (expr is RangeExpr) throw new PerlException(expr.Line, "the range operator '..' is only supported in list context");
                return new PerlString(items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
            case BinaryExpr b:
                return Binary(b, scope);
            case LogicalExpr l:
                var left = Scalar(l.Left, scope);
                var takeLeft = l.Op switch
                {
                    "||" => PerlOps.Truthy(left),
                    "&&" => !PerlOps.Truthy(left),
                    _ => left is not PerlUndef, // "//"
                };
                return takeLeft ? left : Scalar(l.Right, scope);
            case UnaryExpr u:
                var operand = Scalar(u.Operand, scope);
                return u.Op == "!"
                    ? PerlOps.Bool(!PerlOps.Truthy(operand))
                    : new PerlString(PerlOps.FormatNumber(-PerlOps.Num(operand, u.Line)));
            case TernaryExpr t:
                return PerlOps.Truthy(Scalar(t.Cond, scope)) ? Scalar(t.Then, scope) : Scalar(t.Else, scope);
            case DefinedExpr d:
                return PerlOps.Bool(Scalar(d.Operand, scope) is not PerlUndef);
            case ListExpr l:
                PerlValue lastItem = PerlValue.Undef; // the comma operator: the last value wins
                foreach (var item in l.Items) lastItem = Scalar(item, scope);
                return lastItem;
            case ArrayRefExpr a:
                return new PerlArray(a.Items.SelectMany(i => List(i, scope)).ToList());
            case RegexExpr r:
                return new PerlRegex(r.Pattern, r.Flags);
            case CallExpr c:
                return CallFunction(c, scope);
            case MethodCallExpr m:
                return CallMethod(m, scope) is { } result ? result : PerlValue.Undef;
            case AnonSubExpr s:
                return new PerlCode(s.Body, scope);
            case DoBlockExpr d:
                return ExecBlock(d.Body, scope);
            case ReadLineExpr r:
                return ReadLines(r, scope, all: false) is [var one] ? one : PerlValue.Undef;
            case ShiftExpr sh:
                var args = ArgsOf(scope, sh.Line);
                if (args.Count == 0) return PerlValue.Undef;
                var first = args[0];
                args.RemoveAt(0);
                return first;
            case ReturnExpr r:
                throw new ReturnSignal(r.Value == null ? [] : List(r.Value, scope));
            case OpenExpr o:
                return Open(o, scope);
            case BacktickExpr b:
                return RunCommand(Interpolate(b.Parts, b.Line, scope), b.Line) is { } output ? new PerlString(output) : PerlValue.Undef;
            case MatchExpr m:
                return PerlOps.Bool(Matches(m, scope) != m.Negated);
            case SubstExpr s:
                return Substitute(s, scope);
            case FileTestExpr f:
                return FileTest(f.Op, Scalar(f.Operand, scope), f.Line);
            case UndefExpr u:
                LValue(u.Target, scope).Set(PerlValue.Undef);
                return PerlValue.Undef;
            case DeleteExpr d:
                var element = LValue(d.Target, scope);
                var old = element.Get();
                element.Set(PerlValue.Undef);
                return old;
            case ChompExpr c:
                return Chomp(c, scope);
            case EvalBlockExpr e:
                try
                {
                    var evaluated = ExecBlock(e.Body, scope);
                    _evalError = "";
                    return evaluated;
                }
                catch (PerlException ex) when (ex.Died)
                {
                    _evalError = ex.DollarAt(ScriptName);
                    return PerlValue.Undef;
                }
            default:
                throw new PerlException(expr.Line, $"unsupported expression {expr.GetType().Name}");
        }
    }

    private List<PerlValue> List(Expr expr, PerlScope scope)
    {
        switch (expr)
        {
            case ListExpr l:
                return l.Items.SelectMany(i => List(i, scope)).ToList();
            case RangeExpr r:
            {
                var fromValue = Scalar(r.From, scope);
                var toValue = Scalar(r.To, scope);
                if (MagicRange(fromValue, toValue, r.Line) is { } letters) return letters;
                var from = (long)PerlOps.Num(fromValue, r.Line);
                var to = (long)PerlOps.Num(toValue, r.Line);
                var items = new List<PerlValue>();
                for (var i = from; i <= to; i++) items.Add(new PerlString(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                return items;
            }
            case MapExpr m:
            {
                var result = new List<PerlValue>();
                foreach (var item in List(m.List, scope))
                {
                    var each = new PerlScope(scope);
                    each.Declare("_").Value = item;
                    try { result.AddRange(m.Body != null ? ListOfBlock(m.Body, each) : List(m.Each!, each)); }
                    finally { RunRestores(each); }
                }
                return result;
            }
            case ArrayVarExpr { Name: "_" } a:
                return [.. ArgsOf(scope, a.Line)];
            case ArrayVarExpr a:
                return ArrayOf(a.Name, a.Line, scope, a.Strict).Select(c => c.Value).ToList();
            case SortExpr so:
                return Sort(so, scope);
            case ReverseExpr r:
            {
                var items = List(r.List, scope);
                items.Reverse();
                return items;
            }
            case ScalarCtxExpr sc:
                return [Scalar(sc.Operand, scope)];
            case AssignExpr { Target: ArrayVarExpr or DeclExpr { Parenthesized: false, Names: [['@', ..]] } } a:
                Assign(a, scope);
                return List(a.Target is DeclExpr ad ? new ArrayVarExpr(ad.Names[0][1..], ad.Line) : a.Target, scope);
            case ReadLineExpr r:
                return ReadLines(r, scope, all: true);
            case BacktickExpr b:
                // list context: one element per line, each keeping its "\n"
                return RunCommand(Interpolate(b.Parts, b.Line, scope), b.Line) is not { } output ? []
                    : Regex.Matches(output, @"[^\n]*\n|[^\n]+\z").Select(m => (PerlValue)new PerlString(m.Value)).ToList();
            case MethodCallExpr m:
                // A missing section is an empty list in list context (Test::Base's AUTOLOAD returns nothing).
                return CallMethod(m, scope) is { } v ? [v] : [];
            case TernaryExpr t:
                return PerlOps.Truthy(Scalar(t.Cond, scope)) ? List(t.Then, scope) : List(t.Else, scope);
            case AssignExpr { Target: DeclExpr { Parenthesized: true } or ListExpr } a:
                Assign(a, scope);
                return List(a.Target is DeclExpr d ? new ListExpr(d.Names.Select(n => n.StartsWith('@') ? new ArrayVarExpr(n[1..], d.Line) : (Expr)new ScalarVarExpr(n, d.Line)).ToList(), d.Line) : a.Target, scope);
            default:
                return [Scalar(expr, scope)];
        }
    }

    // 'a'..'e', 'aa'..'zz': a range of strings that are not numbers uses Perl's magic string
    // increment ("az" -> "ba", "zz" -> "aaa"), stopping at the end value or when longer than it.
    private static List<PerlValue>? MagicRange(PerlValue from, PerlValue to, int line)
    {
        if (from is not PerlString { Bytes: var start } || to is not PerlString { Bytes: var end }) return null;
        if (start.Length == 0 || MagicIncrementable().IsMatch(start) == false || LooksLikeNumber().IsMatch(start)) return null;
        var items = new List<PerlValue>();
        for (var s = start; s.Length <= end.Length; s = MagicIncrement(s))
        {
            items.Add(new PerlString(s));
            if (s == end) break;
            if (items.Count >= MaxLoopIterations) throw new PerlException(line, "range too long");
        }
        return items;
    }

    private static string MagicIncrement(string s)
    {
        var chars = s.ToCharArray();
        for (var i = chars.Length - 1; i >= 0; i--)
        {
            switch (chars[i])
            {
                case 'z': chars[i] = 'a'; continue;
                case 'Z': chars[i] = 'A'; continue;
                case '9': chars[i] = '0'; continue;
                default: chars[i]++; return new string(chars);
            }
        }
        var first = s[0] switch { >= 'a' and <= 'z' => 'a', >= 'A' and <= 'Z' => 'A', _ => '1' };
        return first + new string(chars);
    }

    [GeneratedRegex("^[a-zA-Z]*[0-9]*$")]
    private static partial Regex MagicIncrementable();

    [GeneratedRegex(@"^\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)\s*$")]
    private static partial Regex LooksLikeNumber();

    private string Interpolate(InterpolatedExpr s, PerlScope scope) => Interpolate(s.Parts, s.Line, scope);

    private string Interpolate(IReadOnlyList<StringPart> parts, int line, PerlScope scope)
    {
        var sb = new StringBuilder();
        foreach (var part in parts)
        {
            sb.Append(part switch
            {
                LiteralPart l => l.Text,
                ScalarPart v => PerlOps.Str(ReadScalar(v.Name, line, scope), line),
                EnvPart e => GetEnv(e.Key) ?? "",
                _ => throw new PerlException(line, "bad string part"),
            });
        }
        return sb.ToString();
    }

    private PerlValue ReadScalar(string name, int line, PerlScope scope, bool strict = true)
    {
        switch (name)
        {
            case "!": return new PerlString(_errno);
            case "@": return new PerlString(_evalError);
            case "?": return new PerlString(_childStatus.ToString(System.Globalization.CultureInfo.InvariantCulture));
            case "/": return _slurp ? PerlValue.Undef : new PerlString("\n");
            case "&": return _lastMatch is { } whole ? new PerlString(whole.Value) : PerlValue.Undef;
            case [>= '1' and <= '9', ..] when name.All(char.IsAsciiDigit):
                var n = int.Parse(name, System.Globalization.CultureInfo.InvariantCulture);
                return _lastMatch is { } m && n < m.Groups.Count && m.Groups[n].Success ? new PerlString(m.Groups[n].Value) : PerlValue.Undef;
        }
        return CellOf(name, line, scope, strict).Value;
    }

    private PerlCell CellOf(string name, int line, PerlScope scope, bool strict = true)
    {
        if (name.Contains("::")) return Global(name);
        if (name == "_") return scope.Find("_") ?? Global("main::_"); // $_: map's element, else the global
        if (name is "a" or "b") return scope.Find(name) ?? Global("main::" + name); // sort's $a and $b are exempt from strict
        if (name.Length == 1 && !char.IsLetter(name[0]) || name.All(char.IsAsciiDigit))
            throw new PerlException(line, $"the special variable ${name} is not supported here");
        // Without strict, an undeclared name is the package global $main::name.
        return scope.Find(name) ?? (strict ? null : Global("main::" + name))
            ?? throw new PerlException(line, $"Global symbol \"${name}\" requires explicit package name (did you forget to declare \"my ${name}\"?)", compileError: true);
    }

    private List<PerlCell> ArrayOf(string name, int line, PerlScope scope, bool strict = true)
    {
        if (name.Contains("::")) return GlobalArray(name);
        return scope.FindArray(name) ?? (strict ? null : GlobalArray("main::" + name))
            ?? throw new PerlException(line, $"Global symbol \"@{name}\" requires explicit package name (did you forget to declare \"my @{name}\"?)", compileError: true);
    }

    private List<PerlCell> GlobalArray(string name)
    {
        if (!_packageArrays.TryGetValue(name, out var array)) _packageArrays[name] = array = new List<PerlCell>();
        return array;
    }

    // The places a foreach walks: an array's own cells (so the loop variable aliases them), a
    // scalar variable's cell, or fresh cells holding any other value.
    private List<PerlCell> Cells(Expr expr, PerlScope scope) => expr switch
    {
        ListExpr l => l.Items.SelectMany(i => Cells(i, scope)).ToList(),
        ArrayVarExpr { Name: not "_" } a => [.. ArrayOf(a.Name, a.Line, scope, a.Strict)],
        ScalarVarExpr v when v.Name.All(c => char.IsLetterOrDigit(c) || c is '_' or ':') && !v.Name.All(char.IsAsciiDigit)
            => [CellOf(v.Name, v.Line, scope, v.Strict)],
        _ => List(expr, scope).Select(v => new PerlCell { Value = v }).ToList(),
    };

    private PerlValue ArrayOp(ArrayOpExpr op, PerlScope scope)
    {
        var array = ArrayOf(op.Array.Name, op.Array.Line, scope, op.Array.Strict);
        switch (op.Op)
        {
            case "push" or "unshift":
                var cells = op.Items.SelectMany(i => List(i, scope)).Select(v => new PerlCell { Value = v }).ToList();
                if (op.Op == "push") array.AddRange(cells);
                else array.InsertRange(0, cells);
                return new PerlString(array.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
            default: // pop, shift
                if (array.Count == 0) return PerlValue.Undef;
                var index = op.Op == "pop" ? array.Count - 1 : 0;
                var value = array[index].Value;
                array.RemoveAt(index);
                return value;
        }
    }

    // Perl's sort is a stable merge sort; without a block it compares as strings (byte order).
    private List<PerlValue> Sort(SortExpr so, PerlScope scope)
    {
        var items = List(so.List, scope);
        if (so.Comparator == null)
            return items.Select(v => (Key: PerlOps.Str(v, so.Line), Value: v)).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Value).ToList();
        var a = Global("main::a");
        var b = Global("main::b");
        var (savedA, savedB) = (a.Value, b.Value);
        try
        {
            var comparer = Comparer<PerlValue>.Create((x, y) =>
            {
                a.Value = x;
                b.Value = y;
                return Math.Sign(PerlOps.Num(ExecBlock(so.Comparator, scope), so.Line));
            });
            return items.OrderBy(v => v, comparer).ToList();
        }
        finally { (a.Value, b.Value) = (savedA, savedB); }
    }

    private PerlCell Global(string name)
    {
        if (!_packageVars.TryGetValue(name, out var global)) _packageVars[name] = global = new PerlCell();
        return global;
    }

    /// <summary>A place a value can be read from and stored to: a scalar variable, an %ENV element, a new <c>my</c> variable.</summary>
    private (Func<PerlValue> Get, Action<PerlValue> Set) LValue(Expr target, PerlScope scope)
    {
        switch (target)
        {
            case ScalarVarExpr v:
                var cell = CellOf(v.Name, v.Line, scope, v.Strict);
                return (() => cell.Value, x => cell.Value = x);
            case EnvElemExpr env:
                var key = PerlOps.Str(Scalar(env.Key, scope), env.Line);
                return (() => GetEnv(key) is { } value ? new PerlString(value) : PerlValue.Undef,
                    x => Env[key] = x is PerlUndef ? null : PerlOps.Str(x, env.Line));
            case ArrayElemExpr e:
            {
                var array = ArrayOf(e.Name, e.Line, scope, e.Strict);
                var i = (long)PerlOps.Num(Scalar(e.Index, scope), e.Line);
                if (i < 0) i += array.Count;
                var index = i;
                return (() => index >= 0 && index < array.Count ? array[(int)index].Value : PerlValue.Undef,
                    x =>
                    {
                        if (index < 0) throw new PerlException(e.Line, "Modification of non-creatable array value attempted, subscript " + (index - array.Count), died: true);
                        while (array.Count <= index) array.Add(new PerlCell());
                        array[(int)index].Value = x;
                    });
            }
            case DeclExpr { Parenthesized: false, Names: [var name] } decl:
                var declared = Declare(decl, name, scope);
                return (() => declared.Value, x => declared.Value = x);
            default:
                throw new PerlException(target.Line, "can't modify this expression");
        }
    }

    private PerlCell Declare(DeclExpr decl, string name, PerlScope scope)
    {
        if (name.StartsWith('@'))
        {
            DeclareArray(decl, name[1..], scope);
            return new PerlCell(); // an array declared in scalar context (my @a;): nothing to hold
        }
        if (decl.Kind != "our") return scope.Declare(name);
        var global = CellOf("main::" + name, decl.Line, scope);
        scope.Alias(name, global);
        return global;
    }

    private List<PerlCell> DeclareArray(DeclExpr decl, string name, PerlScope scope)
    {
        if (decl.Kind != "our") return scope.DeclareArray(name);
        var global = GlobalArray("main::" + name);
        scope.AliasArray(name, global);
        return global;
    }

    private static List<PerlValue> ArgsOf(PerlScope scope, int line) =>
        scope.FindArgs() ?? throw new PerlException(line, "@_ used outside a sub (@ARGV is not supported)");

    private void LocalizeSlurp(PerlScope scope)
    {
        var saved = _slurp;
        scope.Restores.Add(() => _slurp = saved);
        _slurp = true;
    }

    private PerlValue Assign(AssignExpr a, PerlScope scope)
    {
        if (a.Target is ArrayVarExpr or DeclExpr { Parenthesized: false, Names: [['@', ..]] })
        {
            var values = List(a.Value, scope); // evaluated first: @a = sort @a reads the old contents
            var array = a.Target is DeclExpr ad ? DeclareArray(ad, ad.Names[0][1..], scope)
                : ArrayOf(((ArrayVarExpr)a.Target).Name, a.Line, scope, ((ArrayVarExpr)a.Target).Strict);
            array.Clear();
            array.AddRange(values.Select(v => new PerlCell { Value = v }));
            return new PerlString(values.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (a.Target is DeclExpr { Parenthesized: true } or ListExpr)
        {
            var values = List(a.Value, scope);
            // each target is a scalar place or an array, which takes all the values left
            var targets = a.Target is DeclExpr d
                ? d.Names.Select(n => n.StartsWith('@') ? (object)DeclareArray(d, n[1..], scope) : Declare(d, n, scope)).ToList()
                : ((ListExpr)a.Target).Items.Select(i => i switch
                {
                    DeclExpr { Names: [['@', ..] arrayName] } one => (object)DeclareArray(one, arrayName[1..], scope),
                    DeclExpr one => Declare(one, one.Names[0], scope),
                    ArrayVarExpr av => ArrayOf(av.Name, av.Line, scope, av.Strict),
                    _ => (object)LValue(i, scope),
                }).ToList();
            var next = 0;
            foreach (var target in targets)
            {
                switch (target)
                {
                    case PerlCell cell:
                        cell.Value = next < values.Count ? values[next++] : PerlValue.Undef;
                        break;
                    case List<PerlCell> array:
                        array.Clear();
                        array.AddRange(values.Skip(next).Select(v => new PerlCell { Value = v }));
                        next = values.Count;
                        break;
                    case ValueTuple<Func<PerlValue>, Action<PerlValue>> place:
                        place.Item2(next < values.Count ? values[next++] : PerlValue.Undef);
                        break;
                }
            }
            return new PerlString(values.Count.ToString());
        }

        if (a.Target is LocalExpr)
        {
            var v = Scalar(a.Value, scope);
            if (v is not PerlUndef) throw new PerlException(a.Line, "only 'local $/;' or 'local $/ = undef;' is supported");
            LocalizeSlurp(scope);
            return v;
        }

        if (a.Op != "=")
        {
            var target = LValue(a.Target, scope);
            var current = target.Get();
            var shortCircuit = a.Op switch
            {
                "||=" => PerlOps.Truthy(current),
                "&&=" => !PerlOps.Truthy(current),
                "//=" => current is not PerlUndef,
                _ => false,
            };
            if (shortCircuit) return current;
            var rhs = Scalar(a.Value, scope);
            var result = a.Op is "||=" or "&&=" or "//=" ? rhs
                : BinaryValue(a.Op[..^1], current, rhs, a.Line);
            target.Set(result);
            return result;
        }

        var value = Scalar(a.Value, scope);
        LValue(a.Target, scope).Set(value);
        return value;
    }

    private PerlValue Binary(BinaryExpr b, PerlScope scope) =>
        BinaryValue(b.Op, Scalar(b.Left, scope), Scalar(b.Right, scope), b.Line);

    private static PerlValue BinaryValue(string op, PerlValue l, PerlValue r, int line)
    {
        string S(PerlValue v) => PerlOps.Str(v, line);
        double N(PerlValue v) => PerlOps.Num(v, line);
        PerlValue Num(double d) => new PerlString(PerlOps.FormatNumber(d));
        switch (op)
        {
            case ".": return new PerlString(S(l) + S(r));
            case "x":
                var count = (int)Math.Max(0, N(r));
                return new PerlString(new StringBuilder().Insert(0, S(l), count).ToString());
            case "+": return Num(N(l) + N(r));
            case "-": return Num(N(l) - N(r));
            case "*": return Num(N(l) * N(r));
            case "**": return Num(Math.Pow(N(l), N(r)));
            case "/":
                if (N(r) == 0) throw new PerlException(line, "Illegal division by zero", died: true);
                return Num(N(l) / N(r));
            case "%":
                if ((long)N(r) == 0) throw new PerlException(line, "Illegal modulus zero", died: true);
                return Num((long)N(l) % (long)N(r));
            case "==": return PerlOps.Bool(N(l) == N(r));
            case "!=": return PerlOps.Bool(N(l) != N(r));
            case "<": return PerlOps.Bool(N(l) < N(r));
            case ">": return PerlOps.Bool(N(l) > N(r));
            case "<=": return PerlOps.Bool(N(l) <= N(r));
            case ">=": return PerlOps.Bool(N(l) >= N(r));
            case "<=>":
                var (x, y) = (N(l), N(r));
                return double.IsNaN(x) || double.IsNaN(y) ? PerlValue.Undef : new PerlString(x < y ? "-1" : x > y ? "1" : "0");
            case "cmp": return new PerlString(Math.Sign(string.CompareOrdinal(S(l), S(r))).ToString(System.Globalization.CultureInfo.InvariantCulture));
            case "eq": return PerlOps.Bool(S(l) == S(r));
            case "ne": return PerlOps.Bool(S(l) != S(r));
            case "lt": return PerlOps.Bool(string.CompareOrdinal(S(l), S(r)) < 0);
            case "gt": return PerlOps.Bool(string.CompareOrdinal(S(l), S(r)) > 0);
            case "le": return PerlOps.Bool(string.CompareOrdinal(S(l), S(r)) <= 0);
            case "ge": return PerlOps.Bool(string.CompareOrdinal(S(l), S(r)) >= 0);
            default: throw new PerlException(line, $"unsupported operator '{op}'");
        }
    }

    private PerlValue CallFunction(CallExpr c, PerlScope scope)
    {
        var args = c.Args.SelectMany(a => List(a, scope)).ToList();
        switch (c.Name)
        {
            case "print":
                Print(string.Concat(args.Select(a => PerlOps.Str(a, c.Line))));
                return new PerlString("1");
            case "die":
                var message = string.Concat(args.Select(a => PerlOps.Str(a, c.Line)));
                var newline = message.EndsWith('\n');
                throw new PerlException(c.Line, message.Length == 0 ? "Died" : newline ? message[..^1] : message, died: true)
                {
                    DieMessageHasNewline = newline,
                };
            case "close":
                if (args is not [PerlFileHandle]) throw new PerlException(c.Line, "close() needs a filehandle from open");
                return new PerlString("1");
            case "system":
                if (args.Count == 0) throw new PerlException(c.Line, "system() needs a command");
                var strs = args.Select(a => PerlOps.Str(a, c.Line)).ToList();
                if (RunCommand(strs.Count == 1 ? ["/bin/sh", "-c", strs[0]] : strs, c.Line) is { } output) Print(output);
                return new PerlString(_childStatus.ToString(System.Globalization.CultureInfo.InvariantCulture));
            case "join":
                if (args.Count == 0) throw new PerlException(c.Line, "Not enough arguments for join");
                return new PerlString(string.Join(PerlOps.Str(args[0], c.Line), args.Skip(1).Select(a => PerlOps.Str(a, c.Line))));
            case "length":
                if (args.Count != 1) throw new PerlException(c.Line, "length() takes one argument");
                return args[0] is PerlUndef ? PerlValue.Undef
                    : new PerlString(PerlOps.Str(args[0], c.Line).Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            case "uc" or "lc" or "ucfirst" or "lcfirst":
            {
                if (args.Count != 1) throw new PerlException(c.Line, $"{c.Name}() takes one argument ($_ is not supported)");
                var text = PerlOps.Str(args[0], c.Line);
                // byte strings: only ASCII letters change case, as Perl does without "use utf8"/locale
                static string Ascii(string t, bool upper) => string.Concat(t.Select(ch => ch < 0x80 ? (upper ? char.ToUpperInvariant(ch) : char.ToLowerInvariant(ch)) : ch));
                return new PerlString(c.Name switch
                {
                    "uc" => Ascii(text, true),
                    "lc" => Ascii(text, false),
                    "ucfirst" => text.Length == 0 ? text : Ascii(text[..1], true) + text[1..],
                    _ => text.Length == 0 ? text : Ascii(text[..1], false) + text[1..],
                });
            }
            case "int":
                var number = args.Count > 0 ? PerlOps.Num(args[0], c.Line) : 0;
                return new PerlString(Math.Truncate(number).ToString(System.Globalization.CultureInfo.InvariantCulture));
            case "dirname" or "basename": // File::Basename
                if (args.Count != 1) throw new PerlException(c.Line, $"{c.Name}() takes one path");
                var p = PerlOps.Str(args[0], c.Line).TrimEnd('/');
                var slash = p.LastIndexOf('/');
                return new PerlString(c.Name == "basename" ? p[(slash + 1)..]
                    : slash < 0 ? "." : slash == 0 ? "/" : p[..slash]);
            case "unlink":
                var removed = 0;
                foreach (var a in args)
                {
                    var path = ResolvePath(PerlOps.Str(a, c.Line));
                    if (!File.Exists(path)) { _errno = "No such file or directory"; continue; }
                    try { File.Delete(path); removed++; }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException) { _errno = e.Message; }
                }
                return new PerlString(removed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        // A sub the file defines replaces an imported one of the same name (Perl warns "Subroutine redefined").
        if (_subs.TryGetValue(c.Name, out var sub)) return Call(sub, [.. args]);
        if (!Functions.TryGetValue(c.Name, out var fn)) throw new PerlException(c.Line, $"unsupported function '{c.Name}'");
        return fn(args, c.Line);
    }

    // Returns null for a section the block doesn't have (so list context can yield an empty list).
    private PerlValue? CallMethod(MethodCallExpr m, PerlScope scope)
    {
        var invocant = Scalar(m.Invocant, scope);
        if (invocant is not PerlBlockObject { Block: var block })
            throw new PerlException(m.Line, $"can't call method '{m.Method}' on {PerlOps.Describe(invocant)}");
        var args = m.Args.SelectMany(a => List(a, scope)).ToList();
        switch (m.Method)
        {
            case "set_value":
                if (args.Count == 0) throw new PerlException(m.Line, "set_value needs a section name");
                var name = PerlOps.Str(args[0], m.Line);
                if (name is "name" or "description" or "seq_num")
                    throw new PerlException(m.Line, $"set_value(\"{name}\", ...) is not supported");
                foreach (var v in args.Skip(1))
                    if (v is not (PerlString or PerlRegex or PerlArray or PerlUndef))
                        throw new PerlException(m.Line, $"can't store {PerlOps.Describe(v)} in section '{name}'");
                block.Set(name, args.Count switch
                {
                    1 => PerlValue.Undef,
                    2 => args[1],
                    _ => new PerlArray(args.Skip(1).ToList()),
                });
                return new PerlString("1");
            case "name": return new PerlString(block.Name);
            case "description": return new PerlString(block.Description);
            case "seq_num": return new PerlString(block.Index.ToString());
        }
        if (args.Count > 0) throw new PerlException(m.Line, $"Not allowed to set values for '{m.Method}' (use set_value)");
        return block.Sections.TryGetValue(m.Method, out var section) && section is not PerlUndef ? section : null;
    }

    private PerlValue Open(OpenExpr o, PerlScope scope)
    {
        var path = PerlOps.Str(Scalar(o.Path, scope), o.Line);
        string mode;
        if (o.Mode != null) mode = PerlOps.Str(Scalar(o.Mode, scope), o.Line).Trim();
        else
        {
            // two-argument open: the mode leads the string, and a bare path reads
            path = path.Trim();
            mode = path.StartsWith('<') ? "<" : path.Length > 0 && path[0] is '>' or '+' or '|' || path.EndsWith('|') ? path[..1] : "<";
            if (path.StartsWith('<')) path = path[1..].TrimStart();
        }
        if (mode != "<") throw new PerlException(o.Line, $"open mode '{mode}' is not supported (only '<')");
        var cell = o.Handle is DeclExpr d ? Declare(d, d.Names[0], scope) : CellOf(((ScalarVarExpr)o.Handle).Name, o.Line, scope);
        try
        {
            var full = ResolvePath(path);
            cell.Value = new PerlFileHandle(full, Encoding.Latin1.GetString(File.ReadAllBytes(full)));
            return new PerlString("1");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _errno = e switch
            {
                FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
                UnauthorizedAccessException => "Permission denied",
                _ => e.Message,
            };
            return PerlValue.Undef;
        }
    }

    private List<PerlValue> ReadLines(ReadLineExpr r, PerlScope scope, bool all)
    {
        var handle = CellOf(r.Handle, r.Line, scope).Value as PerlFileHandle
            ?? throw new PerlException(r.Line, $"<${r.Handle}> needs a filehandle from open");
        var result = new List<PerlValue>();
        while (handle.Position < handle.Content.Length)
        {
            var end = _slurp ? handle.Content.Length : handle.Content.IndexOf('\n', handle.Position) + 1;
            if (end <= 0) end = handle.Content.Length;
            result.Add(new PerlString(handle.Content[handle.Position..end]));
            handle.Position = end;
            if (!all) break;
        }
        return result;
    }

    private string ResolvePath(string path) => Path.IsPathRooted(path) ? path : Path.Combine(RootDir, path);

    // ---- commands, file tests, regexes ----

    private string? RunCommand(string shellCommand, int line) => RunCommand(["/bin/sh", "-c", shellCommand], line);

    /// <summary>
    /// Runs a command as Perl's backticks and system() do: in <see cref="RootDir"/>, with the changed
    /// %ENV, its stderr going to ours. Returns its stdout (bytes as Latin-1 chars) and sets <c>$?</c>;
    /// a command that can't start gives null, <c>$?</c> = -1 and <c>$!</c>.
    /// </summary>
    private string? RunCommand(IReadOnlyList<string> argv, int line)
    {
        var psi = new ProcessStartInfo(argv[0])
        {
            WorkingDirectory = RootDir,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
        };
        foreach (var arg in argv.Skip(1)) psi.ArgumentList.Add(arg);
        foreach (var (name, value) in EnvDefaults)
            if (!psi.Environment.ContainsKey(name)) psi.Environment[name] = value;
        foreach (var (name, value) in Env)
        {
            if (value == null) psi.Environment.Remove(name);
            else psi.Environment[name] = value;
        }
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("no process started");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            _errno = e.Message;
            _childStatus = -1;
            return null;
        }
        using (process)
        {
            process.StandardInput.Close();
            var output = new MemoryStream();
            var copy = process.StandardOutput.BaseStream.CopyToAsync(output);
            if (!process.WaitForExit(CommandTimeout))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                Console.Error.WriteLine($"line {line}: command killed after {CommandTimeout.TotalSeconds:0} s: {string.Join(' ', argv)}");
                _childStatus = 9; // terminated by SIGKILL
            }
            else _childStatus = (process.ExitCode & 0xff) << 8;
            copy.Wait();
            return Encoding.Latin1.GetString(output.ToArray());
        }
    }

    private PerlValue FileTest(char op, PerlValue operand, int line)
    {
        if (operand is PerlUndef || PerlOps.Str(operand, line) is not { Length: > 0 } given) return PerlOps.Bool(false);
        var path = ResolvePath(given);
        var isFile = File.Exists(path);
        var exists = isFile || Directory.Exists(path);
        UnixFileMode Mode() => OperatingSystem.IsWindows() ? UnixFileMode.None : File.GetUnixFileMode(path);
        switch (op)
        {
            case 'e': return PerlOps.Bool(exists);
            case 'f': return PerlOps.Bool(isFile);
            case 'd': return PerlOps.Bool(!isFile && exists);
            case 'l': return PerlOps.Bool(exists && new FileInfo(path).LinkTarget != null);
            // permission bits for anyone; the runner doesn't model Perl's effective-uid checks
            case 'x': return PerlOps.Bool(exists && (Mode() & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0);
            case 'r': return PerlOps.Bool(exists && (Mode() & (UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0);
            case 'w': return PerlOps.Bool(exists && (Mode() & (UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0);
            case 's': return isFile && new FileInfo(path).Length is > 0 and var size ? new PerlString(size.ToString(System.Globalization.CultureInfo.InvariantCulture)) : PerlOps.Bool(false);
            case 'z': return PerlOps.Bool(isFile && new FileInfo(path).Length == 0);
            default: throw new PerlException(line, $"the file test -{op} is not supported");
        }
    }

    private static Regex CompileRegex(string pattern, string flags, int line)
    {
        try { return PerlRegexTranslator.Compile(pattern, new string(flags.Where(f => f is not ('g' or 'r' or 'c' or 'o' or 'e')).ToArray())); }
        catch (PerlRegexException e) { throw new PerlException(line, e.Message); }
    }

    private bool Matches(MatchExpr m, PerlScope scope)
    {
        if (m.Flags.Contains('g')) throw new PerlException(m.Line, "m//g is not supported");
        var match = CompileRegex(m.Pattern, m.Flags, m.Line).Match(PerlOps.Str(Scalar(m.Target, scope), m.Line));
        if (match.Success) _lastMatch = match;
        return match.Success;
    }

    // s/// returns the number of substitutions ("" for none), or with /r the new string.
    private PerlValue Substitute(SubstExpr s, PerlScope scope)
    {
        var regex = CompileRegex(s.Pattern, s.Flags, s.Line);
        var returnsCopy = s.Flags.Contains('r');
        var target = returnsCopy ? default : LValue(s.Target, scope);
        var input = PerlOps.Str(returnsCopy ? Scalar(s.Target, scope) : target.Get(), s.Line);
        var count = 0;
        var result = regex.Replace(input, match =>
        {
            count++;
            _lastMatch = match;
            return Interpolate(s.Replacement, s.Line, scope);
        }, s.Flags.Contains('g') ? -1 : 1);
        if (returnsCopy) return new PerlString(result);
        if (count == 0) return PerlOps.Bool(false);
        target.Set(new PerlString(result));
        return new PerlString(count.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    // chomp removes one trailing $/ ("\n"); in slurp mode ($/ undef) it removes nothing.
    private PerlValue Chomp(ChompExpr c, PerlScope scope)
    {
        var target = LValue(c.Target, scope);
        var value = target.Get();
        if (_slurp || value is PerlUndef || PerlOps.Str(value, c.Line) is not { } text || !text.EndsWith('\n'))
            return new PerlString("0");
        target.Set(new PerlString(text[..^1]));
        return new PerlString("1");
    }
}
