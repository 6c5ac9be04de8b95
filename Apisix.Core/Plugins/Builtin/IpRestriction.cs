// Twin of apisix/plugins/ip-restriction.lua and apisix/plugins/ip-restriction/init.lua
using System.Text.Json.Nodes;
using Apisix.Core.Admin;
using Apisix.Core.Json;
using Apisix.Core.Schema;
using Apisix.Core.Utils;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// ip-restriction (priority 3000): the client address (<c>remote_addr</c>) against a whitelist
/// or a blacklist of addresses and CIDRs; a refused client gets <c>response_code</c> (403) and
/// <c>{"message": ...}</c>.
/// </summary>
public sealed class IpRestrictionPlugin : IPlugin, IAccessPhase
{
    private static JsonObject IpList() => new()
    {
        ["type"] = "array",
        ["items"] = new JsonObject { ["anyOf"] = SchemaDefs.IpDef() },
        ["minItems"] = 1,
    };

    private readonly JsonObject _schema = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["message"] = new JsonObject
            {
                ["type"] = "string", ["minLength"] = 1, ["maxLength"] = 1024,
                ["default"] = "Your IP address is not allowed",
            },
            ["response_code"] = new JsonObject { ["type"] = "integer", ["minimum"] = 403, ["maximum"] = 404, ["default"] = 403 },
            ["whitelist"] = IpList(),
            ["blacklist"] = IpList(),
        },
        ["oneOf"] = new JsonArray(
            new JsonObject { ["required"] = new JsonArray("whitelist") },
            new JsonObject { ["required"] = new JsonArray("blacklist") }),
    };

    public string Name => "ip-restriction";
    public int Priority => 3000;
    public double Version => 0.1;
    public JsonNode Schema => _schema;

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        var (ok, err) = JsonSchema.Check(_schema, conf);
        if (!ok) return (false, err);
        foreach (var list in new[] { "whitelist", "blacklist" })
        {
            foreach (var item in conf[list] as JsonArray ?? [])
            {
                var cidr = CtxVar.ToVarString(item) ?? "";
                if (!IpMatcher.IsValid(cidr)) return (false, "invalid ip address: " + cidr);
            }
        }
        return (true, null);
    }

    private static bool MatchAny(JsonArray list, string ip) =>
        list.Any(c => IpMatcher.Matches(ip, CtxVar.ToVarString(c) ?? ""));

    /// <summary><c>restrict(conf, ctx)</c>, the access phase.</summary>
    public ValueTask<PhaseResult> AccessAsync(JsonObject conf, ApiCtx ctx)
    {
        var block = false;
        var remote = ctx.Var.GetString("remote_addr") ?? "";
        if (conf["blacklist"] is JsonArray black) block = MatchAny(black, remote);
        if (conf["whitelist"] is JsonArray white) block = !MatchAny(white, remote);
        if (!block) return ValueTask.FromResult(PhaseResult.Continue);
        var code = JsonScalars.TryGetNumber(conf["response_code"], out var c) ? (int)c : 403;
        var message = JsonScalars.TryGetString(conf["message"], out var m) ? m : "Your IP address is not allowed";
        return ValueTask.FromResult(new PhaseResult(code, new JsonObject { ["message"] = message }));
    }
}
