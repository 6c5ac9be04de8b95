using System.Text;
using System.Text.RegularExpressions;
using KeraLua;
using LuaState = KeraLua.Lua;

namespace Apisix.Core.OpenResty.Libs;

/// <summary>
/// The native half of ngx.re (Lua/ngx/re_impl.lua), bridge object "ngx.re". Offsets are 0-based
/// bytes, ends exclusive; the Lua side turns them into ngx.re's 1-based results.
/// <list type="bullet">
/// <item>compile(regex, opts) → id | nil, err</item>
/// <item>match(id, subj, pos[, res]) → captures, from, to | nil | nil, err</item>
/// <item>find(id, subj, pos, nth) → from, to, match_end | nil, nil, match_end | nil, err</item>
/// <item>all(id, subj, pos, global, want_caps) → caps_list|false, positions, count | nil, err</item>
/// <item>gsub(id, subj, template, global) → str, count | nil, err</item>
/// </list>
/// </summary>
public static class NgxRegexLib
{
    private static readonly LuaFunction CompileFn = CompileImpl;
    private static readonly LuaFunction MatchFn = MatchImpl;
    private static readonly LuaFunction FindFn = FindImpl;
    private static readonly LuaFunction AllFn = AllImpl;
    private static readonly LuaFunction GsubFn = GsubImpl;

    public static object Create(LuaWorker w) => LuaNative.Table(w.Lua,
        [("compile", CompileFn), ("match", MatchFn), ("find", FindFn), ("all", AllFn), ("gsub", GsubFn)]);

    private static int Guard(IntPtr p, Func<LuaState, int> body)
    {
        var L = LuaState.FromIntPtr(p);
        try
        {
            L.CheckStack(8);
            return body(L);
        }
        catch (Exception e)
        {
            return LuaNative.Fail(L, "ngx.re internal error: " + e.Message);
        }
    }

    private static int CompileImpl(IntPtr p) => Guard(p, L =>
    {
        var pattern = LuaNative.ToBytes(L, 1) ?? "";
        var opts = LuaNative.ToBytes(L, 2) ?? "";
        var (re, err) = NgxRegex.Get(pattern, opts);
        if (re == null) return LuaNative.Fail(L, err!);
        L.PushInteger(re.Id);
        return 1;
    });

    private static (NgxRegex? Re, NgxRegex.Subject? Subject, string? Error) Args(LuaState L)
    {
        var re = NgxRegex.ById_(LuaNative.ToLong(L, 1) ?? 0);
        if (re == null) return (null, null, "bad regex id");
        var bytes = L.Type(2) == LuaType.String ? L.ToBuffer(2, false) ?? [] : Encoding.Latin1.GetBytes(LuaNative.ToBytes(L, 2) ?? "");
        var s = re.Prepare(bytes, out var err);
        return (re, s, err);
    }

    private static int Start(LuaState L, int index) => (int)Math.Clamp(LuaNative.ToLong(L, index) ?? 0, 0, int.MaxValue);

    private static void PushSlice(LuaState L, NgxRegex.Subject s, int from, int to) =>
        L.PushBuffer(s.Bytes.AsSpan(from, Math.Max(0, to - from)).ToArray());

    /// <summary>Fill (or create) the captures table: [0] whole match, [n] groups, names; unmatched groups are false.</summary>
    private static void PushCaptures(LuaState L, NgxRegex re, NgxRegex.Subject s, Match m, int reuse = 0)
    {
        if (reuse != 0) L.PushCopy(reuse);
        else L.CreateTable(re.GroupCount, re.Names.Count);
        int t = L.GetTop();
        for (int i = 0; i <= re.GroupCount; i++)
        {
            var g = m.Groups[i];
            if (g.Success) PushSlice(L, s, s.ToByte(g.Index), s.ToByte(g.Index + g.Length));
            else L.PushBoolean(false);
            L.RawSetInteger(t, i);
        }
        if (re.Names.Count == 0) return;
        if (!re.DupNames)
        {
            foreach (var (name, group) in re.Names)
            {
                LuaNative.PushBytes(L, name);
                L.RawGetInteger(t, group);
                L.RawSet(t);
            }
            return;
        }
        foreach (var name in re.Names.Select(n => n.Name).Distinct())
        {
            int n = 0;
            foreach (var (nm, group) in re.Names)
            {
                if (nm != name || !m.Groups[group].Success) continue;
                if (n == 0) L.NewTable();
                L.RawGetInteger(t, group);
                L.RawSetInteger(-2, ++n);
            }
            if (n == 0) continue;
            LuaNative.PushBytes(L, name);
            L.Insert(-2);
            L.RawSet(t);
        }
    }

