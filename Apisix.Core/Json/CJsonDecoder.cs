using System.Text;
using System.Text.Json.Nodes;

namespace Apisix.Core.Json;

/// <summary>
/// Parser reproducing lua-cjson's tokenizer and its error texts
/// ("Expected X but found Y at character N", 1-based byte positions).
/// Input is a byte string: one char per byte, a NUL char ends the text
/// as it does for the C code.
/// </summary>
internal sealed class CJsonDecoder
{
    private const int MaxDepth = 1000;

    private enum Tok
    {
        T_OBJ_BEGIN, T_OBJ_END, T_ARR_BEGIN, T_ARR_END, T_STRING, T_NUMBER,
        T_INTEGER, T_BOOLEAN, T_NULL, T_COLON, T_COMMA, T_END, T_WHITESPACE,
        T_ERROR, T_UNKNOWN,
    }

    private struct Token
    {
        public Tok Type;
        public int Index;          // 0-based position of the token
        public string? Text;       // string value, or error reason for T_ERROR
        public double Number;
        public long Integer;
        public bool Boolean;
    }

    private readonly string _data;
    private readonly bool _nullAsNil;
    private int _ptr;
    private int _depth;

    private CJsonDecoder(string data, bool nullAsNil)
    {
        _data = data;
        _nullAsNil = nullAsNil;
    }

    /// <summary>
    /// The value of <paramref name="text"/>; with <paramref name="nullAsNil"/> an object keeps no
    /// key whose value is null (a key set again keeps its first place, as before the removal).
    /// </summary>
    public static JsonNode? Run(string text, bool nullAsNil = false)
    {
        string data = ByteString.Normalize(text);
        if (data.Length >= 2 && (data[0] == '\0' || data[1] == '\0'))
            throw new CJsonException("JSON parser does not support UTF-16 or UTF-32");

        var p = new CJsonDecoder(data, nullAsNil);
        var token = p.NextToken();
        JsonNode? value = p.ProcessValue(ref token);

        token = p.NextToken();
        if (token.Type != Tok.T_END) Throw("the end", token);
        return value;
    }

    private char At(int i) => i < _data.Length ? _data[i] : '\0';

    private static Tok CharToken(char c) => c switch
    {
        '{' => Tok.T_OBJ_BEGIN,
        '}' => Tok.T_OBJ_END,
        '[' => Tok.T_ARR_BEGIN,
        ']' => Tok.T_ARR_END,
        ',' => Tok.T_COMMA,
        ':' => Tok.T_COLON,
        '\0' => Tok.T_END,
        ' ' or '\t' or '\n' or '\r' => Tok.T_WHITESPACE,
        'f' or 'i' or 'I' or 'n' or 'N' or 't' or '"' or '+' or '-' => Tok.T_UNKNOWN,
        >= '0' and <= '9' => Tok.T_UNKNOWN,
        _ => Tok.T_ERROR,
    };

    private static void Throw(string expected, Token token)
    {
        string found = token.Type == Tok.T_ERROR ? token.Text! : token.Type.ToString();
        throw new CJsonException($"Expected {expected} but found {found} at character {token.Index + 1}");
    }

    private void SetError(ref Token token, string reason)
    {
        token.Type = Tok.T_ERROR;
        token.Index = _ptr;
        token.Text = reason;
    }

    private Token NextToken()
    {
        var token = new Token();
        char ch;
        while (true)
        {
            ch = At(_ptr);
            token.Type = CharToken(ch);
            if (token.Type != Tok.T_WHITESPACE) break;
            _ptr++;
        }

        token.Index = _ptr;
        if (token.Type == Tok.T_ERROR)
        {
            SetError(ref token, "invalid token");
            return token;
        }
        if (token.Type == Tok.T_END) return token;
        if (token.Type != Tok.T_UNKNOWN)
        {
            _ptr++;
            return token;
        }

        if (ch == '"')
        {
            NextStringToken(ref token);
        }
        else if (ch == '-' || (ch >= '0' && ch <= '9'))
        {
            // decode_invalid_numbers is on by default, so these go straight to strtod.
            NextNumberToken(ref token);
        }
        else if (StartsWith("true"))
        {
            token.Type = Tok.T_BOOLEAN;
            token.Boolean = true;
            _ptr += 4;
        }
        else if (StartsWith("false"))
        {
            token.Type = Tok.T_BOOLEAN;
            token.Boolean = false;
            _ptr += 5;
        }
        else if (StartsWith("null"))
        {
            token.Type = Tok.T_NULL;
            _ptr += 4;
        }
        else if (IsInvalidNumber())
        {
            // '+', inf, nan: let strtod have a go so the error names a number.
            NextNumberToken(ref token);
        }
        else
        {
            SetError(ref token, "invalid token");
        }
        return token;
    }

