using System.Text.Json.Nodes;
using Apisix.Core.Http;
using Apisix.Core.Store;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Http;

public class RouterTests
{
    private static Router With(params (string Id, string Json)[] routes)
    {
        var store = new ConfigStore();
        foreach (var (id, json) in routes) store.Put("/apisix/routes/" + id, JsonNode.Parse(json));
        return new Router(store);
    }

    [Fact]
    public void Exact_path_beats_a_wildcard_and_longer_prefix_beats_shorter()
    {
        var r = With(("1", """{"uri":"/a/*"}"""), ("2", """{"uri":"/a/b"}"""), ("3", """{"uri":"/a/b/*"}"""));
        r.Find("GET", "/a/b", null)!.Id.Should().Be("2");
        r.Find("GET", "/a/b/c", null)!.Id.Should().Be("3");
        r.Find("GET", "/a/x", null)!.Id.Should().Be("1");
        r.Find("GET", "/z", null).Should().BeNull();
    }

    [Fact]
    public void Methods_hosts_priority_and_status_filter_routes()
    {
        var r = With(
            ("1", """{"uri":"/p","methods":["POST"]}"""),
            ("2", """{"uri":"/p","host":"api.example.com","priority":5}"""),
            ("3", """{"uri":"/p","hosts":["*.example.org"],"priority":1}"""),
            ("4", """{"uri":"/p","priority":9,"status":0}"""));
        r.Find("POST", "/p", "other").Should().NotBeNull().And.Subject.As<Router.Match>().Id.Should().Be("1");
        r.Find("GET", "/p", "api.example.com")!.Id.Should().Be("2");
        r.Find("GET", "/p", "x.example.org")!.Id.Should().Be("3");
        r.Find("GET", "/p", "nobody").Should().BeNull();
    }

    [Fact]
    public void Changes_in_the_store_apply_at_once()
    {
        var store = new ConfigStore();
        var router = new Router(store);
        router.Find("GET", "/late", null).Should().BeNull();
        store.Put("/apisix/routes/9", JsonNode.Parse("""{"uri":"/late"}"""));
        router.Find("GET", "/late", null)!.Id.Should().Be("9");
    }

    [Fact]
    public void Vars_pick_among_candidates_best_first()
    {
        var r = With(
            ("guarded", """{"uri":"/v","priority":5,"vars":[["arg_k","==","1"]]}"""),
            ("open", """{"uri":"/v"}"""),
            ("broken", """{"uri":"/v","priority":9,"vars":[["arg_k","is","1"]]}"""));
        var vars = new Dictionary<string, object?> { ["arg_k"] = "1" };
        r.Candidates("GET", "/v", null, n => vars.GetValueOrDefault(n)).Select(m => m.Id).Should().Equal("guarded", "open");
        vars["arg_k"] = "2";
        r.Candidates("GET", "/v", null, n => vars.GetValueOrDefault(n)).Select(m => m.Id).Should().Equal("open");
    }

    [Fact]
    public void Filter_func_check_matches_the_admin_messages()
    {
        Apisix.Core.Admin.FilterFuncCheck.Validate("function(vars) return true end").Should().BeNull();
        Apisix.Core.Admin.FilterFuncCheck.Validate("{}").Should().Be("'filter_func' should be a function");
        Apisix.Core.Admin.FilterFuncCheck.Validate("function(vars) ").Should()
            .Be("failed to load 'filter_func' string: [string \"return function(vars) \"]:1: 'end' expected near '<eof>'");
        Apisix.Core.Utils.ExprV1.New(JsonNode.Parse("""[["a","=","1"]]""")!).Error.Should().Be("invalid operator '='");
    }

    [Fact]
    public void A_route_without_hosts_takes_its_services_hosts()
    {
        var store = new ConfigStore();
        store.Put("/apisix/services/s1", JsonNode.Parse("""{"hosts":["svc.example.com"]}"""));
        store.Put("/apisix/routes/1", JsonNode.Parse("""{"uri":"/h","service_id":"s1"}"""));
        store.Put("/apisix/routes/2", JsonNode.Parse("""{"uri":"/h","service_id":"missing","priority":-1}"""));
        var r = new Router(store);
        r.Find("GET", "/h", "svc.example.com")!.Id.Should().Be("1");
        r.Find("GET", "/h", "other.example.com")!.Id.Should().Be("2");
    }
}


public class RouterRemoteAddrTests
{
    [Fact]
    public void Remote_addrs_filter_by_address_and_cidr()
    {
        var store = new ConfigStore();
        store.Put("/apisix/routes/1", JsonNode.Parse("""{"uri":"/r","remote_addrs":["10.0.0.0/8","127.0.0.3"]}"""));
        store.Put("/apisix/routes/2", JsonNode.Parse("""{"uri":"/s","remote_addr":"::1"}"""));
        var router = new Router(store);
        string? First(string uri, string remote) =>
            router.Candidates("GET", uri, null, name => name == "remote_addr" ? remote : null).FirstOrDefault()?.Id;
        First("/r", "10.1.2.3").Should().Be("1");
        First("/r", "127.0.0.3").Should().Be("1");
        First("/r", "127.0.0.1").Should().BeNull();
        First("/s", "::1").Should().Be("2");
        First("/s", "127.0.0.1").Should().BeNull();
    }
}
