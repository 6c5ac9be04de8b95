using System.Globalization;
using System.Text.RegularExpressions;
using Apisix.TestNginx.Parsing;

namespace Apisix.TestNginx.Perl;

/// <summary>Perl's scalar conversions: stringify, numify, truth.</summary>
public static partial class PerlOps
{
    /// <summary>Perl's "%.15g" number formatting: 3, 1.5, 1e+20.</summary>
    public static string FormatNumber(double d)
    {
        if (double.IsNaN(d)) return "NaN";
        if (double.IsInfinity(d)) return d > 0 ? "Inf" : "-Inf";
        if (d == Math.Floor(d) && Math.Abs(d) < 1e15) return ((long)d).ToString(CultureInfo.InvariantCulture);
        var s = d.ToString("G15", CultureInfo.InvariantCulture);
        var e = s.IndexOf('E');
        if (e < 0) return s;
        // .NET writes E+20 / E-05; Perl writes e+20 / e-05 (at least two exponent digits).
        var exp = int.Parse(s[(e + 1)..], CultureInfo.InvariantCulture);
        return $"{s[..e]}e{(exp < 0 ? "-" : "+")}{Math.Abs(exp):00}";
    }

    /// <summary>Stringification; references to code or arrays are refused rather than printed as ARRAY(0x...).</summary>
    public static string Str(PerlValue v, int line) => v switch
    {
        PerlString s => s.Bytes,
        PerlUndef => "",
        PerlRegex r => r.ToString(),
        _ => throw new PerlException(line, $"can't use {Describe(v)} as a string"),
    };

    public static double Num(PerlValue v, int line)
    {
        var s = Str(v, line);
        var m = NumericPrefix().Match(s);
        return m.Success && m.Length > 0 && double.TryParse(m.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : 0;
    }

    public static bool Truthy(PerlValue v) => v switch
    {
        PerlUndef => false,
        PerlString s => s.Bytes is not ("" or "0"),
        _ => true,
    };

    public static PerlValue Bool(bool b) => new PerlString(b ? "1" : "");

    public static string Describe(PerlValue v) => v switch
    {
        PerlArray => "an array reference",
        PerlCode => "a code reference",
        PerlFileHandle => "a filehandle",
        PerlBlockObject => "the $block object",
        PerlRegex => "a qr// regex",
        PerlUndef => "undef",
        _ => "a string",
    };

    [GeneratedRegex(@"^[ \t\n\r\f\v]*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)")]
    private static partial Regex NumericPrefix();
}
