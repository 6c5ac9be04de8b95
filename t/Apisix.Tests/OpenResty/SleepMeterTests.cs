using System.Diagnostics;
using Apisix.Core.OpenResty;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.OpenResty;

public class SleepMeterTests
{
    /// <summary>A clock the test moves by hand, in whole seconds.</summary>
    private sealed class Clock
    {
        public long Ticks;
        public void At(double seconds) => Ticks = (long)(seconds * Stopwatch.Frequency);
    }

    [Fact]
    public void Overlapping_sleeps_count_once()
    {
        var clock = new Clock();
        var meter = new SleepMeter(() => clock.Ticks);
        var a = meter.Measure();
        clock.At(1);
        var b = meter.Measure();
        clock.At(2);
        a.Dispose();
        clock.At(3);
        b.Dispose();
        clock.At(10);
        meter.Total.Should().Be(TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void Sleeps_in_sequence_add_up_and_the_gaps_do_not()
    {
        var clock = new Clock();
        var meter = new SleepMeter(() => clock.Ticks);
        using (meter.Measure()) clock.At(1);
        clock.At(5);
        var open = meter.Measure();
        clock.At(7);
        meter.Total.Should().Be(TimeSpan.FromSeconds(3), "a sleep in progress counts so far");
        open.Dispose();
        open.Dispose();
        clock.At(9);
        meter.Total.Should().Be(TimeSpan.FromSeconds(3), "disposing twice ends the sleep once");
    }

    [Fact]
    public async Task A_cancelled_sleep_ends_its_measure()
    {
        var meter = new SleepMeter();
        using var cts = new CancellationTokenSource();
        var sleep = meter.SleepAsync(TimeSpan.FromSeconds(30), cts.Token);
        cts.Cancel();
        var act = () => sleep;
        await act.Should().ThrowAsync<OperationCanceledException>();
        var after = meter.Total;
        await Task.Delay(20);
        meter.Total.Should().Be(after, "nothing is sleeping any more");
    }
}
