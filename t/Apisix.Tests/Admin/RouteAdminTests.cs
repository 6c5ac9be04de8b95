using System.Text.Json.Nodes;
using Apisix.Core.Json;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Admin;

/// <summary>Status codes and bodies of the route endpoints.</summary>
public class RouteAdminTests
{
    private const string SimpleRoute = """
        {"uri":"/hello","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:1980":1}}}
        """;

    [Fact]
    public void PutOfANewRouteAnswers201WithKeyAndStoredValue()
    {
        var kit = new AdminTestKit();
        var res = kit.Send("PUT", "/apisix/admin/routes/1", SimpleRoute);

        res.Status.Should().Be(201);
        res.ContentType.Should().Be("application/json");
        res.Body.Should().Be(
            """{"key":"/apisix/routes/1","value":{"uri":"/hello","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:1980":1}},"id":"1","create_time":1700000000,"update_time":1700000000}}""" + "\n");
        res.Header("X-API-VERSION").Should().Be("v3");
    }

    [Fact]
    public void SchemaDefaultsAreCheckedButNotStored()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/routes/1", SimpleRoute);

        var stored = kit.Store.Get("/apisix/routes/1")!.Value!.AsObject();
        stored.ContainsKey("priority").Should().BeFalse();
        stored.ContainsKey("status").Should().BeFalse();
        stored["upstream"]!.AsObject().ContainsKey("pass_host").Should().BeFalse();
    }

    [Fact]
    public void PutOfAnExistingRouteAnswers200AndKeepsItsCreateTime()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/routes/1", SimpleRoute);
        kit.Clock += 50;
        var res = kit.Send("PUT", "/apisix/admin/routes/1", SimpleRoute.Replace("/hello", "/bye"));

        res.Status.Should().Be(200);
        var value = JsonNode.Parse(res.Body)!["value"]!;
        value["create_time"]!.GetValue<long>().Should().Be(AdminTestKit.Now);
        value["update_time"]!.GetValue<long>().Should().Be(AdminTestKit.Now + 50);
        value["uri"]!.GetValue<string>().Should().Be("/bye");
    }

    [Fact]
    public void GetReturnsTheNodeWithItsIndexes()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/routes/7", SimpleRoute);
        var res = kit.Send("GET", "/apisix/admin/routes/7");

        res.Status.Should().Be(200);
        var body = JsonNode.Parse(res.Body)!.AsObject();
        body.Select(p => p.Key).Should().Equal("key", "value", "createdIndex", "modifiedIndex");
        body["key"]!.GetValue<string>().Should().Be("/apisix/routes/7");
        body["value"]!["id"]!.GetValue<string>().Should().Be("7");
        body["modifiedIndex"]!.GetValue<long>().Should().Be(kit.Store.Revision);
    }

    [Fact]
    public void MissingKeysAnswer404KeyNotFound()
    {
        var kit = new AdminTestKit();
        kit.Send("GET", "/apisix/admin/routes/404").Should().BeEquivalentTo(new
        {
            Status = 404,
            Body = "{\"message\":\"Key not found\"}\n",
        });
        kit.Send("DELETE", "/apisix/admin/routes/404").Status.Should().Be(404);
        kit.Send("PATCH", "/apisix/admin/routes/404", """{"uri":"/x"}""").Body
            .Should().Be("{\"message\":\"Key not found\"}\n");
    }

    [Fact]
    public void ListingGivesEveryRouteAndATotal()
    {
        var kit = new AdminTestKit();
        kit.Send("GET", "/apisix/admin/routes").Body.Should().Be("{\"list\":[],\"total\":0}\n");

        kit.Send("PUT", "/apisix/admin/routes/2", SimpleRoute);
        kit.Send("PUT", "/apisix/admin/routes/1", SimpleRoute);
        var body = JsonNode.Parse(kit.Send("GET", "/apisix/admin/routes").Body)!;
        body["total"]!.GetValue<int>().Should().Be(2);
        body["list"]!.AsArray().Select(i => i!["key"]!.GetValue<string>())
            .Should().Equal("/apisix/routes/1", "/apisix/routes/2");
    }

    [Fact]
    public void ListingFiltersByNameAndPages()
    {
        var kit = new AdminTestKit();
        for (int i = 1; i <= 12; i++)
        {
            var route = JsonNode.Parse(SimpleRoute)!.AsObject();
            route["name"] = i % 2 == 0 ? "even-" + i : "odd-" + i;
            kit.Send("PUT", "/apisix/admin/routes/" + i, route.ToJsonString());
        }

        var even = JsonNode.Parse(kit.Send("GET", "/apisix/admin/routes?name=even").Body)!;
        even["total"]!.GetValue<int>().Should().Be(6);

        var page2 = JsonNode.Parse(kit.Send("GET", "/apisix/admin/routes?page=2&page_size=10").Body)!;
        page2["total"]!.GetValue<int>().Should().Be(12);
        page2["list"]!.AsArray().Count.Should().Be(2);

        var bad = kit.Send("GET", "/apisix/admin/routes?page=1&page_size=5");
        bad.Status.Should().Be(400);
        bad.Body.Should().Be("page_size must be between 10 and 500");
    }

    [Fact]
    public void PostCreatesARouteUnderAGeneratedTwentyDigitId()
    {
        var kit = new AdminTestKit();
        var res = kit.Send("POST", "/apisix/admin/routes", SimpleRoute);

        res.Status.Should().Be(201);
        var body = JsonNode.Parse(res.Body)!;
        string id = body["value"]!["id"]!.GetValue<string>();
        id.Should().MatchRegex("^[0-9]{20}$");
        body["key"]!.GetValue<string>().Should().Be("/apisix/routes/" + id);
        kit.Store.Get("/apisix/routes/" + id).Should().NotBeNull();
    }

    [Fact]
    public void IdRulesFollowUpstream()
    {
        var kit = new AdminTestKit();
        kit.Send("POST", "/apisix/admin/routes", """{"id":1,"plugins":{},"uri":"/i"}""").Body
            .Should().Be("{\"error_msg\":\"wrong route id, do not need it\"}\n");
        kit.Send("POST", "/apisix/admin/routes/1", """{"plugins":{},"uri":"/i"}""").Body
            .Should().Be("{\"error_msg\":\"wrong route id, do not need it\"}\n");
        kit.Send("PUT", "/apisix/admin/routes/1", """{"id":3,"uri":"/i"}""").Body
            .Should().Be("{\"error_msg\":\"wrong route id\"}\n");
        kit.Send("PUT", "/apisix/admin/routes", """{"uri":"/i","plugins":{}}""").Body
            .Should().Be("{\"error_msg\":\"missing route id\"}\n");

        var fromBody = kit.Send("PUT", "/apisix/admin/routes", """{"id":"5","plugins":{},"uri":"/i"}""");
        fromBody.Status.Should().Be(201);
        JsonNode.Parse(fromBody.Body)!["key"]!.GetValue<string>().Should().Be("/apisix/routes/5");

        var negative = kit.Send("PUT", "/apisix/admin/routes", """{"id":-100,"uri":"/i"}""");
        negative.Status.Should().Be(400);
        negative.Body.Should().Be(
            "{\"error_msg\":\"invalid configuration: property \\\"id\\\" validation failed: object matches none of the required\"}\n");
    }

    [Fact]
    public void NumericBodyIdIsKeptUntilAPatchRewritesItFromThePath()
    {
        var kit = new AdminTestKit();
        var put = kit.Send("PUT", "/apisix/admin/routes", """{"id":1,"uri":"/a","plugins":{}}""");
        JsonNode.Parse(put.Body)!["value"]!["id"]!.GetValueKind().Should().Be(System.Text.Json.JsonValueKind.Number);

        var patch = kit.Send("PATCH", "/apisix/admin/routes/1", """{"uri":"/b"}""");
        patch.Status.Should().Be(200);
        JsonNode.Parse(patch.Body)!["value"]!["id"]!.GetValue<string>().Should().Be("1");
    }

    [Fact]
    public void TimestampsInTheBodyAreRefused()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/routes/1", """{"uri":"/a","plugins":{},"create_time":1}""").Body
            .Should().Be("{\"error_msg\":\"the property is forbidden:  create_time\"}\n");
        kit.Send("PUT", "/apisix/admin/routes/1",
                """{"uri":"/a","upstream":{"nodes":{"a:1":1},"update_time":1}}""").Body
            .Should().Be("{\"error_msg\":\"the property is forbidden:  upstream.update_time\"}\n");
    }

    [Fact]
    public void SchemaErrorsCarryTheValidatorMessage()
    {
        var kit = new AdminTestKit();
        var res = kit.Send("PUT", "/apisix/admin/routes/1", """{"methods":["invalid_method"],"uri":"/index.html"}""");
        res.Status.Should().Be(400);
        res.Body.Should().Be(
            "{\"error_msg\":\"invalid configuration: property \\\"methods\\\" validation failed: failed to validate item 1: matches none of the enum values\"}\n");

        kit.Send("PUT", "/apisix/admin/routes/1", """{"service_id":"invalid_id$","uri":"/index.html"}""").Body
            .Should().Be(
                "{\"error_msg\":\"invalid configuration: property \\\"service_id\\\" validation failed: object matches none of the required\"}\n");
    }

    [Fact]
    public void ReferencesMustExist()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/routes/1", """{"service_id":"99999999999999","uri":"/index.html"}""").Body
            .Should().Be("{\"error_msg\":\"failed to fetch service info by service id [99999999999999], response code: 404\"}\n");
        kit.Send("PUT", "/apisix/admin/routes/1", """{"upstream_id":99999999,"uri":"/index.html"}""").Body
            .Should().Be("{\"error_msg\":\"failed to fetch upstream info by upstream id [99999999], response code: 404\"}\n");
    }

    [Fact]
    public void HostAndHostsTogetherAreRefusedBeforeTheSchema()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/routes/1", """{"uri":"/a","host":"a.com","hosts":["b.com"],"plugins":{}}""").Body
            .Should().Be("{\"error_msg\":\"only one of host or hosts is allowed\"}\n");
    }

    [Fact]
    public void InvalidJsonBodyAnswers400WithTheDecoderMessageAndTheBody()
    {
        var kit = new AdminTestKit();
        const string body = "{\"uri\":";
        var (_, err) = CJson.Decode(body);
        var res = kit.Send("PUT", "/apisix/admin/routes/1", body);

        res.Status.Should().Be(400);
        var parsed = JsonNode.Parse(res.Body)!;
        parsed["error_msg"]!.GetValue<string>().Should().Be("invalid request body: " + err);
        parsed["req_body"]!.GetValue<string>().Should().Be(body);
        kit.Logs.Should().Contain(l => l.Level == "error" && l.Message.StartsWith("invalid request body: "));
    }

    [Fact]
    public void MissingBodyIsMissingConfigurations()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/routes/1").Body.Should().Be("{\"error_msg\":\"missing configurations\"}\n");
        kit.Send("PUT", "/apisix/admin/routes/1", "").Status.Should().Be(400);
    }

    [Fact]
    public void DeleteAnswersDeletedAndKey()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/routes/1", SimpleRoute);
        var res = kit.Send("DELETE", "/apisix/admin/routes/1");
        res.Status.Should().Be(200);
        res.Body.Should().Be("{\"deleted\":\"1\",\"key\":\"/apisix/routes/1\"}\n");
        kit.Store.Get("/apisix/routes/1").Should().BeNull();

        kit.Send("DELETE", "/apisix/admin/routes").Body.Should().Be("{\"error_msg\":\"missing route id\"}\n");
    }

    [Fact]
    public void PatchMergesObjectsReplacesArraysAndDeletesNulls()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/routes/1",
            """{"uri":"/a","methods":["GET","POST"],"desc":"d","upstream":{"type":"roundrobin","nodes":{"127.0.0.1:1980":1}}}""");
        kit.Clock += 10;

        var res = kit.Send("PATCH", "/apisix/admin/routes/1",
            """{"methods":["PUT"],"desc":null,"upstream":{"nodes":{"127.0.0.1:1981":2}}}""");

        res.Status.Should().Be(200);
        var value = JsonNode.Parse(res.Body)!["value"]!.AsObject();
        value["methods"]!.ToJsonString().Should().Be("""["PUT"]""");
        value.ContainsKey("desc").Should().BeFalse();
        value["upstream"]!["type"]!.GetValue<string>().Should().Be("roundrobin");
        value["upstream"]!["nodes"]!.ToJsonString().Should().Be("""{"127.0.0.1:1980":1,"127.0.0.1:1981":2}""");
        value["create_time"]!.GetValue<long>().Should().Be(AdminTestKit.Now);
        value["update_time"]!.GetValue<long>().Should().Be(AdminTestKit.Now + 10);
    }

    [Fact]
    public void PatchOfASubPathSetsThatValue()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/routes/1", """{"uri":"/a","plugins":{"counter":{"limit":1}}}""");

        var res = kit.Send("PATCH", "/apisix/admin/routes/1/plugins/counter", """{"limit":9}""");
        res.Status.Should().Be(200);
        JsonNode.Parse(res.Body)!["value"]!["plugins"]!["counter"]!.ToJsonString().Should().Be("""{"limit":9}""");

        var desc = kit.Send("PATCH", "/apisix/admin/routes/1/desc", "\"text\"");
        JsonNode.Parse(desc.Body)!["value"]!["desc"]!.GetValue<string>().Should().Be("text");

        // Walking into a string is an invalid sub-path (upstream joins the rest with "1").
        kit.Send("PATCH", "/apisix/admin/routes/1/uri/x/y", "1").Body
            .Should().Be("{\"error_msg\":\"invalid sub-path: /uri1x1y\"}\n");

        // A sub-path patch is checked like a whole one.
        kit.Send("PATCH", "/apisix/admin/routes/1/plugins/counter", """{"limit":0}""").Status.Should().Be(400);
    }

    [Fact]
    public void PatchNeedsABodyAndAnObject()
    {
        var kit = new AdminTestKit();
        kit.Send("PUT", "/apisix/admin/routes/1", SimpleRoute);
        kit.Send("PATCH", "/apisix/admin/routes/1").Body.Should().Be("{\"error_msg\":\"missing new configuration\"}\n");
        kit.Send("PATCH", "/apisix/admin/routes/1", "\"x\"").Body.Should().Be("{\"error_msg\":\"invalid configuration\"}\n");
    }

    [Fact]
    public void UnknownResourcesAndMethods()
    {
        var kit = new AdminTestKit();
        kit.Send("GET", "/apisix/admin/nothing/1").Should().BeEquivalentTo(new
        {
            Status = 404,
            Body = "{\"error_msg\":\"Unsupported resource type: nothing\"}\n",
        });
        kit.Send("POST", "/apisix/admin/consumers", """{"username":"jack"}""").Should().BeEquivalentTo(new
        {
            Status = 405,
            Body = "{\"error_msg\":\"not supported `POST` method for consumer\"}\n",
        });
        var options = kit.Send("OPTIONS", "/apisix/admin/routes/1");
        options.Status.Should().Be(200);
        options.Header("Access-Control-Allow-Methods").Should().Be("POST, GET, PUT, OPTIONS, DELETE, PATCH");
        kit.Send("HEAD", "/apisix/admin").Status.Should().Be(200);
        kit.Send("TRACE", "/apisix/admin/routes").ContentType.Should().Be("text/html");
    }

    [Fact]
    public void WritesReachTheStoreAndItsSubscribers()
    {
        var kit = new AdminTestKit();
        var seen = new List<string>();
        kit.Store.Changed += c => seen.Add(c.Kind + " " + c.Entry.Key);

        kit.Send("PUT", "/apisix/admin/routes/1", SimpleRoute);
        kit.Send("DELETE", "/apisix/admin/routes/1");

        seen.Should().Equal("Put /apisix/routes/1", "Delete /apisix/routes/1");
    }
}
