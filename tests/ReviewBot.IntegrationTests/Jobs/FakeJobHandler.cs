using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.Jobs;

namespace ReviewBot.IntegrationTests.Jobs;

// A job handler whose behaviour each test scripts, recording every call with its time.
internal sealed class FakeJobHandler : IJobHandler
{
    public ConcurrentQueue<(long JobId, int Attempt, DateTimeOffset At)> Calls { get; } = new();

    public ConcurrentQueue<(long JobId, string Message)> GaveUp { get; } = new();

    public Func<ClaimedJob, CancellationToken, Task<JobOutcome>> Behaviour { get; set; } =
        (_, _) => Task.FromResult<JobOutcome>(new JobOutcome.Completed("success"));

    public async Task<JobOutcome> HandleAsync(ClaimedJob job, CancellationToken cancellationToken)
    {
        Calls.Enqueue((job.Id, job.Attempts, DateTimeOffset.UtcNow));
        return await Behaviour(job, cancellationToken);
    }

    public Task OnGiveUpAsync(ClaimedJob job, string message, CancellationToken cancellationToken)
    {
        GaveUp.Enqueue((job.Id, message));
        return Task.CompletedTask;
    }

    public async Task WaitForCallsAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Calls.Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"expected {count} handler calls, saw {Calls.Count}");
            }

            await Task.Delay(10);
        }
    }
}

internal static class QueueTestApp
{
    public static Task<TestApp> StartAsync(string connectionString, FakeJobHandler handler, JobQueueTuning? tuning = null, Func<ReviewBot.Configuration.ReviewBotOptions, ReviewBot.Configuration.ReviewBotOptions>? customize = null) =>
        TestApp.StartAsync(TestApp.Options(connectionString, o => (customize ?? (x => x))(o with { WorkersEnabled = true })), builder =>
        {
            builder.Services.AddSingleton(tuning ?? new JobQueueTuning { PollInterval = TimeSpan.FromSeconds(30), HeartbeatInterval = TimeSpan.FromMilliseconds(200) });
            builder.Services.AddSingleton<IJobHandler>(handler);
        });

    // Until exactly `count` jobs are completed.
    public static Task WaitForCompletedAsync(TestDatabase db, long count, TimeSpan timeout, string what) =>
        WaitUntilAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM review_jobs WHERE status = 'completed'") == count, timeout, what);

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }

            await Task.Delay(20);
        }
    }
}
