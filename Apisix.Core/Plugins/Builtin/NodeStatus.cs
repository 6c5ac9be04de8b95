// Twin of apisix/plugins/node-status.lua
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Apisix.Core.Http;
using Apisix.Core.Json;
using Apisix.Core.Schema;

namespace Apisix.Core.Plugins.Builtin;

/// <summary>
/// node-status (priority 1000, scope global): a plugin API, <c>GET /apisix/status</c> (served
/// through public-api), answering the instance id (<c>core.id</c>) and nginx's connection
/// counters as strings: <c>{"id":"...","status":{"active":"1","accepted":"7",...}}</c>.
/// <para>Upstream reads the counters from a subrequest to nginx's <c>stub_status</c> page
/// (<c>/apisix/nginx_status</c>); the emulated nginx has no such page, so <see cref="StubStatus"/>
/// writes the same text from what it knows (requests in flight, requests accepted so far) and
/// <see cref="Collect"/> parses it as upstream does: the page's numbers, in order.</para>
/// </summary>
public sealed class NodeStatusPlugin : IPlugin, IPluginApi
{
    public string Name => "node-status";
    public int Priority => 1000;
    public double Version => 0.1;
    public string? Scope => "global";

    public JsonNode Schema { get; } = new JsonObject { ["type"] = "object" };

    /// <summary><c>check_schema(conf)</c>: the schema only, whatever the schema type.</summary>
    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type) => JsonSchema.Check(Schema, conf);

    private static readonly string[] NgxStatusItems =
        ["active", "accepted", "handled", "total", "reading", "writing", "waiting"];

    private static readonly Regex Digits = new(@"\d+", RegexOptions.CultureInvariant);

    /// <summary>
    /// The text of nginx's stub_status page for this node. This request is in flight (active,
    /// writing); its connection number counts the connections accepted so far.
    /// </summary>
    public static string StubStatus(ApiCtx ctx)
    {
        var active = Math.Max(1, ctx.Request.Nginx.InFlight);
        var accepted = Math.Max(active, ctx.Request.Connection);
        var inv = CultureInfo.InvariantCulture;
        return string.Create(inv, $"Active connections: {active} \nserver accepts handled requests\n {accepted} {accepted} {accepted} \nReading: 0 Writing: {active} Waiting: 0 \n");
    }

    /// <summary><c>collect</c>: 200 and the JSON text, or the status page's failing status.</summary>
    public static (int? Code, object? Body) Collect(ApiCtx ctx)
    {
        var page = StubStatus(ctx);
        var status = new JsonObject();
        var numbers = Digits.Matches(page);
        for (var i = 0; i < NgxStatusItems.Length && i < numbers.Count; i++)
            status[NgxStatusItems[i]] = numbers[i].Value;

        var worker = ctx.Request.Worker;
        string? id = worker == null ? null : new CoreId(worker).Get();
        var body = new JsonObject { ["id"] = id, ["status"] = status };
        if (id == null) body.Remove("id");
        return (200, CJson.Encode(body));
    }

    public IReadOnlyList<ApiRoute> Api(Config.ApisixConfig config) =>
    [
        new ApiRoute(["GET"], ["/apisix/status"], ctx => ValueTask.FromResult(Collect(ctx))),
    ];
}
