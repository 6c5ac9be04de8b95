using FluentAssertions;
using Xunit;
using Xunit.Abstractions;

namespace Apisix.Tests.OpenResty;

public class WorldSmokeTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SaysHello()
    {
        output.WriteLine("start");
        var w = await OpenRestyWorld.WithLuaAsync("ngx.say('hello')").WaitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine("started");
        var r = await w.GetAsync("/t").WaitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine("got " + r.Raw + r.Error);
        await w.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        output.WriteLine("disposed");
        r.Body.Should().Be("hello\n");
    }
}
