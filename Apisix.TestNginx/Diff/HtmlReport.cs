using System.Globalization;
using System.Net;
using System.Text;
using Apisix.TestNginx.Reporting;

namespace Apisix.TestNginx.Diff;

/// <summary>
/// `diff --html FILE`: one static, self-contained page (inline CSS and a few lines of script, no
/// external resources). Per file and mode a list with one row per block, coloured by agreement:
/// green when verdicts and every compared field agree, amber when the verdicts agree but a field
/// differs, red when the verdicts differ, grey when neither side ran the block. A row opens
/// (a &lt;details&gt; element) to both verdicts' messages and, per request, the request, then real and
/// ours side by side: status, headers (differing ones marked), the body as a line diff (JSON
/// pretty-printed with sorted keys), then the block's error-log lines (warn and above, normalised).
/// "open all differing" (or the page's address ending in <c>#open</c>) opens every amber and red row.
/// </summary>
public static class HtmlReport
{
    public static string Render(IReadOnlyList<FileDiff> files, string title, string realLabel)
    {
        var sb = new StringBuilder();
        var t = DiffTotals.Of(files);
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>").Append(H(title)).Append("</title>\n<style>\n")
          .Append(Css).Append("</style></head><body>\n");
        sb.Append("<header><h1>").Append(H(title)).Append("</h1>");
        sb.Append("<p class=\"sum\">").Append(H(t.Line("overall"))).Append("</p>");
        sb.Append("<p class=\"legend\"><span class=\"sw ok\"></span>everything agrees <span class=\"sw fields\"></span>verdicts agree, a field differs ")
          .Append("<span class=\"sw verdict\"></span>verdicts differ <span class=\"sw none\"></span>not run on either side")
          .Append("<label><input type=\"checkbox\" id=\"onlydiff\"> only rows that differ</label>")
          .Append("<button id=\"openall\" type=\"button\">open all differing</button></p>");
        sb.Append("<p class=\"note\">Left: ").Append(H(realLabel)).Append(". Right: ours (Apisix.TestNginx). Not compared: headers ")
          .Append(H(string.Join(", ", CompareOptions.DefaultIgnoredHeaders)))
          .Append("; in bodies, UUIDs and hex addresses are replaced and JSON objects in text compared with sorted keys; in log lines, timestamps, pids, connection numbers, hex addresses, client ports, server roots, request ids and UUIDs are replaced, JSON objects compared with sorted keys, and (unless --lua-positions) the positions in APISIX's Lua modules and traceback frames left out.</p></header>\n");
        foreach (var f in files) File(sb, f);
        sb.Append("<script>\n").Append(Script).Append("</script>\n</body></html>\n");
        return sb.ToString();
    }

    private static void File(StringBuilder sb, FileDiff f)
    {
        var t = DiffTotals.Of([f]);
        sb.Append("<section class=\"file\"><h2>").Append(H(f.File)).Append(" <small>").Append(H(f.Mode)).Append(" mode, real: ")
          .Append(H(f.RealKind)).Append(f.RealFromCache ? ", from the cache" : "").Append("</small></h2>\n");
        sb.Append("<p class=\"sum\">").Append(H(t.Line("this file"))).Append("</p>\n");
        if (!f.PlanAgrees) sb.Append("<p class=\"warn\">plan: real ").Append(H(f.PlanReal)).Append(", ours ").Append(H(f.PlanOurs)).Append("</p>\n");
        foreach (var n in f.Notes.Take(20)) sb.Append("<pre class=\"notes\">").Append(H(n)).Append("</pre>\n");
        sb.Append("<div class=\"head row\"><span class=\"ix\">#</span><span class=\"nm\">block</span><span class=\"v\">real</span><span class=\"v\">ours</span>")
          .Append("<span class=\"rq\">requests</span><span class=\"df\">differs</span><span class=\"tm\">real s</span><span class=\"tm\">ours s</span></div>\n");
        foreach (var b in f.Blocks) Block(sb, b);
        sb.Append("</section>\n");
    }

    private static string ClassOf(BlockDiff b) =>
        b.Real == "-" && b.Ours == "-" || b.Real == "skip" && b.Ours == "skip" && b.Fields.Count == 0 ? "none"
        : !b.VerdictAgrees ? "verdict" : b.Fields.Count > 0 ? "fields" : "ok";

