using System.Text;

namespace Apisix.Core.OpenResty.Conf;

/// <summary>
/// Tokenises nginx configuration text into directives. Lua blocks (`*_by_lua_block { ... }`)
/// are scanned Lua-aware (strings, long brackets, comments) so braces inside Lua do not end them.
/// </summary>
public sealed class NginxConfParser
{
    private readonly string _text;
    private readonly string _source;
    private readonly int _lineOffset;
    private readonly string _confDir;
    private readonly string? _chunkFile;
    private readonly Func<string, string?> _readFile;
    private int _depth;
    private int _pos;
    private int _line;

    private NginxConfParser(string text, string source, int firstLine, string confDir, string? chunkFile, Func<string, string?> readFile)
    {
        _text = text;
        _source = source;
        _lineOffset = firstLine - 1;
        _line = 1;
        _confDir = confDir;
        _chunkFile = chunkFile;
        _readFile = readFile;
    }

    /// <summary>
    /// Parse text; firstLine is the line number its first line gets in messages. `include FILE;`
    /// splices FILE's directives in place (a relative name is taken from the conf file's
    /// directory, nginx's conf prefix); <paramref name="readFile"/> gives a file's text, or null
    /// when there is none (default: the disk).
    /// </summary>
    public static IReadOnlyList<Directive> Parse(string text, string source = "nginx.conf", int firstLine = 1,
        Func<string, string?>? readFile = null)
    {
        var confDir = Path.GetDirectoryName(source) is { Length: > 0 } dir ? dir : ".";
        var p = new NginxConfParser(text, source, firstLine, confDir, null, readFile ?? ReadDisk);
        var list = p.ParseBlock(topLevel: true);
        return list;
    }

    private static string? ReadDisk(string path) => File.Exists(path) ? File.ReadAllText(path) : null;

    // ngx_conf_include: one file (no wildcards here); its chunk names show the name relative to
    // the conf prefix, as written for a relative include
    private IReadOnlyList<Directive> Include(Directive d)
    {
        if (d.Args.Count != 1) throw Error("invalid number of arguments in \"include\" directive");
        var name = d.Args[0];
        if (name.Contains('*') || name.Contains('?')) throw Error($"\"include {name}\": wildcards are not emulated");
        var full = Path.IsPathRooted(name) ? name : _confDir + "/" + name;
        if (_depth >= 32) throw Error($"too deep includes of \"{full}\"");
        var text = _readFile(Path.GetFullPath(full))
            ?? throw new NginxConfException($"open() \"{full}\" failed (2: No such file or directory) in {_source}:{d.Line}");
        var inner = new NginxConfParser(text, full, 1, _confDir, name, _readFile) { _depth = _depth + 1 };
        return inner.ParseBlock(topLevel: true);
    }

    private NginxConfException Error(string msg) => new($"{msg} in {_source}:{_line + _lineOffset}");

    private List<Directive> ParseBlock(bool topLevel)
    {
        var list = new List<Directive>();
        while (true)
        {
            SkipSpaceAndComments();
            if (_pos >= _text.Length)
            {
                if (!topLevel) throw Error("unexpected end of file, expecting \"}\"");
                return list;
            }
            if (_text[_pos] == '}')
            {
                if (topLevel) throw Error("unexpected \"}\"");
                _pos++;
                return list;
            }
            var d = ParseDirective();
            if (d.Name == "include" && d.Block == null && d.Lua == null) list.AddRange(Include(d));
            else list.Add(d);
        }
    }

    // A directive's line is where its `;` or `{` is, as nginx counts it for messages and for
    // naming inline Lua chunks ("content_by_lua(nginx.conf:LINE)").
    private Directive ParseDirective()
    {
        var words = new List<string>();
        while (true)
        {
            SkipSpaceAndComments();
            if (_pos >= _text.Length) throw Error("unexpected end of file, expecting \";\" or \"}\"");
            var c = _text[_pos];
            var line = _line + _lineOffset;
            if (c == ';')
            {
                _pos++;
                if (words.Count == 0) throw Error("unexpected \";\"");
                return new Directive(words[0], words.Skip(1).ToList(), null, null, line, _source) { ChunkFile = _chunkFile };
            }
            if (c == '{')
            {
                _pos++;
                if (words.Count == 0) throw Error("unexpected \"{\"");
                if (words[0].EndsWith("_by_lua_block", StringComparison.Ordinal))
                {
                    var lua = ScanLuaBlock();
                    return new Directive(words[0], words.Skip(1).ToList(), null, lua, line, _source) { ChunkFile = _chunkFile };
                }
                var block = ParseBlock(topLevel: false);
                return new Directive(words[0], words.Skip(1).ToList(), block, null, line, _source) { ChunkFile = _chunkFile };
            }
            if (c == '}') throw Error("unexpected \"}\"");
            words.Add(ReadWord());
        }
    }

