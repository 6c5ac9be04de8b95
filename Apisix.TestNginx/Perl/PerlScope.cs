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

    public List<PerlValue>? FindArgs()
    {
        for (var s = this; s != null; s = s.Parent)
            if (s.Args != null) return s.Args;
        return null;
    }
}