    private static int MatchImpl(IntPtr p) => Guard(p, L =>
    {
        var (re, s, err) = Args(L);
        if (re == null || s == null) return LuaNative.Fail(L, err!);
        var m = re.Exec(s, Start(L, 3), out err);
        if (m == null)
        {
            if (err != null) return LuaNative.Fail(L, err);
            L.PushNil();
            return 1;
        }
        PushCaptures(L, re, s, m, L.Type(4) == LuaType.Table ? 4 : 0);
        L.PushInteger(s.ToByte(m.Index));
        L.PushInteger(s.ToByte(m.Index + m.Length));
        return 3;
    });

    private static int FindImpl(IntPtr p) => Guard(p, L =>
    {
        var (re, s, err) = Args(L);
        if (re == null || s == null) return LuaNative.Fail(L, err!);
        int nth = (int)(LuaNative.ToLong(L, 4) ?? 0);
        if (nth < 0) nth = 0;
        if (nth > re.GroupCount) return LuaNative.Fail(L, "nth out of bound");
        var m = re.Exec(s, Start(L, 3), out err);
        if (m == null)
        {
            if (err != null) return LuaNative.Fail(L, err);
            L.PushNil();
            return 1;
        }
        var end = s.ToByte(m.Index + m.Length);
        var g = m.Groups[nth];
        if (!g.Success)
        {
            L.PushNil();
            L.PushNil();
            L.PushInteger(end);
            return 3;
        }
        L.PushInteger(s.ToByte(g.Index));
        L.PushInteger(s.ToByte(g.Index + g.Length));
        L.PushInteger(end);
        return 3;
    });

    /// <summary>ngx.re's iteration: after an empty match the next search starts one byte later.</summary>
    private static IEnumerable<(Match M, int From, int To)> Matches(NgxRegex re, NgxRegex.Subject s, int pos, bool global, Action<string> onError)
    {
        int len = s.ByteLength;
        while (true)
        {
            var m = re.Exec(s, pos, out var err);
            if (m == null)
            {
                if (err != null) onError(err);
                yield break;
            }
            int from = s.ToByte(m.Index), to = s.ToByte(m.Index + m.Length);
            yield return (m, from, to);
            if (!global) yield break;
            pos = to;
            if (to == from)
            {
                pos = to + 1;
                if (pos > len) yield break;
            }
        }
    }

    private static int AllImpl(IntPtr p) => Guard(p, L =>
    {
        var (re, s, err) = Args(L);
        if (re == null || s == null) return LuaNative.Fail(L, err!);
        bool global = L.ToBoolean(4);
        bool wantCaps = L.ToBoolean(5);
        string? matchErr = null;
        var list = Matches(re, s, Start(L, 3), global, e => matchErr = e).ToList();
        if (matchErr != null) return LuaNative.Fail(L, matchErr);
        if (wantCaps)
        {
            L.CreateTable(list.Count, 0);
            for (int i = 0; i < list.Count; i++)
            {
                L.CheckStack(6);
                PushCaptures(L, re, s, list[i].M);
                L.RawSetInteger(-2, i + 1);
            }
        }
        else L.PushBoolean(false);
        L.CreateTable(list.Count * 2, 0);
        for (int i = 0; i < list.Count; i++)
        {
            L.PushInteger(list[i].From);
            L.RawSetInteger(-2, 2 * i + 1);
            L.PushInteger(list[i].To);
            L.RawSetInteger(-2, 2 * i + 2);
        }
        L.PushInteger(list.Count);
        return 3;
    });

    private static int GsubImpl(IntPtr p) => Guard(p, L =>
    {
        var (re, s, err) = Args(L);
        if (re == null || s == null) return LuaNative.Fail(L, err!);
        var template = re.CompileTemplate(LuaNative.ToBytes(L, 3) ?? "", out var logLine);
        if (template == null)
        {
            // the compiler's reason goes to the error log, the caller gets the generic message
            L.PushNil();
            L.PushString("failed to compile the replacement template");
            L.PushString(logLine ?? "");
            return 3;
        }
        bool global = L.ToBoolean(4);
        string? matchErr = null;
        var outp = new MemoryStream(s.ByteLength + 16);
        int copied = 0, count = 0;
        foreach (var (m, from, to) in Matches(re, s, 0, global, e => matchErr = e))
        {
            count++;
            outp.Write(s.Bytes, copied, from - copied);
            foreach (var part in template.Parts)
            {
                if (part is string lit)
                {
                    outp.Write(Apisix.Core.Json.ByteString.ToBytes(lit));
                    continue;
                }
                int gi = (int)part;
                if (gi > re.GroupCount) continue;
                var g = m.Groups[gi];
                if (!g.Success) continue;
                int a = s.ToByte(g.Index), b = s.ToByte(g.Index + g.Length);
                outp.Write(s.Bytes, a, b - a);
            }
            copied = to;
        }
        if (matchErr != null) return LuaNative.Fail(L, matchErr);
        if (count == 0)
        {
            L.PushCopy(2);
            L.PushInteger(0);
            return 2;
        }
        outp.Write(s.Bytes, copied, s.ByteLength - copied);
        L.PushBuffer(outp.ToArray());
        L.PushInteger(count);
        return 2;
    });
}
