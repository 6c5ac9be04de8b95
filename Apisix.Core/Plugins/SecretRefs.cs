// Twin of the reference-resolving part of apisix/secret.lua that apisix/plugin.lua's filter uses
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Apisix.Core.Json;
using Apisix.Core.OpenResty;

namespace Apisix.Core.Plugins;

/// <summary>
/// A plugin conf may hold <c>$env://NAME</c> (any case of the prefix) or <c>$secret://...</c>
/// strings; <c>plugin.filter</c> hands the plugin a copy with each reference replaced by its value
/// (<c>fetch_secrets</c>), and a reference that cannot be fetched stays as written. Secret
/// managers (<c>$secret://</c>: vault, aws, gcp) are not ported: such references stay as written.
/// </summary>
public static class SecretRefs
{
    private const string SecretPrefix = "$secret://";
    private static readonly ConditionalWeakTable<JsonObject, object> NoRef = new();
    private static readonly object Marker = new();

    /// <summary><c>is_secret_ref(value)</c>.</summary>
    public static bool IsSecretRef(string value) =>
        value.StartsWith(SecretPrefix, StringComparison.Ordinal)
        || value.ToUpperInvariant().StartsWith(CoreEnv.Prefix, StringComparison.Ordinal);

    /// <summary><c>has_secret_ref(conf)</c>: a reference anywhere in the conf.</summary>
    public static bool HasSecretRef(JsonNode? node) => node switch
    {
        JsonObject o => o.Any(p => HasSecretRef(p.Value)),
        JsonArray a => a.Any(HasSecretRef),
        JsonValue v => JsonScalars.TryGetString(v, out var s) && s.Length > 0 && s[0] == '$' && IsSecretRef(s),
        _ => false,
    };

    /// <summary>
    /// <c>resolve_plugin_conf(conf)</c>: the conf itself when it holds no reference (remembered per
    /// conf object, as plugin.lua's <c>_no_secret_ref</c>), else a copy with the references fetched.
    /// </summary>
    public static JsonObject Resolve(JsonObject conf, LuaWorker? worker)
    {
        if (worker == null || NoRef.TryGetValue(conf, out _)) return conf;
        if (!HasSecretRef(conf))
        {
            NoRef.AddOrUpdate(conf, Marker);
            return conf;
        }
        var copy = (JsonObject)conf.DeepClone();
        Retrieve(copy, new CoreEnv(worker));
        return copy;
    }

    private static void Retrieve(JsonNode node, CoreEnv env)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(p => p.Key).ToList())
                {
                    if (o[key] is JsonValue v && Fetch(v, env) is { } value) o[key] = value;
                    else if (o[key] is { } child) Retrieve(child, env);
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    if (a[i] is JsonValue v && Fetch(v, env) is { } value) a[i] = value;
                    else if (a[i] is { } child) Retrieve(child, env);
                }
                break;
        }
    }

    /// <summary><c>fetch(uri)</c>: the value of an <c>$env://</c> reference, or null to keep the string.</summary>
    private static JsonNode? Fetch(JsonValue v, CoreEnv env)
    {
        if (!JsonScalars.TryGetString(v, out var uri) || uri.Length == 0 || uri[0] != '$') return null;
        if (!uri.ToUpperInvariant().StartsWith(CoreEnv.Prefix, StringComparison.Ordinal)) return null;
        return env.FetchByUri(uri, out _) switch
        {
            string s => JsonValue.Create(s),
            bool b => JsonValue.Create(b),
            double d => JsonValue.Create(d),
            long l => JsonValue.Create(l),
            _ => null,
        };
    }
}
