using System.Threading.Channels;
using Npgsql;
using ReviewBot.Configuration;
using ReviewBot.Hosting;

namespace ReviewBot.Jobs;

// Claims jobs from PostgreSQL when this process has free capacity (REVIEW_CONCURRENCY) and feeds them
// into one bounded channel per active installation. PostgreSQL stays the source of truth: a job is only
// ever in a channel after it was claimed, and the channel is sized so a write never waits or drops.
internal sealed partial class JobDispatcher(
    JobStore store,
    JobRunner runner,
    RunningJobs runningJobs,
    JobSignal signal,
    JobPresence presence,
    WorkerIdentity worker,
    InFlightWork inFlight,
    ReviewBotOptions options,
    JobQueueTuning tuning,
    ILogger<JobDispatcher> logger) : BackgroundService
{
    private readonly Lock _lanesGate = new();
    private readonly Dictionary<long, Channel<ClaimedJob>> _lanes = [];
    private int _active;

    public int Active => Volatile.Read(ref _active);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = tuning.PollInterval;
            if (presence.IsHeld)
            {
                try
                {
                    // No pause to gather freed slots first: those that free up while one claim is on
                    // its way are taken by the next (a 2 ms pause cost the queue bench a tenth of its
                    // rate, bench/RESULTS.md). At capacity, a finishing job wakes us; only when the
                    // runnable jobs ran out is it worth asking when the next one (a retry, a
                    // cooldown) becomes runnable.
                    if (await ClaimWhileCapacityAsync(stoppingToken) &&
                        await store.NextRunAfterAsync(options.ReviewConcurrencyPerInstallation, stoppingToken) is { } next && next < wait)
                    {
                        wait = next < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : next;
                    }
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException && !stoppingToken.IsCancellationRequested)
                {
                    Log.ClaimFailed(logger, ex.GetType().Name);
                    wait = TimeSpan.FromSeconds(1);
                }
            }

            await signal.WaitAsync(wait, stoppingToken);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // First stop claiming...
        await base.StopAsync(cancellationToken);

        // ...then let in-flight reviews finish within the grace period, and hand back the rest.
        var grace = TimeSpan.FromSeconds(options.ShutdownTimeoutSeconds);
        Log.Draining(logger, inFlight.Count, grace.TotalSeconds);
        if (!await inFlight.WaitForIdleAsync(grace, CancellationToken.None))
        {
            Log.HandingBack(logger, inFlight.Count);
            inFlight.CancelRemaining();
            await inFlight.WaitForIdleAsync(TimeSpan.FromSeconds(8), CancellationToken.None);
        }
    }

    // True when the runnable jobs ran out before this process's capacity did.
    private async Task<bool> ClaimWhileCapacityAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var free = options.ReviewConcurrency - Volatile.Read(ref _active);
            if (free <= 0)
            {
                return false;
            }

            var wanted = Math.Min(free, tuning.ClaimBatchSize);
            var jobs = await store.ClaimAsync(wanted, options.ReviewConcurrencyPerInstallation, worker, options.JobLeaseSeconds, stoppingToken);
            foreach (var job in jobs)
            {
                runningJobs.Hold(job.Id);
                Interlocked.Increment(ref _active);
                Route(job);
            }

            if (jobs.Count < wanted)
            {
                return true;
            }
        }

        return false;
    }

    private void Route(ClaimedJob job)
    {
        lock (_lanesGate)
        {
            if (!_lanes.TryGetValue(job.InstallationId, out var lane))
            {
                // Capacity REVIEW_CONCURRENCY: never more jobs are claimed than that, so TryWrite cannot fail.
                lane = Channel.CreateBounded<ClaimedJob>(new BoundedChannelOptions(options.ReviewConcurrency)
                {
                    SingleReader = true,
                    FullMode = BoundedChannelFullMode.Wait,
                });
                _lanes[job.InstallationId] = lane;
                _ = Task.Run(() => DrainLaneAsync(job.InstallationId, lane));
            }

            if (!lane.Writer.TryWrite(job))
            {
                throw new InvalidOperationException("installation channel full: more jobs claimed than REVIEW_CONCURRENCY");
            }
        }
    }

    // Runs an installation's claimed jobs, at most REVIEW_CONCURRENCY_PER_INSTALLATION at once in this
    // process (the claim enforces the same limit across replicas), and retires the lane once empty.
    private async Task DrainLaneAsync(long installationId, Channel<ClaimedJob> lane)
    {
        using var slots = new SemaphoreSlim(options.ReviewConcurrencyPerInstallation);
        var running = new List<Task>();
        while (true)
        {
            while (lane.Reader.TryRead(out var job))
            {
                await slots.WaitAsync();
                running.Add(RunOneAsync(job, slots));
            }

            lock (_lanesGate)
            {
                if (!lane.Reader.TryPeek(out _))
                {
                    _lanes.Remove(installationId);
                    lane.Writer.TryComplete();
                    break;
                }
            }
        }

        await Task.WhenAll(running);
    }

    private async Task RunOneAsync(ClaimedJob job, SemaphoreSlim slots)
    {
        // The process slot (REVIEW_CONCURRENCY) is free once the review itself is done, while its
        // outcome is still being written: claiming the next jobs overlaps with that write. The
        // installation's slot is held until the outcome is in PostgreSQL, as the claim's own
        // per-installation count is.
        var freed = 0;
        void FreeSlot()
        {
            if (Interlocked.Exchange(ref freed, 1) == 0)
            {
                Interlocked.Decrement(ref _active);
                signal.Wake();
            }
        }

        try
        {
            await runner.RunAsync(job, FreeSlot);
        }
        finally
        {
            runningJobs.Unhold(job.Id);
            slots.Release();
            FreeSlot();

            // The installation's slot (installations.running) is free only now that the outcome is
            // written: a claim woken by FreeSlot alone may have found the installation still full.
            signal.Wake();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Claiming jobs failed ({ErrorType}); retrying shortly")]
        public static partial void ClaimFailed(ILogger logger, string errorType);

        [LoggerMessage(2, LogLevel.Information, "Stopped claiming jobs; waiting up to {GraceSeconds} s for {InFlight} review(s) in flight")]
        public static partial void Draining(ILogger logger, int inFlight, double graceSeconds);

        [LoggerMessage(3, LogLevel.Warning, "Shutdown grace period over; handing back {InFlight} review(s)")]
        public static partial void HandingBack(ILogger logger, int inFlight);
    }
}
