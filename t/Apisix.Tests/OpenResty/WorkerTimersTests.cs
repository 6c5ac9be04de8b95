using Apisix.Core.OpenResty;
using FluentAssertions;
using Xunit;

namespace Apisix.Tests.OpenResty;

public class WorkerTimersTests
{
    /// <summary>
    /// Sleeps that all expire while the worker's loop is busy resume in deadline order, whatever
    /// order they were started in: the loop sees them in the order nginx's timer tree gives.
    /// </summary>
    [Theory]
    // deadlines 100 ms apart: starting the sleeps themselves can take tens of ms on a loaded machine
    [InlineData(new[] { 300, 200, 100 }, "3 2 1")]
    [InlineData(new[] { 100, 200, 300 }, "1 2 3")]
    [InlineData(new[] { 200, 100, 200, 100 }, "2 4 1 3")]
    public async Task Overdue_delays_resume_in_deadline_order_then_start_order(int[] delaysMs, string expected)
    {
        using var timers = new WorkerTimers();
        using var loop = new WorkerLoop("timers-test", _ => { });
        var order = new List<int>();
        await timers.DelayAsync(TimeSpan.Zero, CancellationToken.None); // first use compiled before the clock matters
        var all = await loop.RunAsync(() =>
        {
            var waits = delaysMs.Select(async (ms, i) =>
            {
                await timers.DelayAsync(TimeSpan.FromMilliseconds(ms), CancellationToken.None);
                order.Add(i + 1);
            }).ToArray();
            Thread.Sleep(700); // the loop is busy until every delay is overdue
            return Task.FromResult(Task.WhenAll(waits));
        });
        await all;
        string.Join(" ", order).Should().Be(expected);
    }

    [Fact]
    public async Task A_delay_does_not_end_before_its_time()
    {
        using var timers = new WorkerTimers();
        var started = System.Diagnostics.Stopwatch.StartNew();
        await timers.DelayAsync(TimeSpan.FromMilliseconds(50), CancellationToken.None);
        started.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public async Task A_cancelled_delay_ends_cancelled_and_leaves_later_ones_alone()
    {
        using var timers = new WorkerTimers();
        using var cts = new CancellationTokenSource();
        var cancelled = timers.DelayAsync(TimeSpan.FromSeconds(30), cts.Token);
        var other = timers.DelayAsync(TimeSpan.FromMilliseconds(20), CancellationToken.None);
        cts.Cancel();
        await FluentActions.Awaiting(() => cancelled).Should().ThrowAsync<OperationCanceledException>();
        await other;
        other.IsCompletedSuccessfully.Should().BeTrue();
    }
}
