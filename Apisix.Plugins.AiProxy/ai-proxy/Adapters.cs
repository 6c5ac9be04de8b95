using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Upstream;
using Apisix.Core.Utils;
using Apisix.Plugins.AiProxy.AiProviders;
using Apisix.Plugins.AiProxy.AiTransport;

namespace Apisix.Plugins.AiProxy.AiProxy;

/// <summary><c>log_sanitize.redact_*</c> over the C# shapes of <c>params</c> and <c>extra_opts</c>.</summary>
internal static class LogSanitizeView
{
    public static JsonObject Params(AiHttpParams p) => LogSanitize.RedactParams(p.ToLuaTable());
    public static JsonObject ExtraOpts(ExtraOpts o) => LogSanitize.RedactExtraOpts(o.ToLuaTable());
}

/// <summary><c>resty.apisix.upstream</c>'s push/update of the upstream state, as base.lua calls them.</summary>
internal static class UpstreamStateView
{
    public static void Push(ApiCtx ctx, string addr, int status, double? connectTime, double? headerTime) =>
        UpstreamState.Push(ctx, addr, status, connectTime, headerTime);

    public static void Update(ApiCtx ctx, double responseTimeMs, long? responseLength) =>
        UpstreamState.Update(ctx, responseTimeMs, responseLength);
}
