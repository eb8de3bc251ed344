using System.Diagnostics;
using Npgsql;
using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.Jobs;

namespace ReviewBot.IntegrationTests.Jobs;

public sealed class JobDispatcherTests
{
    [Fact]
    public async Task New_job_wakes_an_idle_worker_through_notify_not_the_poll()
    {
        await using var db = await TestDatabase.CreateAsync();
        var handler = new FakeJobHandler();
        // The poll is 30 s: only NOTIFY can make this fast.
        await using var app = await QueueTestApp.StartAsync(db.ConnectionString, handler);
        await app.Services.GetRequiredService<JobPresence>().FirstHeld.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        var stopwatch = Stopwatch.StartNew();
        var id = await JobSeed.InsertAsync(db, installationId: 1, pr: 1, sha: "n1");
        await handler.WaitForCallsAsync(1, TimeSpan.FromSeconds(5));

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(2), $"took {stopwatch.Elapsed}");
        await QueueTestApp.WaitUntilAsync(async () => await JobSeed.StatusAsync(db, id) == "completed", TimeSpan.FromSeconds(5), "completion");
        Assert.Equal("success", await db.ScalarAsync<string>("SELECT conclusion FROM review_jobs WHERE id = $1", id));
    }

    [Fact]
    public async Task Retry_runs_again_with_backoff_and_never_before_retry_after()
    {
        await using var db = await TestDatabase.CreateAsync();
        var handler = new FakeJobHandler();
        handler.Behaviour = (job, _) => Task.FromResult<JobOutcome>(job.Attempts == 1
            ? new JobOutcome.Retry("github", "GitHub answered 503", RetryAfter: TimeSpan.FromSeconds(12))
            : new JobOutcome.Completed("neutral"));
        await using var app = await QueueTestApp.StartAsync(db.ConnectionString, handler);
        var id = await JobSeed.InsertAsync(db, installationId: 2, pr: 1, sha: "r1");

        await handler.WaitForCallsAsync(1, TimeSpan.FromSeconds(5));
        await QueueTestApp.WaitUntilAsync(async () => await JobSeed.StatusAsync(db, id) == "pending", TimeSpan.FromSeconds(5), "release");
        var runAfter = await db.ScalarAsync<double>("SELECT extract(epoch FROM run_after - now())::float8 FROM review_jobs WHERE id = $1", id);
        Assert.InRange(runAfter, 10.5, 14);
        Assert.Equal("GitHub answered 503", await db.ScalarAsync<string>("SELECT error_message FROM review_jobs WHERE id = $1", id));

        // The Retry-After holds back the whole installation, not only this job.
        Assert.InRange(await db.ScalarAsync<double>("SELECT extract(epoch FROM not_before - now())::float8 FROM installations WHERE id = 2"), 10, 12.5);

        // Make the wait short for the test (the dispatcher sleeps until the next run_after) and see it run.
        await db.ExecuteAsync("UPDATE installations SET not_before = NULL WHERE id = 2");
        await db.ExecuteAsync("UPDATE review_jobs SET run_after = now() + interval '300 milliseconds' WHERE id = $1", id);
        await db.ExecuteAsync("NOTIFY review_jobs");
        await handler.WaitForCallsAsync(2, TimeSpan.FromSeconds(10));
        await QueueTestApp.WaitUntilAsync(async () => await JobSeed.StatusAsync(db, id) == "completed", TimeSpan.FromSeconds(5), "completion");
        Assert.Equal(2, await db.ScalarAsync<int>("SELECT attempts FROM review_jobs WHERE id = $1", id));
    }

    [Fact]
    public async Task Transient_failures_past_max_attempts_fail_the_job_and_report_it()
    {
        await using var db = await TestDatabase.CreateAsync();
        var handler = new FakeJobHandler
        {
            Behaviour = (_, _) => Task.FromResult<JobOutcome>(new JobOutcome.Retry("llm", "OpenAI answered 500")),
        };
        await using var app = await QueueTestApp.StartAsync(db.ConnectionString, handler, customize: o => o with { JobMaxAttempts = 2 });
        var id = await JobSeed.InsertAsync(db, installationId: 3, pr: 1, sha: "f1");
        await db.ExecuteAsync("UPDATE review_jobs SET max_attempts = 2 WHERE id = $1", id);

        await handler.WaitForCallsAsync(1, TimeSpan.FromSeconds(5));
        await QueueTestApp.WaitUntilAsync(async () => await JobSeed.StatusAsync(db, id) == "pending", TimeSpan.FromSeconds(5), "release");
        await db.ExecuteAsync("UPDATE review_jobs SET run_after = now() WHERE id = $1", id);
        await db.ExecuteAsync("NOTIFY review_jobs");
        await QueueTestApp.WaitUntilAsync(async () => await JobSeed.StatusAsync(db, id) == "failed", TimeSpan.FromSeconds(10), "failure");

        Assert.Equal("failure", await db.ScalarAsync<string>("SELECT conclusion FROM review_jobs WHERE id = $1", id));
        var (_, message) = Assert.Single(handler.GaveUp);
        Assert.Contains("Gave up after 2 attempts", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Shutdown_lets_in_flight_reviews_finish_within_the_grace_period()
    {
        await using var db = await TestDatabase.CreateAsync();
        var release = new TaskCompletionSource();
        var handler = new FakeJobHandler
        {
            Behaviour = async (_, _) =>
            {
                await release.Task;
                return new JobOutcome.Completed("success");
            },
        };
        var app = await QueueTestApp.StartAsync(db.ConnectionString, handler, customize: o => o with { ShutdownTimeoutSeconds = 20 });
        var id = await JobSeed.InsertAsync(db, installationId: 4, pr: 1, sha: "s1");
        await handler.WaitForCallsAsync(1, TimeSpan.FromSeconds(5));

        var stopping = app.DisposeAsync().AsTask();
        await Task.Delay(300, TestContext.Current.CancellationToken);
        Assert.False(stopping.IsCompleted);
        release.SetResult();
        await stopping.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);

        Assert.Equal("completed", await JobSeed.StatusAsync(db, id));
    }

    [Fact]
    public async Task Shutdown_hands_back_reviews_still_running_after_the_grace_period_without_charging_an_attempt()
    {
        await using var db = await TestDatabase.CreateAsync();
        var handler = new FakeJobHandler
        {
            Behaviour = async (_, ct) =>
            {
                await Task.Delay(Timeout.Infinite, ct);
                return new JobOutcome.Completed("success");
            },
        };
        var app = await QueueTestApp.StartAsync(db.ConnectionString, handler, customize: o => o with { ShutdownTimeoutSeconds = 1 });
        var id = await JobSeed.InsertAsync(db, installationId: 5, pr: 1, sha: "h1");
        await handler.WaitForCallsAsync(1, TimeSpan.FromSeconds(5));

        await app.DisposeAsync();

        Assert.Equal("pending", await JobSeed.StatusAsync(db, id));
        Assert.Equal(0, await db.ScalarAsync<int>("SELECT attempts FROM review_jobs WHERE id = $1", id));
        Assert.True(await db.ScalarAsync<bool>("SELECT run_after <= now() AND lease_owner IS NULL FROM review_jobs WHERE id = $1", id));
        Assert.Equal(0, await db.ScalarAsync<int>("SELECT running FROM installations WHERE id = 5"));
    }

    [Fact]
    public async Task Listener_reconnects_after_a_database_outage_and_wakes_again()
    {
        await using var db = await TestDatabase.CreateAsync();
        var target = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        await using var proxy = new TcpProxy(target.Host!, target.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 2 }.ConnectionString;
        var handler = new FakeJobHandler();
        await using var app = await QueueTestApp.StartAsync(viaProxy, handler);
        var presence = app.Services.GetRequiredService<JobPresence>();
        await presence.FirstHeld.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        proxy.GoDown();
        await QueueTestApp.WaitUntilAsync(() => Task.FromResult(!presence.IsHeld), TimeSpan.FromSeconds(15), "listener to notice the outage");
        proxy.ComeBack();
        await QueueTestApp.WaitUntilAsync(() => Task.FromResult(presence.IsHeld && presence.Connections >= 2), TimeSpan.FromSeconds(15), "listener to reconnect");

        var stopwatch = Stopwatch.StartNew();
        await JobSeed.InsertAsync(db, installationId: 6, pr: 1, sha: "l1");
        await handler.WaitForCallsAsync(1, TimeSpan.FromSeconds(5));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(3), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task Job_whose_lease_is_taken_is_cancelled_in_the_old_worker()
    {
        await using var db = await TestDatabase.CreateAsync();
        var cancelled = new TaskCompletionSource();
        var handler = new FakeJobHandler
        {
            Behaviour = async (_, ct) =>
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }
                catch (OperationCanceledException)
                {
                    cancelled.TrySetResult();
                    throw;
                }

                return new JobOutcome.Completed("success");
            },
        };
        await using var app = await QueueTestApp.StartAsync(db.ConnectionString, handler);
        var id = await JobSeed.InsertAsync(db, installationId: 8, pr: 1, sha: "t1");
        await handler.WaitForCallsAsync(1, TimeSpan.FromSeconds(5));

        // Another worker took the job (as after a long database outage expired the lease).
        await db.ExecuteAsync("UPDATE review_jobs SET lease_owner = 'someone-else' WHERE id = $1", id);

        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Assert.Equal("someone-else", await db.ScalarAsync<string>("SELECT lease_owner FROM review_jobs WHERE id = $1", id));
    }

    [Fact]
    public async Task Global_concurrency_is_never_exceeded_and_every_job_completes()
    {
        await using var db = await TestDatabase.CreateAsync();
        var running = 0;
        var maxRunning = 0;
        var handler = new FakeJobHandler
        {
            Behaviour = async (_, _) =>
            {
                var now = Interlocked.Increment(ref running);
                InterlockedMax(ref maxRunning, now);
                await Task.Delay(20);
                Interlocked.Decrement(ref running);
                return new JobOutcome.Completed("success");
            },
        };
        await using var app = await QueueTestApp.StartAsync(db.ConnectionString, handler, customize: o => o with { ReviewConcurrency = 3, ReviewConcurrencyPerInstallation = 2 });
        for (var i = 0; i < 40; i++)
        {
            await JobSeed.InsertAsync(db, installationId: 20 + (i % 5), pr: i, sha: $"g{i}");
        }

        await QueueTestApp.WaitForCompletedAsync(db, 40, TimeSpan.FromSeconds(30), "all jobs");
        Assert.InRange(maxRunning, 1, 3);
        Assert.Equal(40, handler.Calls.Count);
    }

    [Fact]
    public async Task An_installation_at_its_limit_starts_its_next_review_when_one_finishes_not_at_the_next_poll()
    {
        await using var db = await TestDatabase.CreateAsync();
        var handler = new FakeJobHandler();
        for (var i = 0; i < 12; i++)
        {
            await JobSeed.InsertAsync(db, installationId: 30, pr: i, sha: $"limit{i}");
        }

        // The poll is 30 s (QueueTestApp): only the wake-up after each finished job's outcome is written
        // (the installation's slot in PostgreSQL is free then, not before) lets this finish in time.
        await using var app = await QueueTestApp.StartAsync(db.ConnectionString, handler, customize: o => o with { ReviewConcurrency = 2, ReviewConcurrencyPerInstallation = 2 });

        await QueueTestApp.WaitForCompletedAsync(db, 12, TimeSpan.FromSeconds(10), "all jobs of the installation");
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
