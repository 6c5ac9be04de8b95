using System.Globalization;

namespace Apisix.Core.Json;

/// <summary>
/// Number to text the way LuaJIT does it. LuaJIT has only doubles, and both
/// <c>tostring(n)</c> and cjson's encoder print them with C's <c>%.14g</c>.
/// </summary>
public static class LuaNumber
{
    /// <summary>C <c>printf("%.14g", d)</c>, with LuaJIT's spelling of nan/inf.</summary>
    public static string ToLuaString(double d) => FormatG(d, 14);

    /// <summary>C <c>%.{precision}g</c> for finite numbers; nan/inf spelled as LuaJIT prints them.</summary>
    public static string FormatG(double d, int precision)
    {
        if (double.IsNaN(d)) return double.IsNegative(d) ? "-nan" : "nan";
        if (double.IsInfinity(d)) return d < 0 ? "-inf" : "inf";
        if (precision < 1) precision = 1;
        if (d == 0) return double.IsNegative(d) ? "-0" : "0";

        // "E" formatting gives the correctly rounded significant digits and the
        // decimal exponent after rounding, which is what %g decides on.
        string e = d.ToString("E" + (precision - 1), CultureInfo.InvariantCulture);
        bool negative = e[0] == '-';
        if (negative) e = e.Substring(1);
        int ePos = e.IndexOf('E');
        string digits = e.Substring(0, ePos).Replace(".", "");
        int exp = int.Parse(e.Substring(ePos + 1), CultureInfo.InvariantCulture);

        string body;
        if (exp < -4 || exp >= precision)
        {
            string frac = digits.Substring(1).TrimEnd('0');
            body = digits[0] + (frac.Length > 0 ? "." + frac : "")
                 + "e" + (exp < 0 ? "-" : "+") + Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture);
        }
        else if (exp >= 0)
        {
            string intPart = digits.Substring(0, exp + 1);
            string frac = digits.Substring(exp + 1).TrimEnd('0');
            body = intPart + (frac.Length > 0 ? "." + frac : "");
        }
        else
        {
            string frac = (new string('0', -exp - 1) + digits).TrimEnd('0');
            body = "0." + frac;
        }
        return negative ? "-" + body : body;
    }

    /// <summary>Lua's view of an integral number: finite with no fraction.</summary>
    public static bool IsIntegral(double d) => double.IsFinite(d) && Math.Floor(d) == d;
}