    private bool StartsWith(string word)
    {
        for (int i = 0; i < word.Length; i++)
        {
            if (At(_ptr + i) != word[i]) return false;
        }
        return true;
    }

    /// <summary>Spots text that strtod accepts but strict JSON does not.</summary>
    private bool IsInvalidNumber()
    {
        int p = _ptr;
        if (At(p) == '+') return true;
        if (At(p) == '-') p++;
        char c = At(p);
        if (c == '0')
        {
            char c2 = At(p + 1);
            return (c2 | 0x20) == 'x' || (c2 >= '0' && c2 <= '9');
        }
        if (c <= '9') return false;
        return MatchesIgnoreCase(p, "inf") || MatchesIgnoreCase(p, "nan");
    }

    private bool MatchesIgnoreCase(int p, string word)
    {
        for (int i = 0; i < word.Length; i++)
        {
            if (char.ToLowerInvariant(At(p + i)) != word[i]) return false;
        }
        return true;
    }

    private void NextNumberToken(ref Token token)
    {
        int start = _ptr;
        int end = CStrto.Strtoll(_data, start, out long integer);
        char next = At(end);
        if (end == start || next == '.' || next == 'e' || next == 'E' || next == 'x')
        {
            token.Type = Tok.T_NUMBER;
            int dend = CStrto.Strtod(_data, start, out double number);
            if (dend == start)
            {
                SetError(ref token, "invalid number");
                return;
            }
            token.Number = number;
            _ptr = dend;
        }
        else
        {
            token.Type = Tok.T_INTEGER;
            token.Integer = integer;
            _ptr = end;
        }
    }

    private void NextStringToken(ref Token token)
    {
        _ptr++; // opening quote
        // most strings have no escapes: the text between the quotes as it is
        var plain = _data.AsSpan(_ptr).IndexOfAny('"', '\\', '\0');
        if (plain >= 0 && _data[_ptr + plain] == '"')
        {
            token.Type = Tok.T_STRING;
            token.Text = ShortStrings.Get(_data.AsSpan(_ptr, plain));
            _ptr += plain + 1;
            return;
        }
        var sb = new StringBuilder();
        char ch;
        while ((ch = At(_ptr)) != '"')
        {
            if (ch == '\0')
            {
                SetError(ref token, "unexpected end of string");
                return;
            }
            if (ch == '\\')
            {
                char esc = At(_ptr + 1);
                if (esc == 'u')
                {
                    if (AppendUnicodeEscape(sb)) continue;
                    SetError(ref token, "invalid unicode escape code");
                    return;
                }
                char mapped = esc switch
                {
                    '"' => '"', '\\' => '\\', '/' => '/',
                    'b' => '\b', 't' => '\t', 'n' => '\n', 'f' => '\f', 'r' => '\r',
                    _ => '\0',
                };
                if (mapped == '\0')
                {
                    SetError(ref token, "invalid escape code");
                    return;
                }
                ch = mapped;
                _ptr++;
            }
            sb.Append(ch);
            _ptr++;
        }
        _ptr++; // closing quote
        token.Type = Tok.T_STRING;
        token.Text = sb.ToString();
    }

    /// <summary>
    /// Short strings (object keys, roles, finish reasons...) come back as one shared string each
    /// instead of a new one per document; a bounded number of them is kept.
    /// </summary>
    private static class ShortStrings
    {
        private const int MaxLength = 24;
        private static readonly Apisix.Core.Utils.StringPool Known = new(4096);

        public static string Get(ReadOnlySpan<char> text) =>
            text.Length == 0 ? "" : text.Length > MaxLength ? new string(text) : Known.Get(text);
    }

    private int Hex4(int p)
    {
        int value = 0;
        for (int i = 0; i < 4; i++)
        {
            int d = HexDigit(At(p + i));
            if (d < 0) return -1;
            value = (value << 4) | d;
        }
        return value;
    }

