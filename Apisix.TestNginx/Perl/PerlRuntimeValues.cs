using Apisix.TestNginx.Parsing;

namespace Apisix.TestNginx.Perl;

// Values that exist only while Perl runs; they never end up in a block's sections.

/// <summary>An anonymous <c>sub { ... }</c> with the scope it closes over.</summary>
public sealed record PerlCode(Block Body, PerlScope Closure) : PerlValue
{
    public override string ToString() => "CODE";
}

/// <summary>A handle from <c>open</c>: the whole file read up front, consumed by <c>&lt;$fh&gt;</c>.</summary>
public sealed record PerlFileHandle(string Path, string Content) : PerlValue
{
    public int Position { get; set; }
    public override string ToString() => "GLOB";
}

/// <summary>The <c>$block</c> a preprocessor receives: <c>$block-&gt;name</c> reads a section.</summary>
public sealed record PerlBlockObject(TestBlock Block) : PerlValue
{
    public override string ToString() => "Test::Base::Block";
}
