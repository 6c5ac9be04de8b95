using Apisix.TestNginx.Runner;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Runner;

public class RunOrderTests
{
    private static string Write(string dir, string name, string text)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Expected_sleep_adds_ngx_sleep_literals_and_wait_sections()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var f = Write(dir, "a.t", "ngx.sleep(1.5)\n  ngx.sleep( 2 )\nngx.sleep(delay)\n--- wait: 0.5\n--- timeout: 9\n");
        RunOrder.ExpectedSleep(f).Should().Be(4.0);
        RunOrder.ExpectedSleep(Path.Combine(dir, "missing.t")).Should().Be(0);
    }

    [Fact]
    public void Longest_expected_file_starts_first_and_ties_keep_their_order()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        var files = new[]
        {
            Write(dir, "quick1.t", "nothing"),
            Write(dir, "slow.t", "ngx.sleep(4)"),
            Write(dir, "quick2.t", "nothing"),
            Write(dir, "medium.t", "--- wait: 1"),
        };
        RunOrder.LongestFirst(files).Should().Equal(1, 3, 0, 2);
    }
}
