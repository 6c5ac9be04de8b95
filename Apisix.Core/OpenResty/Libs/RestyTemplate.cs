// Twin of resty/template.lua (lua-resty-template 2.0, the compile step APISIX's body-transformer uses)
using System.Text;

namespace Apisix.Core.OpenResty.Libs;

/// <summary>
/// Turns a lua-resty-template view into the Lua source of its render function. Supported tags:
/// <c>{{expr}}</c> (HTML-escaped output), <c>{*expr*}</c> (raw output), <c>{% code %}</c> (Lua
/// statements) and <c>{# comment #}</c>; a backslash before a tag keeps it as text. As in
/// lua-resty-template, a code or comment tag alone on its line takes the line with it.
/// Includes (<c>{(file)}</c>), blocks and layouts are not supported: their text stays as is.
/// The source expects <c>template</c> (with <c>escape</c> and <c>output</c>) and the context's
/// names as globals; it returns the rendered string.
/// </summary>
public static class RestyTemplate
{
    public static string Compile(string view)
    {
        var code = new StringBuilder("local ___ = {}\n");
        var text = new StringBuilder();
        void Flush()
        {
            if (text.Length == 0) return;
            code.Append("___[#___+1]=").Append(Quote(text.ToString())).Append('\n');
            text.Clear();
        }

        int i = 0, n = view.Length;
        while (i < n)
        {
            var c = view[i];
            if (c == '\\' && i + 2 < n && view[i + 1] == '{' && IsTagChar(view[i + 2]))
            {
                text.Append(view, i + 1, 2);
                i += 3;
                continue;
            }
            if (c != '{' || i + 1 >= n || !IsTagChar(view[i + 1]))
            {
                text.Append(c);
                i++;
                continue;
            }
            var kind = view[i + 1];
            var close = (kind == '{' ? "}" : kind.ToString()) + "}";
            var end = view.IndexOf(close, i + 2, StringComparison.Ordinal);
            if (end < 0)
            {
                text.Append(c);
                i++;
                continue;
            }
            var inner = view.Substring(i + 2, end - i - 2);
            var after = end + 2;
            if (kind is '%' or '#')
            {
                // a statement or comment alone on its line leaves no blank line behind
                var lineStart = LineStartIfBlank(text);
                var lineEnd = LineEndIfBlank(view, after);
                if (lineStart >= 0 && lineEnd >= 0)
                {
                    text.Length = lineStart;
                    after = lineEnd;
                }
            }
            Flush();
            switch (kind)
            {
                case '{': code.Append("___[#___+1]=template.escape(").Append(inner.Trim()).Append(")\n"); break;
                case '*': code.Append("___[#___+1]=template.output(").Append(inner.Trim()).Append(")\n"); break;
                case '%': code.Append(inner).Append('\n'); break;
            }
            i = after;
        }
        Flush();
        code.Append("return table.concat(___)");
        return code.ToString();
    }

    private static bool IsTagChar(char c) => c is '{' or '*' or '%' or '#';

    // where the current line starts in the pending text when it holds only blanks, else -1
    private static int LineStartIfBlank(StringBuilder text)
    {
        var j = text.Length;
        while (j > 0 && text[j - 1] is ' ' or '\t') j--;
        return j == 0 || text[j - 1] == '\n' ? j : -1;
    }

    // the index after the newline that ends the line at `from` when only blanks precede it, else -1
    private static int LineEndIfBlank(string view, int from)
    {
        var j = from;
        while (j < view.Length && view[j] is ' ' or '\t') j++;
        if (j == view.Length) return j;
        if (view[j] == '\n') return j + 1;
        if (view[j] == '\r' && j + 1 < view.Length && view[j + 1] == '\n') return j + 2;
        return -1;
    }

    /// <summary>A Lua string literal for any byte string (one char per byte).</summary>
    public static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var ch in s)
        {
            switch (ch)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                default:
                    if (ch > 255)
                    {
                        // a character beyond one byte (from a JSON conf): its UTF-8 bytes
                        foreach (var b in Encoding.UTF8.GetBytes(ch.ToString())) sb.Append('\\').Append(b.ToString("D3"));
                    }
                    else if (ch < 32 || ch >= 127) sb.Append('\\').Append(((int)ch).ToString("D3"));
                    else sb.Append(ch);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }
}