    private static void Block(StringBuilder sb, BlockDiff b)
    {
        var cls = ClassOf(b);
        var differing = b.Requests.Count(r => r.Differs);
        sb.Append("<details class=\"blk ").Append(cls).Append("\"><summary class=\"row\">")
          .Append("<span class=\"ix\">").Append(b.Index).Append("</span>")
          .Append("<span class=\"nm\">").Append(H(b.Name)).Append(b.Note != null ? $" <em>({H(b.Note)})</em>" : "").Append("</span>")
          .Append("<span class=\"v ").Append(b.Real).Append("\">").Append(H(b.Real)).Append("</span>")
          .Append("<span class=\"v ").Append(b.Ours).Append("\">").Append(H(b.Ours)).Append("</span>")
          .Append("<span class=\"rq\">").Append(b.Requests.Count).Append(differing > 0 ? $" ({differing} differ)" : "").Append("</span>")
          .Append("<span class=\"df\">").Append(H(b.Fields.Count == 0 ? "" : string.Join(" ", b.Fields))).Append("</span>")
          .Append("<span class=\"tm\">").Append(T(b.RealSeconds)).Append("</span><span class=\"tm\">").Append(T(b.OursSeconds)).Append("</span>")
          .Append("</summary>\n<div class=\"inner\">");
        if (b.RealDetail != null || b.OursDetail != null)
        {
            sb.Append("<div class=\"pair\"><div><h4>real: ").Append(H(b.Real)).Append("</h4><pre>").Append(H(b.RealDetail ?? "")).Append("</pre></div>")
              .Append("<div><h4>ours: ").Append(H(b.Ours)).Append("</h4><pre>").Append(H(b.OursDetail ?? "")).Append("</pre></div></div>\n");
        }
        if (b.Requests.Count == 0) sb.Append("<p class=\"muted\">No request compared (a side did not run the block, or it sent none).</p>");
        foreach (var q in b.Requests) Request(sb, q);
        Log(sb, b);
        sb.Append("</div></details>\n");
    }

    private static void Request(StringBuilder sb, RequestDiff q)
    {
        var request = ByteStrings.ToText(q.Real?.Request ?? q.Ours?.Request ?? "");
        sb.Append("<div class=\"req").Append(q.Differs ? " differs" : "").Append("\"><h3>request ").Append(q.Index + 1)
          .Append(q.Differs ? "" : " <span class=\"same\">same</span>").Append("</h3>");
        sb.Append("<details class=\"rqtext\"><summary><code>").Append(H(request.Split('\n')[0].TrimEnd('\r'))).Append("</code></summary><pre>")
          .Append(H(Clip(request, 8000))).Append("</pre></details>");
        if (q.Missing)
        {
            sb.Append("<p class=\"warn\">only on ").Append(q.Real == null ? "ours" : "real").Append("</p></div>\n");
            return;
        }
        var real = q.Real!;
        var ours = q.Ours!;
        // status
        sb.Append("<table class=\"sbs\"><colgroup><col class=\"k\"><col><col></colgroup><tr><th></th><th>real</th><th>ours</th></tr>");
        sb.Append("<tr class=\"").Append(q.StatusDiffers ? "chg" : "").Append("\"><td>status</td><td>").Append(real.Status?.ToString() ?? "none")
          .Append(real.Error != null ? $" <em>{H(real.Error)}</em>" : "").Append("</td><td>").Append(ours.Status?.ToString() ?? "none")
          .Append(ours.Error != null ? $" <em>{H(ours.Error)}</em>" : "").Append("</td></tr>");
        // headers: every name on either side, in the real side's order then ours'
        var rh = BlockComparer.ParseHeaders(real.RawHeaders);
        var oh = BlockComparer.ParseHeaders(ours.RawHeaders);
        var names = rh.Select(h => h.Name).Concat(oh.Select(h => h.Name))
            .Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var differing = new HashSet<string>(q.Headers.Select(h => h.Name), StringComparer.OrdinalIgnoreCase);
        foreach (var name in names)
        {
            var a = string.Join(", ", rh.Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => ByteStrings.ToText(h.Value)));
            var c = string.Join(", ", oh.Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => ByteStrings.ToText(h.Value)));
            var hasA = rh.Any(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
            var hasC = oh.Any(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
            var ignored = !differing.Contains(name) && a != c;
            sb.Append("<tr class=\"").Append(differing.Contains(name) ? "chg" : ignored ? "ign" : "").Append("\"><td>").Append(H(name))
              .Append(ignored ? " <small>(not compared)</small>" : "").Append("</td><td>")
              .Append(hasA ? H(a) : "<span class=\"absent\">absent</span>").Append("</td><td>")
              .Append(hasC ? H(c) : "<span class=\"absent\">absent</span>").Append("</td></tr>");
        }
        sb.Append("</table>");
        // body
        if (q.BodyDiffers && q.Body != null)
        {
            sb.Append("<h4>body").Append(q.BodyIsJson ? " (compared as JSON: sorted keys)" : "").Append("</h4>");
            DiffTable(sb, q.Body);
        }
        else
        {
            var body = ByteStrings.ToText(real.Body ?? "");
            sb.Append("<details class=\"bodysame\"><summary>body ").Append(q.BodyIsJson ? "(equal as JSON)" : "(equal)").Append(", ")
              .Append((real.Body ?? "").Length).Append(" bytes</summary><pre>").Append(H(Clip(body, 20000))).Append("</pre></details>");
        }
        sb.Append("</div>\n");
    }

