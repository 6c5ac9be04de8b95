using System.Globalization;
using System.Numerics;

namespace Apisix.Core.Json;

/// <summary>
/// The parts of C's strtoll(…, 10) and glibc's strtod that cjson relies on:
/// how far they read and what value they produce. Each returns the end
/// offset; end == start means "no conversion".
/// </summary>
internal static class CStrto
{
    private static char At(string s, int i) => i < s.Length ? s[i] : '\0';

    private static bool IsDigit(char c) => c >= '0' && c <= '9';

    private static bool IsHex(char c) => IsDigit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');

    private static bool IsSpace(char c) => c == ' ' || (c >= '\t' && c <= '\r');

    /// <summary>Decimal strtoll; saturates at long.MinValue/MaxValue on overflow.</summary>
    public static int Strtoll(string s, int start, out long value)
    {
        value = 0;
        int p = start;
        while (IsSpace(At(s, p))) p++;
        bool negative = false;
        if (At(s, p) == '+' || At(s, p) == '-')
        {
            negative = At(s, p) == '-';
            p++;
        }
        if (!IsDigit(At(s, p))) return start;

        // the magnitude, until it no longer fits (then the result saturates)
        ulong magnitude = 0;
        var overflow = false;
        while (IsDigit(At(s, p)))
        {
            var digit = (ulong)(At(s, p) - '0');
            if (!overflow)
            {
                if (magnitude > (ulong.MaxValue - digit) / 10) overflow = true;
                else magnitude = magnitude * 10 + digit;
            }
            p++;
        }
        if (negative) value = overflow || magnitude > 1UL << 63 ? long.MinValue : unchecked((long)(0UL - magnitude));
        else value = overflow || magnitude > long.MaxValue ? long.MaxValue : (long)magnitude;
        return p;
    }

    /// <summary>strtod: decimal, hex floats, inf/infinity, nan/nan(chars).</summary>
    public static int Strtod(string s, int start, out double value)
    {
        value = 0;
        int p = start;
        while (IsSpace(At(s, p))) p++;
        bool negative = false;
        if (At(s, p) == '+' || At(s, p) == '-')
        {
            negative = At(s, p) == '-';
            p++;
        }

        int end;
        if (MatchWord(s, p, "inf"))
        {
            end = MatchWord(s, p, "infinity") ? p + 8 : p + 3;
            value = double.PositiveInfinity;
        }
        else if (MatchWord(s, p, "nan"))
        {
            end = p + 3;
            if (At(s, end) == '(')
            {
                int q = end + 1;
                while (char.IsAsciiLetterOrDigit(At(s, q)) || At(s, q) == '_') q++;
                if (At(s, q) == ')') end = q + 1;
            }
            value = double.NaN;
        }
        else if (At(s, p) == '0' && (At(s, p + 1) | 0x20) == 'x'
                 && (IsHex(At(s, p + 2)) || (At(s, p + 2) == '.' && IsHex(At(s, p + 3)))))
        {
            end = ParseHex(s, p + 2, out value);
        }
        else
        {
            end = ParseDecimal(s, p, out value);
            if (end == p) return start;
        }

        if (negative) value = -value;
        return end;
    }

    private static bool MatchWord(string s, int p, string word)
    {
        for (int i = 0; i < word.Length; i++)
        {
            if ((At(s, p + i) | 0x20) != word[i]) return false;
        }
        return true;
    }

    private static int ParseDecimal(string s, int p, out double value)
    {
        value = 0;
        int q = p;
        int digits = 0;
        while (IsDigit(At(s, q))) { q++; digits++; }
        if (At(s, q) == '.')
        {
            q++;
            while (IsDigit(At(s, q))) { q++; digits++; }
        }
        if (digits == 0) return p;

        // The exponent only counts when at least one digit follows it.
        if ((At(s, q) | 0x20) == 'e')
        {
            int r = q + 1;
            if (At(s, r) == '+' || At(s, r) == '-') r++;
            if (IsDigit(At(s, r)))
            {
                while (IsDigit(At(s, r))) r++;
                q = r;
            }
        }

        string text = s.Substring(p, q - p);
        if (text.EndsWith('.')) text += "0";
        if (text.StartsWith('.')) text = "0" + text;
        value = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        return q;
    }

    private static int ParseHex(string s, int p, out double value)
    {
        BigInteger mantissa = 0;
        int scale = 0; // binary exponent adjustment from fraction digits
        int q = p;
        while (IsHex(At(s, q)))
        {
            mantissa = mantissa * 16 + Convert.ToInt32(At(s, q).ToString(), 16);
            q++;
        }
        if (At(s, q) == '.')
        {
            q++;
            while (IsHex(At(s, q)))
            {
                mantissa = mantissa * 16 + Convert.ToInt32(At(s, q).ToString(), 16);
                scale -= 4;
                q++;
            }
        }
        if ((At(s, q) | 0x20) == 'p')
        {
            int r = q + 1;
            bool neg = false;
            if (At(s, r) == '+' || At(s, r) == '-') { neg = At(s, r) == '-'; r++; }
            if (IsDigit(At(s, r)))
            {
                int exp = 0;
                while (IsDigit(At(s, r)))
                {
                    exp = Math.Min(exp * 10 + (At(s, r) - '0'), 100000);
                    r++;
                }
                scale += neg ? -exp : exp;
                q = r;
            }
        }
        value = Math.ScaleB((double)mantissa, scale);
        return q;
    }
}
