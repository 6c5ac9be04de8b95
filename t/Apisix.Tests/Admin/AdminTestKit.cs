using System.Text.Json.Nodes;
using Apisix.Core.Admin;
using Apisix.Core.Config;
using Apisix.Core.Plugins;
using Apisix.Core.Store;

namespace Apisix.Tests.Admin;

/// <summary>A plugin double with a small schema of its own.</summary>
internal sealed class CounterPlugin : IPlugin
{
    public string Name => "counter";
    public int Priority => 1000;
    public double Version => 0.1;

    public JsonNode Schema { get; } = new JsonObject
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["limit"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1 },
            ["label"] = new JsonObject { ["type"] = "string", ["default"] = "none" },
        },
        ["required"] = new JsonArray("limit"),
    };
}

/// <summary>A plugin double whose token field is stored encrypted.</summary>
internal sealed class SecretPlugin : IPlugin
{
    public string Name => "secret-holder";
    public int Priority => 500;
    public double Version => 0.1;

    public JsonNode Schema { get; } = new JsonObject
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["auth"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject { ["header"] = new JsonObject { ["type"] = "object" } },
            },
            ["token"] = new JsonObject { ["type"] = "string" },
        },
        ["encrypt_fields"] = new JsonArray("token", "auth.header"),
    };
}

/// <summary>A plugin with a custom check beyond its schema.</summary>
internal sealed class PickyPlugin : IPlugin
{
    public string Name => "picky";
    public int Priority => 10;
    public double Version => 0.2;
    public JsonNode Schema { get; } = new JsonObject { ["type"] = "object" };

    public (bool Ok, string? Error) CheckSchema(JsonObject conf, SchemaType type)
    {
        var (ok, err) = PluginSchemas.DefaultCheck(this, conf, type);
        if (!ok) return (ok, err);
        return conf.ContainsKey("bad") ? (false, "bad things happen") : (true, null);
    }
}

/// <summary>Builds an admin API over a fresh store with a fixed clock.</summary>
internal sealed class AdminTestKit
{
    public const long Now = 1700000000;

    public AdminTestKit(string? extraYaml = null, string? yamlConfig = null, bool encryption = false)
    {
        string extra = extraYaml ?? "plugins:\n  - counter\n  - picky\n  - secret-holder\n";
        string text = new ConfigYamlBuilder().Build(yamlConfig, extra);
        Config = ApisixConfig.Load(text, new ConfigLoadOptions
        {
            GetEnv = _ => null,
            AdjustDefaults = d =>
            {
                if (!encryption) d["apisix"]!["data_encryption"]!["enable_encrypt_fields"] = false;
            },
        });
        Store = new ConfigStore(() => Clock);
        Apisix.Core.Etcd.InitDirs(Store, ConfigStore.DefaultPrefix); // as `apisix init_etcd` leaves a cluster
        Plugins = new PluginRegistry((level, msg) => Logs.Add((level, msg)));
        Plugins.Register(new CounterPlugin());
        Plugins.Register(new PickyPlugin());
        Plugins.Register(new SecretPlugin());
        Plugins.Load(Config.Plugins);
        Api = new AdminApi(Config, Store, Plugins) { Log = (level, msg) => Logs.Add((level, msg)) };
    }

    public long Clock { get; set; } = Now;
    public ApisixConfig Config { get; }
    public ConfigStore Store { get; }
    public PluginRegistry Plugins { get; }
    public AdminApi Api { get; }
    public List<(string Level, string Message)> Logs { get; } = new();

    public AdminResponse Send(string method, string uri, string? body = null,
        IDictionary<string, string>? headers = null)
    {
        var h = new Dictionary<string, string>(headers ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        return Api.Handle(method, uri, body, h);
    }
}
