using System.Text.Json.Nodes;
using Apisix.Core;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Libs;
using Apisix.Plugins.AiProxy.AiProviders;
using Apisix.Plugins.AiProxy.AiProxy;

namespace Apisix.Plugins.AiProxy.Bridges;

/// <summary>
/// The C# half of the Lua module <c>apisix.plugins.ai-providers.base</c>: a provider table
/// made in Lua (<c>base.new{...}</c>) calls <c>build_request</c> of <see cref="ProviderBase"/>
/// for the request being served, with the ctx, conf, body and options it passes.
/// Capabilities given from Lua keep their names and string paths; Lua functions in them are not called.
/// </summary>
public sealed class ProviderBaseBridge(LuaWorker worker)
{
    public const string Name = "apisix.plugins.ai-providers.base";

    private static readonly LuaJsonEncodeOptions Lenient = new() { SparseConvert = true, SkipUnsupported = true };

    private JsonObject Table(object? v) => LuaJson.ToJson(worker.Lua, v, Lenient) as JsonObject ?? new JsonObject();

    private static string? Str(JsonNode? n) => JsonScalars.TryGetString(n, out var s) ? s : null;

    /// <summary>
    /// <c>provider:build_request(ctx, conf, request_body, opts)</c>: the params table, or nil,
    /// the error and its status. Only the synchronous part runs here (no token fetch).
    /// </summary>
    public object? BuildRequest(object? self, object? ctxTable, object? conf, object? body, object? opts,
        out string? err, out object? code, out bool bodyIsRequestBody)
    {
        err = null;
        code = null;
        bodyIsRequestBody = false;
        var req = worker.CurrentRequest;
        if (req == null)
        {
            err = "build_request needs a request being served";
            return null;
        }
        try
        {
            var selfT = Table(self);
            var caps = new Dictionary<string, ProviderCapability>(StringComparer.Ordinal);
            if (selfT["capabilities"] is JsonObject capsT)
            {
                foreach (var (name, cap) in capsT)
                    caps[name] = Str(cap?["path"]) is { } path ? ProviderCapability.At(path) : new ProviderCapability();
            }
            var provider = new ProviderBase
            {
                Host = Str(selfT["host"]),
                Port = JsonScalars.TryGetNumber(selfT["port"], out var port) ? (int)port : null,
                RemoveModel = JsonScalars.TryGetBoolean(selfT["remove_model"], out var rm) && rm,
                Capabilities = caps,
            };

            var ctxT = Table(ctxTable);
            var ctx = new ApiCtx(req);
            if (ctxT["var"] is JsonObject vars)
                foreach (var (k, v) in vars) ctx.Var[k] = v?.DeepClone();
            var ai = AiCtx.For(ctx);
            ai.ClientProtocol = Str(ctxT["ai_client_protocol"]);
            ai.TargetProtocol = Str(ctxT["ai_target_protocol"]);
            ai.RequestBodyChanged = JsonScalars.TryGetBoolean(ctxT["ai_request_body_changed"], out var changed) && changed;
            ai.RawRequestBody = Str(ctxT["ai_raw_request_body"]);

            var o = Table(opts);
            var extra = new ExtraOpts
            {
                Name = Str(o["name"]),
                Endpoint = Str(o["endpoint"]),
                ModelOptions = o["model_options"] as JsonObject,
                Conf = o["conf"] as JsonObject ?? new JsonObject(),
                Auth = o["auth"] as JsonObject,
                HostHeader = Str(o["host_header"]),
                SslServerName = Str(o["ssl_server_name"]),
                OverrideLlmOptions = o["override_llm_options"] as JsonObject,
                RequestBodyOverrideMap = o["request_body_override_map"] as JsonObject,
                RequestBodyForceOverride = JsonScalars.TryGetBoolean(o["request_body_force_override"], out var f) && f,
                TargetPath = Str(o["target_path"]),
                TargetHost = Str(o["target_host"]),
            };
            var bodyNode = LuaJson.ToJson(worker.Lua, body, Lenient) ?? new JsonObject();
            var task = provider.BuildRequestAsync(ctx, Table(conf), bodyNode, extra);
            if (!task.IsCompleted)
            {
                err = "build_request did not complete synchronously";
                return null;
            }
            var (pars, buildErr, buildCode) = task.Result;
            if (pars == null)
            {
                err = buildErr;
                code = buildCode is int c ? (long)c : null;
                return null;
            }
            // the ctx fields build_request sets, back on the caller's table
            if (ctxTable is NLua.LuaTable ctxLua)
            {
                ctxLua["ai_request_body_changed"] = ai.RequestBodyChanged ? true : null;
                ctxLua["ai_raw_request_body"] = ai.RawRequestBody;
            }
            // params.body is the caller's own table when build_request kept it: say so, with its changes
            if (ReferenceEquals(pars.Body, bodyNode))
            {
                bodyIsRequestBody = true;
                if (body is NLua.LuaTable bodyLua) LuaJson.SyncInto(worker.Lua, bodyLua, bodyNode);
            }
            return LuaJson.FromJson(worker.Lua, pars.ToLuaTable());
        }
        catch (Exception e)
        {
            err = e.Message;
            return null;
        }
    }
}
