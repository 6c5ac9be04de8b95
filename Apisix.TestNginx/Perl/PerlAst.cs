using Apisix.TestNginx.Parsing;

namespace Apisix.TestNginx.Perl;

// The syntax tree of the Perl subset. Every node knows its source line for error messages.

public abstract record Node(int Line);

// ---- statements ----
public abstract record Stmt(int Line) : Node(Line);
public sealed record ExprStmt(Expr Expr, int Line) : Stmt(Line);
/// <summary>if/elsif/else; an <c>unless</c> clause is stored with its condition wrapped in <c>!</c>.</summary>
public sealed record IfStmt(IReadOnlyList<(Expr Cond, Block Body)> Clauses, Block? Else, int Line) : Stmt(Line);
/// <summary>A bare <c>{ ... }</c> or a <c>BEGIN { ... }</c> block (run in place: the preamble is already sequential).</summary>
public sealed record WhileStmt(Expr Cond, Block Body, bool Until, int Line) : Stmt(Line);
/// <summary><c>for[each] my $x (LIST) {...}</c>: $x aliases each element in turn.</summary>
public sealed record ForeachStmt(string Var, bool Lexical, Expr List, Block Body, int Line) : Stmt(Line);
public sealed record BlockStmt(Block Body, int Line, bool Begin = false) : Stmt(Line);
public sealed record UseStmt(string Module, Expr? Args, int Line) : Stmt(Line);
/// <summary><c>sub NAME { ... }</c>: defined before the program runs, as Perl defines named subs at compile time.</summary>
public sealed record SubDefStmt(string Name, Block Body, int Line) : Stmt(Line);

public sealed record Block(IReadOnlyList<Stmt> Statements, int Line) : Node(Line);

