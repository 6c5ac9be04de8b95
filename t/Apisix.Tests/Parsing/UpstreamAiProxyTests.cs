using Apisix.TestNginx.Parsing;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Parsing;

/// <summary>Runs only where the upstream APISIX tree is extracted (see /work/shared/tools/upstream-apisix).</summary>
public sealed class UpstreamFactAttribute : FactAttribute
{
    public const string Root = "/tmp/apisix-93ace5d5c";

    public UpstreamFactAttribute()
    {
        if (!Directory.Exists(Path.Combine(Root, "t/plugin"))) Skip = $"upstream APISIX tree not found at {Root}";
    }
}

public class UpstreamAiProxyTests
{
    private static IEnumerable<TestFile> LoadAll() =>
        Directory.GetFiles(Path.Combine(UpstreamFactAttribute.Root, "t/plugin"), "ai-proxy*.t")
            .Order(StringComparer.Ordinal)
            .Select(f => TestFileLoader.Load(f, UpstreamFactAttribute.Root))
            .ToList();

    [UpstreamFact]
    public void All_ai_proxy_files_load()
    {
        var files = LoadAll().ToList();

        files.Should().HaveCount(31);
        files.Sum(f => f.Blocks.Count).Should().Be(375);
        files.Should().OnlyContain(f => f.Settings.Module == "t::APISIX" && f.Settings.RunTestsCalled);
    }

    [UpstreamFact]
    public void Spot_checks()
    {
        var files = LoadAll().ToDictionary(f => Path.GetFileName(f.Path));

        var kafka = files["ai-proxy-kafka-log.t"].Blocks[0];
        kafka.Has("extra_init_by_lua").Should().BeTrue();
        kafka.Has("request").Should().BeTrue();

        files["ai-proxy-bedrock.t"].Blocks.Should().OnlyContain(b => b.Has("main_config"));
        files["ai-proxy-flush.t"].Blocks[0].Text("http_config").Should().Contain(@"}\n\n'").And.NotContain(@"\\n");

        var all = files.Values.SelectMany(f => f.Blocks).ToList();
        all.Where(b => b.Filters.TryGetValue("response_body", out var fs) && fs.Contains("eval"))
            .Should().HaveCount(59).And.OnlyContain(b => b.Sections["response_body"] is PerlRegex);
        all.Where(b => b.Has("error_code")).Should().OnlyContain(b => !b.Text("error_code")!.Contains('\n'));
        all.Count(b => b.Text("response_body") == "passed\n").Should().Be(130);
        all.Count(b => b.Text("request") == "GET /t").Should().BeGreaterThan(200);
        files["ai-proxy2.t"].Settings.Printed.Should().HaveCount(2).And.StartWith("Hello, World!\n");
    }
}
