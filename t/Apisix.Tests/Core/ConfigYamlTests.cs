using System.Text.Json.Nodes;
using Apisix.Core.Core;
using Apisix.Core.Store;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Core;

public class ConfigYamlTests
{
    private const string Yaml = """
        routes:
          - upstream_id: 1
            uris:
              - /hello
          - id: r2
            uri: /two
            upstream_id: 1
        upstreams:
          - id: 1
            nodes:
              "127.0.0.1:1980": 1
        #END
        """;

    [Fact]
    public void Resources_land_under_their_ids_and_items_without_one_get_arr_index()
    {
        var store = new ConfigStore();
        store.Put("/apisix/routes/old", new JsonObject { ["uri"] = "/old" });
        ConfigYaml.Load(store, Yaml, json: false).Should().BeNull();
        store.Get("/apisix/routes/old").Should().BeNull();
        store.Get("/apisix/routes/arr_1")!.Value!["id"]!.GetValue<string>().Should().Be("arr_1");
        store.Get("/apisix/routes/r2")!.Value!["uri"]!.GetValue<string>().Should().Be("/two");
        store.Get("/apisix/upstreams/1")!.Value!["id"]!.GetValue<string>().Should().Be("1");
    }

    [Fact]
    public void A_yaml_file_without_the_end_flag_is_refused()
    {
        var store = new ConfigStore();
        ConfigYaml.Load(store, "routes: []\n", json: false).Should().Be("missing valid end flag in file conf/apisix.yaml");
        ConfigYaml.Load(store, """{"routes":[{"id":"j","uri":"/j","upstream_id":"1"}]}""", json: true).Should().BeNull();
        store.Get("/apisix/routes/j").Should().NotBeNull();
    }
}

public class ConfigYamlSchemaTests
{
    [Fact]
    public void An_item_that_fails_its_schema_is_left_out_with_config_yaml_s_error_line()
    {
        var store = new ConfigStore();
        var errors = new List<string>();
        const string yaml = """
            upstreams:
              - id: 1
                service_name: abaaba
                discovery_type: eureka
                nodes:
                  "127.0.0.1:80": 1
                type: roundrobin
              - id: 2
                nodes:
                  "127.0.0.1:80": 1
                type: roundrobin
            #END
            """;
        ConfigYaml.Load(store, yaml, json: false, logError: errors.Add).Should().BeNull();
        store.Get("/apisix/upstreams/1").Should().BeNull();
        store.Get("/apisix/upstreams/2").Should().NotBeNull();
        errors.Should().ContainSingle().Which.Should()
            .StartWith("failed to check item data of [upstreams] err:value should match only one schema, but matches both schemas 1 and 2 ,val: ");
    }
}
