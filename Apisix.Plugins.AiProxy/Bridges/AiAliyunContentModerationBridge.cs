using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using Apisix.Plugins.AiProxy.AiProxy;

namespace Apisix.Plugins.AiProxy.Bridges;

/// <summary>
/// The C# half of the Lua module <c>apisix.plugins.ai-aliyun-content-moderation</c>
/// (Bridges/Lua/apisix/plugins/ai-aliyun-content-moderation.lua): <c>lua_body_filter(conf, ctx,
/// headers, body)</c> called from Lua, on the request being served. The ctx table's fields the
/// filter reads (<c>var</c>, <c>ai_client_protocol</c>, <c>llm_raw_usage</c>,
/// <c>llm_response_contents_in_chunk</c>, its own batch state) are copied in; the op's results
/// hand back the code, the body and the state to copy out.
/// </summary>
public sealed class AiAliyunContentModerationBridge(LuaWorker worker)
{
    public const string Name = "apisix.plugins.ai-aliyun-content-moderation.functions";

    private static readonly LuaJsonEncodeOptions Lenient = new() { SparseConvert = true, SkipUnsupported = true };

    private JsonNode? Json(object? v) => v == null ? null : LuaJson.ToJson(worker.Lua, v, Lenient);

    /// <summary>Starts the filter; an op id to await, or null and the error.</summary>
    public object? LuaBodyFilter(object? conf, object? ctxTable, object? headers, object? body, out string? err)
    {
        err = null;
        var req = worker.CurrentRequest;
        if (req == null)
        {
            err = "lua_body_filter needs a request being served";
            return null;
        }
        try
        {
            if (Json(conf) is not JsonObject confT)
            {
                err = "attempt to index local 'conf' (a " + LuaTypeName(conf) + " value)";
                return null;
            }
            var ctxT = Json(ctxTable) as JsonObject ?? new JsonObject();
            var ctx = new ApiCtx(req);
            if (ctxT["var"] is JsonObject vars)
                foreach (var (k, v) in vars) ctx.Var[k] = v?.DeepClone();
            var ai = AiCtx.For(ctx);
            ai.ClientProtocol = JsonScalars.TryGetString(ctxT["ai_client_protocol"], out var cp) ? cp : null;
            ai.PickedAiInstance = ctxT["picked_ai_instance"] as JsonObject;
            ai.RawUsage = ctxT["llm_raw_usage"]?.DeepClone();
            if (ctxT["llm_response_contents_in_chunk"] is JsonArray texts)
                ai.ResponseContentsInChunk = texts.Select(t => JsonScalars.TryGetString(t, out var s) ? s : "").ToList();
            if (JsonScalars.TryGetString(ctxT["session_id"], out var sid))
                ctx.Items[AiAliyunContentModerationPlugin.SessionIdKey] = sid;
            if (JsonScalars.TryGetString(ctxT["content_moderation_cache"], out var cache))
                ctx.Items[AiAliyunContentModerationPlugin.CacheKey] = cache;
            if (JsonScalars.TryGetNumber(ctxT["last_moderate_time"], out var last))
                ctx.Items[AiAliyunContentModerationPlugin.LastModerateTimeKey] = last;

            var hdrs = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (Json(headers) is JsonObject h)
                foreach (var (k, v) in h)
                    if (JsonScalars.TryGetString(v, out var s)) hdrs[k] = s;
            var text = body as string ?? (body == null ? "" : Convert.ToString(body, System.Globalization.CultureInfo.InvariantCulture) ?? "");

            var plugin = new AiAliyunContentModerationPlugin();
            return worker.NewOp(Run(plugin, confT, ctx, hdrs, text));
        }
        catch (Exception e)
        {
            err = e.Message;
            return null;
        }
    }

    private static async Task<object?[]> Run(AiAliyunContentModerationPlugin plugin, JsonObject conf, ApiCtx ctx,
        IReadOnlyDictionary<string, string> headers, string body)
    {
        try
        {
            var (code, newBody) = await plugin.LuaBodyFilterAsync(conf, ctx, headers, body);
            return
            [
                true,
                code is int c ? (long)c : null,
                newBody,
                ctx.Items.GetValueOrDefault(AiAliyunContentModerationPlugin.SessionIdKey) as string,
                ctx.Items.GetValueOrDefault(AiAliyunContentModerationPlugin.CacheKey) as string,
                ctx.Items.GetValueOrDefault(AiAliyunContentModerationPlugin.LastModerateTimeKey) as double?,
                ctx.Var.GetString("llm_content_risk_level") is { Length: > 0 } risk ? risk : null,
                null,
            ];
        }
        catch (Exception e)
        {
            return [false, null, null, null, null, null, null, e.Message];
        }
    }

    private static string LuaTypeName(object? v) => AiTransport.SseBridge.LuaTypeName(v);
}
