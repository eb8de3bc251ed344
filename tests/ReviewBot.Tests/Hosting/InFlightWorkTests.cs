using ReviewBot.Hosting;

namespace ReviewBot.Tests.Hosting;

public sealed class InFlightWorkTests
{
    [Fact]
    public async Task WaitForIdle_returns_at_once_when_nothing_runs()
    {
        Assert.True(await new InFlightWork().WaitForIdleAsync(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task WaitForIdle_waits_for_the_last_registration_to_end()
    {
        var work = new InFlightWork();
        var a = work.Begin();
        var b = work.Begin();
        var idle = work.WaitForIdleAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        a.Dispose();
        a.Dispose(); // double dispose counts once
        Assert.False(idle.IsCompleted);
        Assert.Equal(1, work.Count);

        b.Dispose();
        Assert.True(await idle);
    }

    [Fact]
    public async Task WaitForIdle_reports_timeout()
    {
        var work = new InFlightWork();
        using var running = work.Begin();

        Assert.False(await work.WaitForIdleAsync(TimeSpan.FromMilliseconds(50), TestContext.Current.CancellationToken));
    }
}
