// Twin of xml2lua.lua with xmlhandler/tree.lua (xml2lua 1.6, the XML reader APISIX's body-transformer uses)
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using KeraLua;
using LuaState = KeraLua.Lua;

namespace Apisix.Core.OpenResty.Libs;

/// <summary>
/// Reads XML the way xml2lua's parser with its tree handler does, into the same table shape:
/// an element is a key of its parent; a text-only element is its text; an element with child
/// elements is a table of them; repeated elements are an array; attributes sit under
/// <c>_attr</c> (and then a text is the table's [1]); an empty element is "". Text is trimmed,
/// whitespace-only text dropped, the five XML entities and numeric ones expanded. Comments,
/// processing instructions and DOCTYPE are skipped. Errors read as xml2lua raises them:
/// <c>Error Parsing XML [char=N]</c>.
/// </summary>
public static class Xml2Lua
{
    /// <summary>A Lua table under construction: its array part and its keyed part, in insertion order.</summary>
    public sealed class Table
    {
        public readonly List<object> Seq = new();
        public readonly List<KeyValuePair<string, object>> Hash = new();

        public object? Get(string key) => Hash.FirstOrDefault(p => p.Key == key).Value;

        public void Set(string key, object? value)
        {
            var i = Hash.FindIndex(p => p.Key == key);
            if (value == null)
            {
                if (i >= 0) Hash.RemoveAt(i);
                return;
            }
            if (i >= 0) Hash[i] = new(key, value);
            else Hash.Add(new(key, value));
        }

        public bool Empty => Seq.Count == 0 && Hash.Count == 0;
    }

    private static readonly Regex NextTag = new(@"\G([^<]*)<(/?)([^>]*?)(/?)>", RegexOptions.Singleline | RegexOptions.CultureInvariant);
    private static readonly Regex Attr1 = new("([A-Za-z0-9\\-:_]+)\\s*=\\s*\"(.*?)\"", RegexOptions.Singleline | RegexOptions.CultureInvariant);
    private static readonly Regex Attr2 = new("([A-Za-z0-9\\-:_]+)\\s*=\\s*'(.*?)'", RegexOptions.Singleline | RegexOptions.CultureInvariant);

    /// <summary>Parses <paramref name="xml"/> into the tree handler's root table, or an error as xml2lua words it.</summary>
    public static (Table? Root, string? Error) Parse(string xml)
    {
        var root = new Table();
        var stack = new List<Table> { root };
        var names = new List<string>();
        var pos = 0;
        try
        {
            while (true)
            {
                var m = NextTag.Match(xml, pos);
                if (!m.Success)
                {
                    if (xml.AsSpan(pos).Trim(" \t\r\n\f\v").IsEmpty)
                    {
                        if (names.Count != 0) return (null, Err("Incomplete XML Document", pos));
                        break;
                    }
                    return (null, Err("Error Parsing XML", pos));
                }
                var text = Entities(m.Groups[1].Value.Trim(' ', '\t', '\r', '\n', '\f', '\v'));
                if (text.Length > 0) stack[^1].Seq.Add(text);
                var start = m.Index + m.Groups[1].Length; // the '<'
                var tagstr = m.Groups[3].Value;
                var endMatch = m.Index + m.Length; // after '>'
                if (tagstr.StartsWith('?') || tagstr.StartsWith("!DOCTYPE", StringComparison.Ordinal))
                {
                    pos = tagstr.StartsWith('?') ? IndexAfter(xml, "?>", start, pos) : endMatch;
                    continue;
                }
                if (tagstr.StartsWith("!--", StringComparison.Ordinal))
                {
                    var e = xml.IndexOf("-->", start + 4, StringComparison.Ordinal);
                    if (e < 0) return (null, Err("Error Parsing Comment", pos + 1));
                    pos = e + 3;
                    continue;
                }
                if (tagstr.StartsWith("![CDATA[", StringComparison.Ordinal))
                {
                    var e = xml.IndexOf("]]>", start, StringComparison.Ordinal);
                    if (e < 0) return (null, Err("Error Parsing CDATA", pos + 1));
                    stack[^1].Seq.Add(xml.Substring(start + 9, e - start - 9));
                    pos = e + 3;
                    continue;
                }
                var endt1 = m.Groups[2].Value == "/";
                var endt2 = m.Groups[4].Value == "/";
                var (name, attrs) = ParseTag(tagstr);
                if (endt1)
                {
                    if (attrs != null) return (null, Err($"End Tag Attributes Invalid (/{name})", pos + 1));
                    if (names.Count == 0 || names[^1] != name)
                        return (null, Err($"Unbalanced Tag (/{name})", pos + 1));
                    names.RemoveAt(names.Count - 1);
                    EndTag(root, stack, name);
                }
                else
                {
                    names.Add(name);
                    StartTag(stack, name, attrs);
                    if (endt2)
                    {
                        names.RemoveAt(names.Count - 1);
                        EndTag(root, stack, name);
                    }
                }
                pos = endMatch;
            }
        }
        catch (XmlTreeException e)
        {
            return (null, e.Message);
        }
        return (root, null);
    }