    private static void Log(StringBuilder sb, BlockDiff b)
    {
        if (b.RealLog == null && b.OursLog == null) return;
        if (b.Log != null)
        {
            sb.Append("<div class=\"req differs\"><h3>error log <small>warn and above, normalised, sorted</small></h3>");
            DiffTable(sb, b.Log);
            sb.Append("</div>");
        }
        else if ((b.RealLog?.Count ?? 0) > 0)
        {
            sb.Append("<details class=\"bodysame\"><summary>error log: ").Append(b.RealLog!.Count).Append(b.RealLog.Count == 1 ? " line" : " lines").Append(" at warn and above, the same on both sides</summary><pre>")
              .Append(H(string.Join("\n", b.RealLog))).Append("</pre></details>");
        }
    }

    private static void DiffTable(StringBuilder sb, List<DiffRow> rows)
    {
        sb.Append("<table class=\"diff\"><colgroup><col><col></colgroup><tr><th>real</th><th>ours</th></tr>");
        var shown = 0;
        var sameRun = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            // long runs of equal lines fold to their ends
            if (r.Kind == DiffRow.Same)
            {
                var nearChange = rows.Skip(Math.Max(0, i - 3)).Take(7).Any(x => x.Kind != DiffRow.Same);
                if (!nearChange) { sameRun++; continue; }
            }
            if (sameRun > 0)
            {
                sb.Append("<tr class=\"fold\"><td colspan=\"2\">… ").Append(sameRun).Append(" equal lines …</td></tr>");
                sameRun = 0;
            }
            if (++shown > 2000) { sb.Append("<tr class=\"fold\"><td colspan=\"2\">… cut at 2000 lines …</td></tr>"); break; }
            var cls = r.Kind switch { DiffRow.Same => "", DiffRow.RealOnly => "del", DiffRow.OursOnly => "add", _ => "chg" };
            sb.Append("<tr class=\"").Append(cls).Append("\"><td>").Append(r.Real == null ? "" : H(r.Real)).Append("</td><td>")
              .Append(r.Ours == null ? "" : H(r.Ours)).Append("</td></tr>");
        }
        if (sameRun > 0) sb.Append("<tr class=\"fold\"><td colspan=\"2\">… ").Append(sameRun).Append(" equal lines …</td></tr>");
        sb.Append("</table>");
    }

    private static string H(string s) => WebUtility.HtmlEncode(s);

    private static string T(double? s) => s == null ? "-" : s.Value.ToString("0.00", CultureInfo.InvariantCulture);

    private static string Clip(string s, int n) => s.Length <= n ? s : s[..n] + $"\n… ({s.Length - n} more characters)";

    private const string Css = """
        body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2125;background:#fafbfc}
        header{padding:14px 22px;background:#fff;border-bottom:1px solid #d8dde3}
        h1{font-size:20px;margin:0 0 6px} h2{font-size:16px;margin:22px 0 4px} h2 small{font-weight:normal;color:#5b6570}
        h3{font-size:13px;margin:8px 0 4px} h4{font-size:12px;margin:8px 0 2px;color:#414b55}
        .sum{margin:2px 0;color:#2f3a44} .note{margin:4px 0 0;color:#5b6570;font-size:12px} .muted{color:#6b7580}
        .legend{margin:4px 0} .legend label{margin-left:18px} .legend button{margin-left:12px;font-size:12px}
        .sw{display:inline-block;width:12px;height:12px;border-radius:2px;margin:0 4px -1px 10px;border:1px solid #0002}
        section.file{padding:0 22px 10px}
        .row{display:grid;grid-template-columns:38px minmax(200px,1fr) 52px 52px 110px 190px 62px 62px;gap:6px;align-items:center;padding:4px 8px}
        .head{font-weight:600;color:#5b6570;border-bottom:1px solid #d8dde3} .head span{color:#5b6570;font-size:13px}
        details.blk{border-bottom:1px solid #e3e7ec} details.blk>summary{cursor:pointer;list-style:none}
        details.blk>summary::-webkit-details-marker{display:none}
        details.blk>summary .ix::before{content:"▸ ";color:#8a949e} details.blk[open]>summary .ix::before{content:"▾ "}
        .ok>summary,.sw.ok{background:#e3f4e6} .fields>summary,.sw.fields{background:#fff1d6}
        .verdict>summary,.sw.verdict{background:#fbe0e0} .none>summary,.sw.none{background:#eef0f2;color:#6b7580}
        .v{font-weight:600;text-align:center;border-radius:3px;font-size:12px}
        .v.pass{color:#1a7f37} .v.fail{color:#c62828} .v.skip{color:#7a6a00}
        .tm,.rq{text-align:right;font-variant-numeric:tabular-nums;color:#414b55} .df{color:#8a4b00;font-size:12px}
        .nm{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
        .inner{padding:6px 14px 14px 46px;background:#fff}
        .pair{display:grid;grid-template-columns:1fr 1fr;gap:10px}
        pre{background:#f5f7f9;border:1px solid #e3e7ec;padding:6px 8px;margin:2px 0;white-space:pre-wrap;word-break:break-all;font:12px/1.35 ui-monospace,Menlo,Consolas,monospace;max-height:360px;overflow:auto}
        pre.notes{background:#fff6e5}
        .req{border-left:3px solid #cfd6dd;padding:2px 0 6px 10px;margin:10px 0} .req.differs{border-left-color:#e0a100}
        .same{font-weight:normal;color:#1a7f37;font-size:12px}
        table{border-collapse:collapse;width:100%;table-layout:fixed;font:12px/1.35 ui-monospace,Menlo,Consolas,monospace}
        td,th{border:1px solid #e3e7ec;padding:2px 6px;vertical-align:top;word-break:break-all;white-space:pre-wrap;text-align:left}
        th{background:#f0f2f4;font-family:system-ui,sans-serif} col.k{width:190px}
        tr.chg td{background:#fff1d6} tr.del td:first-child{background:#fbe0e0} tr.add td:last-child{background:#e3f4e6}
        tr.chg td:first-child{background:#fbe0e0} tr.chg td:last-child{background:#e3f4e6}
        table.sbs tr.chg td:first-child{background:#fff1d6}
        tr.ign td{color:#8a949e} tr.fold td{color:#8a949e;text-align:center;background:#fafbfc}
        .absent{color:#b0b7be;font-style:italic} .warn{color:#b3261e}
        details.rqtext>summary,details.bodysame>summary{cursor:pointer;color:#414b55;font-size:12px;margin:4px 0}
        body.onlydiff details.blk.ok,body.onlydiff details.blk.none{display:none}
        """;

    private const string Script = """
        document.getElementById('onlydiff').addEventListener('change', e => document.body.classList.toggle('onlydiff', e.target.checked));
        document.getElementById('openall').addEventListener('click', () => document.querySelectorAll('details.blk.fields, details.blk.verdict').forEach(d => d.open = true));
        if (location.hash === '#open') document.getElementById('openall').click();
        """;
}