    private string ReadWord()
    {
        var c = _text[_pos];
        var sb = new StringBuilder();
        if (c is '"' or '\'')
        {
            _pos++;
            while (_pos < _text.Length && _text[_pos] != c)
            {
                if (_text[_pos] == '\\' && _pos + 1 < _text.Length)
                {
                    sb.Append(Unescape(_text[_pos + 1]));
                    _pos += 2;
                    continue;
                }
                if (_text[_pos] == '\n') _line++;
                sb.Append(_text[_pos++]);
            }
            if (_pos >= _text.Length) throw Error("unexpected end of file in a quoted string");
            _pos++;
            // ngx_conf_read_token's need_space: a quoted word must be followed by a space, ";", "{" or ")"
            if (_pos < _text.Length && _text[_pos] is not (' ' or '\t' or '\r' or '\n' or ';' or '{' or ')'))
                throw Error($"unexpected \"{_text[_pos]}\"");
            return sb.ToString();
        }
        while (_pos < _text.Length && !char.IsWhiteSpace(_text[_pos]) && _text[_pos] is not (';' or '{' or '}'))
        {
            if (_text[_pos] == '\\' && _pos + 1 < _text.Length) { sb.Append(Unescape(_text[_pos + 1])); _pos += 2; continue; }
            sb.Append(_text[_pos++]);
        }
        return sb.ToString();
    }

    // ngx_conf_read_token undoes only these escapes; any other backslash stays, so regexes
    // such as `\w` or `\.` in a location reach the regex engine intact.
    private static string Unescape(char next) => next switch
    {
        'n' => "\n",
        't' => "\t",
        'r' => "\r",
        '"' or '\'' or '\\' => next.ToString(),
        _ => "\\" + next,
    };

    private void SkipSpaceAndComments()
    {
        while (_pos < _text.Length)
        {
            var c = _text[_pos];
            if (c == '\n') { _line++; _pos++; }
            else if (char.IsWhiteSpace(c)) _pos++;
            else if (c == '#') { while (_pos < _text.Length && _text[_pos] != '\n') _pos++; }
            else break;
        }
    }

    /// <summary>Read Lua up to the brace that closes the block; returns the Lua text.</summary>
    private string ScanLuaBlock()
    {
        var start = _pos;
        var depth = 0;
        while (_pos < _text.Length)
        {
            var c = _text[_pos];
            switch (c)
            {
                case '\n': _line++; _pos++; break;
                case '{': depth++; _pos++; break;
                case '}':
                    if (depth == 0)
                    {
                        var lua = _text[start.._pos];
                        _pos++;
                        return lua;
                    }
                    depth--; _pos++; break;
                case '"' or '\'': SkipLuaString(c); break;
                case '[' when LongBracketLevel() is int lvl: SkipLongBracket(lvl); break;
                case '-' when _pos + 1 < _text.Length && _text[_pos + 1] == '-':
                    _pos += 2;
                    if (_pos < _text.Length && _text[_pos] == '[' && LongBracketLevel() is int l) SkipLongBracket(l);
                    else while (_pos < _text.Length && _text[_pos] != '\n') _pos++;
                    break;
                default: _pos++; break;
            }
        }
        throw Error("unexpected end of file in a Lua block");
    }

    private void SkipLuaString(char quote)
    {
        _pos++;
        while (_pos < _text.Length && _text[_pos] != quote)
        {
            if (_text[_pos] == '\\') _pos++;
            if (_pos < _text.Length && _text[_pos] == '\n') _line++;
            _pos++;
        }
        _pos++;
    }

    private int? LongBracketLevel()
    {
        var i = _pos + 1;
        var level = 0;
        while (i < _text.Length && _text[i] == '=') { level++; i++; }
        return i < _text.Length && _text[i] == '[' ? level : null;
    }

    private void SkipLongBracket(int level)
    {
        var close = "]" + new string('=', level) + "]";
        var end = _text.IndexOf(close, _pos, StringComparison.Ordinal);
        if (end < 0) throw Error("unfinished long string in a Lua block");
        for (var i = _pos; i < end; i++) if (_text[i] == '\n') _line++;
        _pos = end + close.Length;
    }
}

public class NginxConfException(string message) : Exception(message);
