using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Apisix.TestNginx.Reporting;

namespace Apisix.TestNginx.Diff;

/// <summary>
/// `diff --json FILE`: every file and mode, every block with both verdicts and the fields that
/// differ, every compared request with both sides (text decoded as UTF-8) and what differs, and the
/// totals. Shape: <c>{"files":[{"file","mode","real_kind","plan":{...},"notes":[...],"wall_s":{...},
/// "blocks":[{"index","name","repeat","real","ours","verdicts_agree","differs":[...],"real_detail",
/// "ours_detail","requests":[{"index","request","real":{status,headers,body,error},"ours":{...},
/// "status_differs","headers":[{"name","real","ours"}],"body_differs","body_is_json","body_diff"}],
/// "log_diff":[...]}]}],"summary":{...}}</c>.
/// </summary>
public static class JsonDiffReport
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string ToJson(IReadOnlyList<FileDiff> files)
    {
        var root = new JsonObject
        {
            ["files"] = new JsonArray(files.Select(File).ToArray<JsonNode?>()),
            ["summary"] = Totals(DiffTotals.Of(files)),
        };
        return root.ToJsonString(Options);
    }

    private static JsonObject Totals(DiffTotals t) => new()
    {
        ["blocks"] = t.Blocks, ["verdicts_agree"] = t.VerdictsAgree, ["verdicts_disagree"] = t.VerdictsDisagree,
        ["real_pass"] = t.RealPass, ["real_pass_ours_pass"] = t.RealPassOursPass, ["ours_pass_real_fail"] = t.OursPassOnly,
        ["requests"] = t.Requests, ["requests_differ"] = t.RequestsDiffer, ["status_differs"] = t.Status,
        ["headers_differ"] = t.Headers, ["body_differs"] = t.Body, ["requests_one_side_only"] = t.Missing,
        ["blocks_log_differs"] = t.LogBlocks, ["wall_s"] = new JsonObject { ["real"] = t.RealWall, ["ours"] = t.OursWall },
    };

    private static JsonObject File(FileDiff f) => new()
    {
        ["file"] = f.File,
        ["mode"] = f.Mode,
        ["real_kind"] = f.RealKind,
        ["real_from_cache"] = f.RealFromCache,
        ["plan"] = new JsonObject { ["real"] = f.PlanReal, ["ours"] = f.PlanOurs, ["agree"] = f.PlanAgrees },
        ["notes"] = new JsonArray(f.Notes.Select(n => (JsonNode?)n).ToArray()),
        ["wall_s"] = new JsonObject { ["real"] = f.RealWall, ["ours"] = f.OursWall },
        ["summary"] = Totals(DiffTotals.Of([f])),
        ["blocks"] = new JsonArray(f.Blocks.Select(Block).ToArray<JsonNode?>()),
    };

    private static JsonObject Block(BlockDiff b) => new()
    {
        ["index"] = b.Index,
        ["name"] = b.Name,
        ["repeat"] = b.Repeat,
        ["real"] = b.Real,
        ["ours"] = b.Ours,
        ["verdicts_agree"] = b.VerdictAgrees || (b.Real == "-" && b.Ours == "-"),
        ["differs"] = new JsonArray(b.Fields.Select(x => (JsonNode?)x).ToArray()),
        ["note"] = b.Note,
        ["real_detail"] = b.RealDetail,
        ["ours_detail"] = b.OursDetail,
        ["real_s"] = b.RealSeconds,
        ["ours_s"] = b.OursSeconds,
        ["requests"] = new JsonArray(b.Requests.Select(Request).ToArray<JsonNode?>()),
        ["log_diff"] = b.Log == null ? null : Rows(b.Log, onlyChanges: true),
    };

    private static JsonObject Request(RequestDiff q) => new()
    {
        ["index"] = q.Index,
        ["request"] = ByteStrings.ToText(q.Real?.Request ?? q.Ours?.Request),
        ["real"] = Side(q.Real),
        ["ours"] = Side(q.Ours),
        ["status_differs"] = q.StatusDiffers,
        ["headers"] = new JsonArray(q.Headers.Select(h => (JsonNode?)new JsonObject
        {
            ["name"] = h.Name, ["real"] = h.Real == null ? null : ByteStrings.ToText(h.Real), ["ours"] = h.Ours == null ? null : ByteStrings.ToText(h.Ours),
        }).ToArray()),
        ["body_differs"] = q.BodyDiffers,
        ["body_is_json"] = q.BodyIsJson,
        ["body_diff"] = q.Body == null ? null : LineDiff.Unified(q.Body, 2, 200),
    };

    private static JsonObject? Side(RequestRecord? r) => r == null ? null : new JsonObject
    {
        ["status"] = r.Status,
        ["headers"] = new JsonArray(BlockComparer.ParseHeaders(r.RawHeaders)
            .Select(h => (JsonNode?)new JsonArray(ByteStrings.ToText(h.Name), ByteStrings.ToText(h.Value))).ToArray()),
        ["body"] = r.Body == null ? null : ByteStrings.ToText(r.Body),
        ["error"] = r.Error,
    };

    private static JsonArray Rows(List<DiffRow> rows, bool onlyChanges) => new(rows
        .Where(r => !onlyChanges || r.Kind != DiffRow.Same)
        .Select(r => (JsonNode?)new JsonObject { ["kind"] = r.Kind.ToString(), ["real"] = r.Real, ["ours"] = r.Ours }).ToArray());
}
