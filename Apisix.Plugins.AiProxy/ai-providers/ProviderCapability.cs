using System.Text.Json.Nodes;
using Apisix.Plugins.AiProxy.AiProtocols;

namespace Apisix.Plugins.AiProxy.AiProviders;

/// <summary>
/// One entry of a provider's <c>capabilities</c> table: how it serves one protocol. <c>path</c>
/// and <c>host</c> are functions of the provider conf and the ctx (a constant path is a
/// function returning it); <c>rewrite_request_body(body, override, force)</c> applies
/// <c>override.llm_options</c>.
/// </summary>
public sealed class ProviderCapability
{
    public Func<JsonObject, ProtocolCtx?, string?>? Path { get; init; }
    public Func<JsonObject, ProtocolCtx?, string?>? Host { get; init; }
    public Action<JsonObject, JsonObject, bool>? RewriteRequestBody { get; init; }

    /// <summary>A capability served on a fixed path.</summary>
    public static ProviderCapability At(string path, Action<JsonObject, JsonObject, bool>? rewrite = null) =>
        new() { Path = (_, _) => path, RewriteRequestBody = rewrite };
}

/// <summary>The extra options <c>before_proxy</c> hands to <c>build_request</c> (<c>extra_opts</c>).</summary>
public sealed class ExtraOpts
{
    public string? Name { get; set; }
    public string? Endpoint { get; set; }
    public JsonObject? ModelOptions { get; set; }
    public JsonObject Conf { get; set; } = new();
    public JsonObject? Auth { get; set; }
    public string? HostHeader { get; set; }
    public string? SslServerName { get; set; }
    public JsonObject? OverrideLlmOptions { get; set; }
    public JsonObject? RequestBodyOverrideMap { get; set; }
    public bool RequestBodyForceOverride { get; set; }
    public string? TargetPath { get; set; }
    public string? TargetHost { get; set; }

    /// <summary>The Lua table view, for logging.</summary>
    public JsonObject ToLuaTable()
    {
        var t = new JsonObject();
        void Put(string k, JsonNode? v) { if (v != null) t[k] = v; }
        Put("name", Name);
        Put("endpoint", Endpoint);
        Put("model_options", ModelOptions?.DeepClone());
        Put("conf", Conf.DeepClone());
        Put("auth", Auth?.DeepClone());
        Put("host_header", HostHeader);
        Put("ssl_server_name", SslServerName);
        Put("override_llm_options", OverrideLlmOptions?.DeepClone());
        Put("request_body_override_map", RequestBodyOverrideMap?.DeepClone());
        if (RequestBodyForceOverride) t["request_body_force_override"] = true;
        Put("target_path", TargetPath);
        Put("target_host", TargetHost);
        return t;
    }
}
