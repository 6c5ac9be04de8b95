using Apisix.Core.OpenResty;
using Apisix.Core.OpenResty.Conf;
using Apisix.Core.OpenResty.Net;
using Apisix.Core.Upstream;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.Upstream;

public class EwmaTests : IAsyncLifetime
{
    private const string A = "127.0.0.1:1980", B = "127.0.0.1:1981";
    private readonly Nginx _nginx;

    public EwmaTests()
    {
        var conf = new HttpConf();
        conf.SharedDicts[EwmaPicker.ShmEwma] = 1 << 20;
        conf.SharedDicts[EwmaPicker.ShmLastTouchedAt] = 1 << 20;
        _nginx = new Nginx(conf, new LoopbackNetwork(), new ErrorLog(LogLevel.Debug), new LuaModules(), Path.GetTempPath());
    }

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _nginx.DisposeAsync();

    [Fact]
    public void Without_its_dicts_the_picker_is_not_made()
    {
        EwmaPicker.New([(A, 1)], null).Should().Be(((EwmaPicker?)null, "dictionary not find"));
    }

    [Fact]
    public void Of_the_two_servers_drawn_the_one_with_the_lower_average_wins()
    {
        var (picker, err) = EwmaPicker.New([(A, 1), (B, 1)], _nginx, new Random(1));
        err.Should().BeNull();
        var now = Math.Round(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0, 3);
        _nginx.SharedDicts[EwmaPicker.ShmEwma].Store("set", B, 5.0, 60, 0);
        _nginx.SharedDicts[EwmaPicker.ShmLastTouchedAt].Store("set", B, now, 60, 0);
        for (var i = 0; i < 10; i++) picker!.Get(new BalancerState()).Server.Should().Be(A);
        picker!.Score("127.0.0.1", "1981").Should().BeGreaterThan(4.9);
    }

    [Fact]
    public void Retries_filter_tried_servers_and_end_when_all_were_tried()
    {
        var (picker, _) = EwmaPicker.New([(A, 1), (B, 1)], _nginx, new Random(2));
        var state = new BalancerState();
        var first = picker!.Get(state).Server!;
        state.Server = first;
        picker.AfterBalance(state, true);
        var second = picker.Get(state).Server;
        second.Should().NotBe(first);
        state.Server = second;
        picker.AfterBalance(state, true);
        picker.Get(state).Should().Be(((string?)null, "all upstream servers tried"));
    }
}