// ---- expressions ----
public abstract record Expr(int Line) : Node(Line);
public sealed record LiteralExpr(PerlValue Value, int Line) : Expr(Line);
public sealed record InterpolatedExpr(IReadOnlyList<StringPart> Parts, int Line) : Expr(Line);
/// <summary>A scalar variable; without <c>use strict</c> in force (Strict false) an undeclared one is the package global.</summary>
public sealed record ScalarVarExpr(string Name, int Line, bool Strict = true) : Expr(Line);
/// <summary><c>@_</c> (the sub's arguments) or a named array: its elements in list context, its length in scalar context.</summary>
public sealed record ArrayVarExpr(string Name, int Line, bool Strict = true) : Expr(Line);
/// <summary><c>$name[INDEX]</c>: one element of a named array (a negative index counts from the end).</summary>
public sealed record ArrayElemExpr(string Name, Expr Index, int Line, bool Strict = true) : Expr(Line);
/// <summary><c>push</c>/<c>unshift @a, LIST</c> and <c>pop</c>/<c>shift @a</c> on a named array.</summary>
public sealed record ArrayOpExpr(string Op, ArrayVarExpr Array, IReadOnlyList<Expr> Items, int Line) : Expr(Line);
/// <summary><c>sort LIST</c> (string order) or <c>sort { ... $a ... $b } LIST</c>.</summary>
public sealed record SortExpr(Block? Comparator, Expr List, int Line) : Expr(Line);
/// <summary><c>reverse LIST</c>: the list backwards (in scalar context: the concatenation, reversed).</summary>
public sealed record ReverseExpr(Expr List, int Line) : Expr(Line);
/// <summary><c>scalar(EXPR)</c>: EXPR in scalar context (an array's length).</summary>
public sealed record ScalarCtxExpr(Expr Operand, int Line) : Expr(Line);
public sealed record EnvElemExpr(Expr Key, int Line) : Expr(Line);
/// <summary><c>my $x</c>, <c>my @a</c>, <c>my ($a, @rest)</c>, <c>our $x</c>; Parenthesized makes assignment list-wise.
/// An array's name is kept with its sigil ("@a"), a scalar's without.</summary>
public sealed record DeclExpr(string Kind, IReadOnlyList<string> Names, bool Parenthesized, int Line) : Expr(Line);
/// <summary><c>local $/</c>: the only <c>local</c> the subset knows (slurp mode for the enclosing block).</summary>
public sealed record LocalExpr(string Name, int Line) : Expr(Line);
public sealed record AssignExpr(Expr Target, string Op, Expr Value, int Line) : Expr(Line);
public sealed record BinaryExpr(string Op, Expr Left, Expr Right, int Line) : Expr(Line);
/// <summary>Short-circuit operators: || // && or and.</summary>
public sealed record LogicalExpr(string Op, Expr Left, Expr Right, int Line) : Expr(Line);
public sealed record UnaryExpr(string Op, Expr Operand, int Line) : Expr(Line);
public sealed record TernaryExpr(Expr Cond, Expr Then, Expr Else, int Line) : Expr(Line);
public sealed record DefinedExpr(Expr Operand, int Line) : Expr(Line);
/// <summary>FROM..TO in list context: the integers from FROM to TO.</summary>
public sealed record RangeExpr(Expr From, Expr To, int Line) : Expr(Line);
/// <summary>++$x, $x++, --$x, $x-- (numeric).</summary>
public sealed record IncDecExpr(Expr Target, string Op, bool Prefix, int Line) : Expr(Line);
/// <summary>map BLOCK LIST or map EXPR, LIST: $_ set to each element in turn.</summary>
public sealed record MapExpr(Block? Body, Expr? Each, Expr List, int Line) : Expr(Line);
public sealed record ListExpr(IReadOnlyList<Expr> Items, int Line) : Expr(Line);
public sealed record ArrayRefExpr(IReadOnlyList<Expr> Items, int Line) : Expr(Line);
public sealed record RegexExpr(string Pattern, string Flags, int Line) : Expr(Line);
public sealed record CallExpr(string Name, IReadOnlyList<Expr> Args, int Line) : Expr(Line);
public sealed record MethodCallExpr(Expr Invocant, string Method, IReadOnlyList<Expr> Args, int Line) : Expr(Line);
public sealed record AnonSubExpr(Block Body, int Line) : Expr(Line);
public sealed record DoBlockExpr(Block Body, int Line) : Expr(Line);
public sealed record ReadLineExpr(string Handle, int Line) : Expr(Line);
public sealed record ShiftExpr(int Line) : Expr(Line);
public sealed record ReturnExpr(Expr? Value, int Line) : Expr(Line);
/// <summary><c>open(my $fh, '&lt;', $path)</c>: the handle target is an lvalue.</summary>
/// <summary>open: three arguments (Mode given), or two, with the mode at the front of Path ("&lt;file").</summary>
public sealed record OpenExpr(Expr Handle, Expr? Mode, Expr Path, int Line) : Expr(Line);
/// <summary><c>`cmd`</c> / <c>qx{cmd}</c>: runs the command through /bin/sh, yields its stdout.</summary>
public sealed record BacktickExpr(IReadOnlyList<StringPart> Parts, int Line) : Expr(Line);
/// <summary><c>TARGET =~ m/PATTERN/</c> (Negated for <c>!~</c>).</summary>
public sealed record MatchExpr(Expr Target, string Pattern, string Flags, bool Negated, int Line) : Expr(Line);
/// <summary><c>TARGET =~ s/PATTERN/REPLACEMENT/FLAGS</c>; the replacement is a double-quoted string.</summary>
public sealed record SubstExpr(Expr Target, string Pattern, IReadOnlyList<StringPart> Replacement, string Flags, int Line) : Expr(Line);
/// <summary>A file test such as <c>-f $path</c> or <c>-x $bin</c>.</summary>
public sealed record FileTestExpr(char Op, Expr Operand, int Line) : Expr(Line);
/// <summary><c>undef $x</c> / <c>undef $ENV{X}</c>: makes the lvalue undefined.</summary>
public sealed record UndefExpr(Expr Target, int Line) : Expr(Line);
/// <summary><c>delete $ENV{X}</c>: removes the element, yields its old value.</summary>
public sealed record DeleteExpr(Expr Target, int Line) : Expr(Line);
/// <summary><c>chomp($x)</c>: removes one trailing newline from the lvalue, yields how many it removed.</summary>
public sealed record ChompExpr(Expr Target, int Line) : Expr(Line);
/// <summary><c>eval { ... }</c>: runs the block; a die is caught into <c>$@</c> and yields undef.</summary>
public sealed record EvalBlockExpr(Block Body, int Line) : Expr(Line);
