using Apisix.TestNginx.Parsing;

namespace Apisix.TestNginx.Perl;

/// <summary>A mutable scalar slot, shared by a scope and any closure that captured it.</summary>
public sealed class PerlCell
{
    public PerlValue Value { get; set; } = PerlValue.Undef;
}

/// <summary>
/// One lexical scope (a file, a block, a sub call). <c>my</c> declares here; lookups walk outwards.
/// Undeclared names are an error, as under <c>use strict</c>: silently reading an empty global hides bugs.
/// </summary>
public sealed class PerlScope(PerlScope? parent)
{
    private readonly Dictionary<string, PerlCell> _scalars = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<PerlCell>> _arrays = new(StringComparer.Ordinal);

    /// <summary>The sub's <c>@_</c>, when this scope is a sub call.</summary>
    public List<PerlValue>? Args { get; init; }

    /// <summary>Undo actions for <c>local</c>, run when the scope ends.</summary>
    public List<Action> Restores { get; } = new();

    public PerlScope? Parent => parent;

    public PerlCell Declare(string name)
    {
        var cell = new PerlCell();
        _scalars[name] = cell;
        return cell;
    }

    /// <summary><c>our $x</c>: binds the name here to a package global's cell.</summary>
    public void Alias(string name, PerlCell cell) => _scalars[name] = cell;

    public PerlCell? Find(string name)
    {
        for (var s = this; s != null; s = s.Parent)
            if (s._scalars.TryGetValue(name, out var cell)) return cell;
        return null;
    }

    /// <summary><c>my @name</c>: a new, empty array; each element is a cell so <c>foreach</c> can alias it.</summary>
    public List<PerlCell> DeclareArray(string name) => _arrays[name] = new List<PerlCell>();

    /// <summary><c>our @name</c>: binds the name here to a package array.</summary>
    public void AliasArray(string name, List<PerlCell> array) => _arrays[name] = array;

    public List<PerlCell>? FindArray(string name)
    {
        for (var s = this; s != null; s = s.Parent)
            if (s._arrays.TryGetValue(name, out var array)) return array;
        return null;
    }

    public List<PerlValue>? FindArgs()
    {
        for (var s = this; s != null; s = s.Parent)
            if (s.Args != null) return s.Args;
        return null;
    }
}
