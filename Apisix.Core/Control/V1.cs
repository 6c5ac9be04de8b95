// Twin of apisix/control/v1.lua
using System.Text.Json.Nodes;
using Apisix.Core.Config;
using Apisix.Core.Healthcheck;
using Apisix.Core.OpenResty;
using Apisix.Core.Store;

namespace Apisix.Core.Control;

/// <summary>
/// APISIX's control API (<c>/v1/...</c>, the router of <c>apisix/control/router.lua</c> over the
/// built-in APIs of <c>v1.lua</c>). Ported so far: the health-check views
/// <c>GET /v1/healthcheck</c> and <c>GET /v1/healthcheck/{src_type}/{src_id}</c>, in JSON (an
/// <c>Accept: text/html</c> page is not ported and answers 503 saying so). Any other path answers
/// 404, as an unknown control API path does.
/// </summary>
public sealed class V1(ApisixConfig config, ConfigStore store)
{
    /// <summary>The control router's match: serve the request, or 404.</summary>
    public async Task HandleAsync(NgxRequest req)
    {
        var (code, body) = req.Method == "GET" ? Dispatch(req) : (null, null);
        if (code == null)
        {
            await Nginx.SendErrorPage(req, 404);
            return;
        }
        await CoreResponse.ExitAsync(null, req, code, body);
    }

    private (int? Code, JsonNode? Body) Dispatch(NgxRequest req)
    {
        var uri = req.Uri;
        if (uri == "/v1/healthcheck") return GetHealthCheckers(req);
        if (uri.StartsWith("/v1/healthcheck/", StringComparison.Ordinal)) return GetHealthChecker(req);
        return (null, null);
    }

    // the resource keys health checkers are named after: the etcd prefix, none in standalone mode
    private string ResourcePrefix() => config.ConfigProvider is "yaml" or "json" ? "" : ConfigStore.DefaultPrefix;

    private IEnumerable<(string Id, JsonObject Value)> Values(string srcType)
    {
        foreach (var e in store.List(config.EtcdPrefix + "/" + srcType + "/"))
            if (e.Value is JsonObject v && Json.JsonScalars.TryGetString(v["id"], out var id))
                yield return (id, v);
    }

    /// <summary><c>extra_checker_info</c>: the resource's key and its checker's targets.</summary>
    private JsonObject ExtraCheckerInfo(NgxRequest req, string srcType, string id)
    {
        var key = ResourcePrefix() + "/" + srcType + "/" + id;
        var name = HealthcheckManager.GetHealthcheckerName(key);
        var nodes = Healthchecker.GetTargetList(req.Nginx, name, HealthcheckManager.ShdictName);
        var info = new JsonObject { ["name"] = key };
        // an empty Lua table encodes as {} in cjson
        info["nodes"] = nodes is { Count: > 0 } ? nodes : new JsonObject();
        return info;
    }

    /// <summary>
    /// <c>get_checker_type</c>: the active check's type, else the passive one's. The data plane's
    /// copy has the schema's defaults filled in, so a check written without a type is "http".
    /// </summary>
    private static string? GetCheckerType(JsonObject checks)
    {
        foreach (var kind in new[] { "active", "passive" })
            if (checks[kind] is JsonObject check)
                return Json.JsonScalars.TryGetString(check["type"], out var t) ? t : "http";
        return null;
    }

    private static JsonObject? ChecksOf(JsonObject value) =>
        value["checks"] as JsonObject ?? value["upstream"]?["checks"] as JsonObject;

    private JsonObject Info(NgxRequest req, string srcType, string id, JsonObject checks)
    {
        var info = ExtraCheckerInfo(req, srcType, id);
        if (GetCheckerType(checks) is { } type) info["type"] = type;
        return info;
    }

    /// <summary><c>get_health_checkers</c>: every route, service and upstream with checks.</summary>
    private (int?, JsonNode?) GetHealthCheckers(NgxRequest req)
    {
        if (WantsHtml(req)) return HtmlNotPorted();
        var infos = new JsonArray();
        foreach (var srcType in new[] { "routes", "stream_routes", "services", "upstreams" })
            foreach (var (id, value) in Values(srcType))
                if (ChecksOf(value) is { } checks) infos.Add(Info(req, srcType, id, checks));
        return (200, infos.Count > 0 ? infos : new JsonObject());
    }

    /// <summary><c>get_health_checker</c>: one resource's checker, by <c>/v1/healthcheck/{src_type}/{src_id}</c>.</summary>
    private (int?, JsonNode?) GetHealthChecker(NgxRequest req)
    {
        var segs = req.Uri.Split('/');
        req.Log(LogLevel.Info, "healthcheck uri: " + Json.CJson.Encode(new JsonArray(segs.Skip(1).Select(s => (JsonNode?)s).ToArray())));
        var srcType = segs.Length > 3 ? segs[3] : null;
        var srcId = segs.Length > 4 && segs[4].Length > 0 ? segs[4] : null;
        if (srcId == null) return (404, Error($"missing src id for src type {srcType}"));
        if (srcType is not ("routes" or "services" or "upstreams" or "stream_routes"))
            return (400, Error($"invalid src type {srcType}"));
        foreach (var (id, value) in Values(srcType))
        {
            if (id != srcId) continue;
            if (ChecksOf(value) is not { } checks) return (404, Error($"no checker for {srcType}[{srcId}]"));
            if (WantsHtml(req)) return HtmlNotPorted();
            return (200, Info(req, srcType, id, checks));
        }
        return (404, Error($"{srcType}[{srcId}] not found"));
    }

    private static bool WantsHtml(NgxRequest req) => req.RequestHeader("Accept")?.Contains("text/html", StringComparison.Ordinal) == true;

    private static (int?, JsonNode?) HtmlNotPorted() => (503, Error("HTML template rendering: not ported to the C# port"));

    private static JsonObject Error(string msg) => new() { ["error_msg"] = msg };
}