    private sealed class XmlTreeException(string message) : Exception(message);

    private static string Err(string msg, int pos) => string.Format(CultureInfo.InvariantCulture, "{0} [char={1}]\n", msg, pos + 1);

    private static int IndexAfter(string xml, string token, int from, int pos)
    {
        var e = xml.IndexOf(token, from, StringComparison.Ordinal);
        if (e < 0) throw new XmlTreeException(Err("Error Parsing Processing Instruction", pos + 1));
        return e + token.Length;
    }

    private static (string Name, Table? Attrs) ParseTag(string s)
    {
        var ws = s.IndexOfAny([' ', '\t', '\r', '\n', '\f', '\v']);
        var name = ws < 0 ? s : s[..ws];
        Table? attrs = null;
        foreach (var re in new[] { Attr1, Attr2 })
        {
            foreach (Match a in re.Matches(s))
            {
                attrs ??= new Table();
                attrs.Set(a.Groups[1].Value, Entities(a.Groups[2].Value));
            }
        }
        return (name, attrs);
    }

    private static string Entities(string s)
    {
        if (!s.Contains('&')) return s;
        s = s.Replace("&lt;", "<").Replace("&gt;", ">").Replace("&amp;", "&").Replace("&quot;", "\"").Replace("&apos;", "'");
        s = Regex.Replace(s, "&#([0-9]+);", m => CharRef(m.Groups[1].Value, 10, m.Value));
        return Regex.Replace(s, "&#x([0-9A-Fa-f]+);", m => CharRef(m.Groups[1].Value, 16, m.Value));
    }

    private static string CharRef(string digits, int radix, string original)
    {
        try
        {
            var v = Convert.ToInt64(digits, radix);
            return v is >= 0 and < 256 ? ((char)v).ToString() : original;
        }
        catch (Exception e) when (e is FormatException or OverflowException) { return original; }
    }

    // tree:starttag: a new node, kept in a list under its name in the current node
    private static void StartTag(List<Table> stack, string name, Table? attrs)
    {
        var node = new Table();
        if (attrs != null) node.Set("_attr", attrs);
        var current = stack[^1];
        if (current.Get(name) is Table list) list.Seq.Add(node);
        else
        {
            var wrapper = new Table();
            wrapper.Seq.Add(node);
            current.Set(name, wrapper);
        }
        stack.Add(node);
    }

    // tree:endtag: reduce the whole tree once the root element closes; an empty element becomes ""
    private static void EndTag(Table root, List<Table> stack, string name)
    {
        var current = stack[^1];
        if (stack.Count < 2) throw new XmlTreeException($"XML Error - Unmatched Tag [{name}]\n");
        var prev = stack[^2];
        if (prev.Get(name) == null) throw new XmlTreeException($"XML Error - Unmatched Tag [{name}]\n");
        if (prev == root) Reduce(prev, null, null);
        if (current.Empty)
        {
            prev.Set(name, "");
        }
        stack.RemoveAt(stack.Count - 1);
    }

    // tree:reduce: a one-item list without attributes is replaced by its item
    private static void Reduce(Table node, object? key, Table? parent)
    {
        for (var i = 0; i < node.Seq.Count; i++)
            if (node.Seq[i] is Table t) Reduce(t, i, node);
        foreach (var (k, v) in node.Hash.ToList())
            if (v is Table t) Reduce(t, k, node);
        if (node.Seq.Count == 1 && node.Get("_attr") == null && parent != null)
        {
            if (key is int idx) parent.Seq[idx] = node.Seq[0];
            else parent.Set((string)key!, node.Seq[0]);
        }
    }

    /// <summary>
    /// body-transformer's <c>remove_namespace</c>: "ns:key" keys become "key" at every level, and
    /// empty tables "". Array items keep their places.
    /// </summary>
    public static Table RemoveNamespace(Table t)
    {
        var res = new Table();
        foreach (var v in t.Seq) res.Seq.Add(Strip(v));
        foreach (var (k, v) in t.Hash)
        {
            var colon = k.LastIndexOf(':');
            res.Set(colon >= 0 ? k[(colon + 1)..] : k, Strip(v));
        }
        return res;
    }

    private static object Strip(object v) => v is Table t ? (t.Empty ? "" : RemoveNamespace(t)) : v;

    /// <summary>Pushes the table onto a Lua stack (strings as their bytes).</summary>
    public static void Push(LuaState L, object value)
    {
        if (value is string s)
        {
            LuaNative.PushBytes(L, s);
            return;
        }
        var t = (Table)value;
        L.CheckStack(4);
        L.CreateTable(t.Seq.Count, t.Hash.Count);
        for (var i = 0; i < t.Seq.Count; i++)
        {
            Push(L, t.Seq[i]);
            L.RawSetInteger(-2, i + 1);
        }
        foreach (var (k, v) in t.Hash)
        {
            LuaNative.PushBytes(L, k);
            Push(L, v);
            L.RawSet(-3);
        }
    }

    /// <summary>The table as an NLua value.</summary>
    public static object? ToLua(NLua.Lua lua, Table t)
    {
        Push(lua.State, t);
        return lua.Pop();
    }
}
