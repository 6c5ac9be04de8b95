namespace Apisix.Core.Schema;

/// <summary>
/// What C's inet_pton accepts. Under OpenResty the validator checks the
/// ipv4/ipv6 formats with it instead of a regex.
/// </summary>
internal static class InetPton
{
    /// <summary>Dotted quad, four parts 0-255, no leading zeros, nothing else.</summary>
    public static bool IsIPv4(string s) => ParseIPv4(s, 0, s.Length);

    private static bool ParseIPv4(string s, int start, int end)
    {
        int parts = 0;
        int value = 0;
        bool sawDigit = false;
        for (int i = start; i < end; i++)
        {
            char c = s[i];
            if (c >= '0' && c <= '9')
            {
                if (sawDigit && value == 0) return false; // leading zero
                value = value * 10 + (c - '0');
                if (value > 255) return false;
                if (!sawDigit)
                {
                    if (++parts > 4) return false;
                    sawDigit = true;
                }
            }
            else if (c == '.' && sawDigit)
            {
                if (parts == 4) return false;
                value = 0;
                sawDigit = false;
            }
            else
            {
                return false;
            }
        }
        return parts == 4 && sawDigit;
    }

    /// <summary>Eight hex groups, one "::" allowed, optional dotted quad tail.</summary>
    public static bool IsIPv6(string s)
    {
        int groups = 0;           // 16-bit groups written so far
        bool sawCompression = false;
        int i = 0, n = s.Length;

        if (n == 0) return false;
        if (s[0] == ':')
        {
            if (n < 2 || s[1] != ':') return false;
            i = 1; // the second ':' is handled by the loop as an empty group
        }

        int groupStart = i;
        int digits = 0;
        bool lastWasColon = false;
        for (; i < n; i++)
        {
            char c = s[i];
            if (Uri.IsHexDigit(c))
            {
                if (++digits > 4) return false;
                lastWasColon = false;
                continue;
            }
            if (c == ':')
            {
                if (digits == 0)
                {
                    // "::" — only once, and only right after another ':'.
                    if (sawCompression || !(i > 0 && s[i - 1] == ':')) return false;
                    sawCompression = true;
                }
                else
                {
                    if (i + 1 >= n) return false; // trailing single ':'
                    groups++;
                }
                if (groups > 8) return false;
                digits = 0;
                groupStart = i + 1;
                lastWasColon = true;
                continue;
            }
            if (c == '.')
            {
                // IPv4 tail: takes the place of two groups.
                if (groups + 2 > 8) return false;
                if (!ParseIPv4(s, groupStart, n)) return false;
                groups += 2;
                digits = 0;
                lastWasColon = false;
                i = n;
                break;
            }
            return false;
        }

        if (digits > 0) groups++;
        else if (lastWasColon && !(n >= 2 && s[n - 1] == ':' && s[n - 2] == ':' && sawCompression)) return false;

        if (sawCompression) return groups <= 7;
        return groups == 8;
    }
}