    private static int HexDigit(char c)
    {
        if (c >= '0' && c <= '9') return c - '0';
        int lower = c | 0x20;
        if (lower >= 'a' && lower <= 'f') return 10 + lower - 'a';
        return -1;
    }

    /// <summary>\uXXXX (and surrogate pairs) to UTF-8 bytes; false on a bad escape.</summary>
    private bool AppendUnicodeEscape(StringBuilder sb)
    {
        int escapeLen = 6;
        int cp = Hex4(_ptr + 2);
        if (cp < 0) return false;

        if ((cp & 0xF800) == 0xD800)
        {
            if ((cp & 0x400) != 0) return false; // a low surrogate first
            if (At(_ptr + 6) != '\\' || At(_ptr + 7) != 'u') return false;
            int low = Hex4(_ptr + 8);
            if (low < 0 || (low & 0xFC00) != 0xDC00) return false;
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            escapeLen = 12;
        }

        if (cp <= 0x7F)
        {
            sb.Append((char)cp);
        }
        else if (cp <= 0x7FF)
        {
            sb.Append((char)((cp >> 6) | 0xC0));
            sb.Append((char)((cp & 0x3F) | 0x80));
        }
        else if (cp <= 0xFFFF)
        {
            sb.Append((char)((cp >> 12) | 0xE0));
            sb.Append((char)(((cp >> 6) & 0x3F) | 0x80));
            sb.Append((char)((cp & 0x3F) | 0x80));
        }
        else
        {
            sb.Append((char)((cp >> 18) | 0xF0));
            sb.Append((char)(((cp >> 12) & 0x3F) | 0x80));
            sb.Append((char)(((cp >> 6) & 0x3F) | 0x80));
            sb.Append((char)((cp & 0x3F) | 0x80));
        }
        _ptr += escapeLen;
        return true;
    }

    private void Descend()
    {
        _depth++;
        if (_depth > MaxDepth)
            // This message reports the 0-based offset just past the bracket.
            throw new CJsonException($"Found too many nested data structures ({_depth}) at character {_ptr}");
    }

    private JsonNode? ProcessValue(ref Token token)
    {
        switch (token.Type)
        {
            case Tok.T_STRING:
                return JsonValue.Create(token.Text!);
            case Tok.T_NUMBER:
                return CJson.NumberNode(token.Number);
            case Tok.T_INTEGER:
                return CJson.NumberNode(token.Integer);
            case Tok.T_BOOLEAN:
                return JsonValue.Create(token.Boolean);
            case Tok.T_OBJ_BEGIN:
                return ParseObject();
            case Tok.T_ARR_BEGIN:
                return ParseArray();
            case Tok.T_NULL:
                return null;
            default:
                Throw("value", token);
                return null;
        }
    }

    private JsonObject ParseObject()
    {
        Descend();
        var obj = new JsonObject();
        var token = NextToken();
        if (token.Type == Tok.T_OBJ_END)
        {
            _depth--;
            return obj;
        }

        var hasNull = false;
        while (true)
        {
            if (token.Type != Tok.T_STRING) Throw("object key string", token);
            string key = token.Text!;

            token = NextToken();
            if (token.Type != Tok.T_COLON) Throw("colon", token);

            token = NextToken();
            // A repeated key overwrites, like rawset on the Lua table.
            var value = ProcessValue(ref token);
            if (value == null) hasNull = true;
            // a repeated key (rare) keeps its first place and takes the last value
            if (!obj.TryAdd(key, value)) obj[key] = value;

            token = NextToken();
            if (token.Type == Tok.T_OBJ_END)
            {
                _depth--;
                if (hasNull && _nullAsNil)
                    for (var i = obj.Count - 1; i >= 0; i--)
                        if (obj.GetAt(i).Value == null) obj.RemoveAt(i);
                return obj;
            }
            if (token.Type != Tok.T_COMMA) Throw("comma or object end", token);
            token = NextToken();
        }
    }

    private JsonArray ParseArray()
    {
        Descend();
        var arr = new JsonArray();
        var token = NextToken();
        if (token.Type == Tok.T_ARR_END)
        {
            _depth--;
            return arr;
        }

        while (true)
        {
            arr.Add(ProcessValue(ref token));

            token = NextToken();
            if (token.Type == Tok.T_ARR_END)
            {
                _depth--;
                return arr;
            }
            if (token.Type != Tok.T_COMMA) Throw("comma or array end", token);
            token = NextToken();
        }
    }
}
