using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.Jobs;

namespace ReviewBot.IntegrationTests.GitHub;

public sealed class JobWakeupTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_burst_of_signals_is_coalesced_into_few_notifications_and_a_later_signal_gets_its_own()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var listener = await db.DataSource.OpenConnectionAsync(Ct);
        var received = 0;
        listener.Notification += (_, e) => Interlocked.Increment(ref received);
        await using (var listen = new NpgsqlCommand("LISTEN review_jobs", listener))
        {
            await listen.ExecuteNonQueryAsync(Ct);
        }

        var wakeup = new JobWakeup(db.DataSource, NullLogger<JobWakeup>.Instance);
        await Parallel.ForAsync(0, 500, Ct, (_, _) =>
        {
            wakeup.Signal();
            return ValueTask.CompletedTask;
        });
        await wakeup.WhenIdleAsync(Ct);
        var afterBurst = await DrainAsync(listener, () => Volatile.Read(ref received), atLeast: 1);

        Assert.InRange(afterBurst, 1, 100);

        // Idle again: the next single signal yields exactly one more notification.
        wakeup.Signal();
        await wakeup.WhenIdleAsync(Ct);
        Assert.Equal(afterBurst + 1, await DrainAsync(listener, () => Volatile.Read(ref received), atLeast: afterBurst + 1));
    }

    // Notifications are read off the connection by WaitAsync: poll until the expected count is there
    // (deadline 10 s), then give late ones a short chance to arrive, so an overcount shows.
    private static async Task<int> DrainAsync(NpgsqlConnection listener, Func<int> count, int atLeast)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (count() < atLeast && DateTime.UtcNow < deadline)
        {
            await listener.WaitAsync(TimeSpan.FromMilliseconds(100), Ct);
        }

        while (await listener.WaitAsync(TimeSpan.FromMilliseconds(200), Ct))
        {
        }

        return count();
    }
}
