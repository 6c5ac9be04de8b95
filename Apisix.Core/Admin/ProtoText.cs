namespace Apisix.Core.Admin;

/// <summary>
/// A structural check of protobuf text (the part of lua-protobuf's <c>protoc:load</c> the admin
/// API relies on to refuse a proto): tokens, balanced blocks, statements ending in ";", and
/// field names and numbers unique within a message. It does not build descriptors; its
/// messages name the line, not lua-protobuf's exact wording.
/// </summary>
public static class ProtoText
{
    private sealed record Token(string Text, int Line, bool IsString);

    /// <summary>Null when the text is well formed, else what is wrong and where.</summary>
    public static string? Check(string text)
    {
        List<Token> tokens;
        try { tokens = Tokenize(text); }
        catch (FormatException e) { return e.Message; }

        int i = 0;
        try
        {
            ParseBody(tokens, ref i, topLevel: true, inMessage: false);
            return null;
        }
        catch (FormatException e)
        {
            return e.Message;
        }
    }

    private static List<Token> Tokenize(string s)
    {
        var list = new List<Token>();
        int line = 1;
        for (int i = 0; i < s.Length;)
        {
            char c = s[i];
            if (c == '\n') { line++; i++; continue; }
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c == '/' && i + 1 < s.Length && s[i + 1] == '/')
            {
                while (i < s.Length && s[i] != '\n') i++;
                continue;
            }
            if (c == '/' && i + 1 < s.Length && s[i + 1] == '*')
            {
                int end = s.IndexOf("*/", i + 2, StringComparison.Ordinal);
                if (end < 0) throw new FormatException("line " + line + ": unfinished comment");
                line += s.AsSpan(i, end - i).Count('\n');
                i = end + 2;
                continue;
            }
            if (c is '"' or '\'')
            {
                int j = i + 1;
                while (j < s.Length && s[j] != c && s[j] != '\n') j += s[j] == '\\' ? 2 : 1;
                if (j >= s.Length || s[j] != c) throw new FormatException("line " + line + ": unfinished string");
                list.Add(new Token(s.Substring(i + 1, j - i - 1), line, true));
                i = j + 1;
                continue;
            }
            if (char.IsLetterOrDigit(c) || c is '_' or '.' or '-' or '+')
            {
                int j = i;
                while (j < s.Length && (char.IsLetterOrDigit(s[j]) || s[j] is '_' or '.' or '-' or '+')) j++;
                list.Add(new Token(s[i..j], line, false));
                i = j;
                continue;
            }
            if ("{}()[]<>;=,:".IndexOf(c) >= 0)
            {
                list.Add(new Token(c.ToString(), line, false));
                i++;
                continue;
            }
            throw new FormatException("line " + line + ": unexpected character '" + c + "'");
        }
        return list;
    }

    private static Token Next(List<Token> t, ref int i)
    {
        if (i >= t.Count) throw new FormatException("unexpected end of proto");
        return t[i++];
    }

    private static void Expect(List<Token> t, ref int i, string what)
    {
        var tok = Next(t, ref i);
        if (tok.IsString || tok.Text != what)
            throw new FormatException("line " + tok.Line + ": '" + what + "' expected near '" + tok.Text + "'");
    }

    /// <summary>Skips to the end of a statement (";") or a balanced block.</summary>
    private static void SkipStatement(List<Token> t, ref int i)
    {
        int depth = 0;
        while (true)
        {
            var tok = Next(t, ref i);
            if (tok.IsString) continue;
            if (tok.Text is "{" or "[" or "(") depth++;
            else if (tok.Text is "}" or "]" or ")")
            {
                depth--;
                if (depth < 0) throw new FormatException("line " + tok.Line + ": unexpected '" + tok.Text + "'");
                if (depth == 0 && tok.Text == "}") return;
            }
            else if (tok.Text == ";" && depth == 0) return;
        }
    }

    private static void ParseBody(List<Token> t, ref int i, bool topLevel, bool inMessage)
    {
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var numbers = new Dictionary<string, string>(StringComparer.Ordinal);
        while (true)
        {
            if (i >= t.Count)
            {
                if (topLevel) return;
                throw new FormatException("unexpected end of proto: '}' expected");
            }
            var tok = t[i];
            if (!tok.IsString && tok.Text == "}")
            {
                if (topLevel) throw new FormatException("line " + tok.Line + ": unexpected '}'");
                i++;
                return;
            }
            if (!tok.IsString && tok.Text == ";") { i++; continue; }
            switch (tok.Text)
            {
                case "message":
                case "enum":
                case "service":
                case "extend":
                {
                    i++;
                    Next(t, ref i);
                    Expect(t, ref i, "{");
                    if (tok.Text == "message") ParseBody(t, ref i, topLevel: false, inMessage: true);
                    else { i--; SkipStatement(t, ref i); }
                    continue;
                }
                case "oneof" when inMessage:
                {
                    i++;
                    Next(t, ref i);
                    Expect(t, ref i, "{");
                    // the oneof's fields share the message's names and numbers
                    while (i < t.Count && t[i].Text != "}")
                    {
                        if (t[i].Text == "option") { SkipStatement(t, ref i); continue; }
                        ParseField(t, ref i, names, numbers);
                    }
                    Expect(t, ref i, "}");
                    continue;
                }
                case "syntax":
                case "package":
                case "import":
                case "option":
                case "reserved":
                case "extensions":
                    SkipStatement(t, ref i);
                    continue;
            }
            if (!inMessage) throw new FormatException("line " + tok.Line + ": unexpected '" + tok.Text + "'");
            ParseField(t, ref i, names, numbers);
        }
    }

    /// <summary>[label] type name = number [options];</summary>
    private static void ParseField(List<Token> t, ref int i, Dictionary<string, int> names, Dictionary<string, string> numbers)
    {
        var first = Next(t, ref i);
        if (first.Text is "optional" or "required" or "repeated") first = Next(t, ref i);
        if (first.Text == "map")
        {
            Expect(t, ref i, "<");
            Next(t, ref i);
            Expect(t, ref i, ",");
            Next(t, ref i);
            Expect(t, ref i, ">");
        }
        var name = Next(t, ref i);
        if (name.IsString || !char.IsLetter(name.Text[0]) && name.Text[0] != '_')
            throw new FormatException("line " + name.Line + ": field name expected near '" + name.Text + "'");
        Expect(t, ref i, "=");
        var number = Next(t, ref i);
        if (number.IsString || !long.TryParse(number.Text, out _))
            throw new FormatException("line " + number.Line + ": field number expected near '" + number.Text + "'");
        if (i < t.Count && t[i].Text == "[") SkipStatement(t, ref i);
        else Expect(t, ref i, ";");

        if (names.ContainsKey(name.Text))
            throw new FormatException("line " + name.Line + ": field '" + name.Text + "' already defined");
        if (numbers.TryGetValue(number.Text, out var other))
            throw new FormatException("line " + number.Line + ": field number " + number.Text + " of '" + name.Text
                                      + "' already used by '" + other + "'");
        names[name.Text] = name.Line;
        numbers[number.Text] = name.Text;
    }
}
