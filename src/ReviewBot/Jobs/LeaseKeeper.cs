using Npgsql;
using ReviewBot.Configuration;
using ReviewBot.Observability;

namespace ReviewBot.Jobs;

// Every HeartbeatInterval: renews the leases of the jobs this process runs (one statement for all),
// stops any job whose lease was taken from us, and takes back jobs orphaned by dead workers anywhere.
internal sealed partial class LeaseKeeper(
    JobStore store,
    WorkerIdentity worker,
    RunningJobs running,
    JobSignal signal,
    JobPresence presence,
    ReviewBotOptions options,
    JobQueueTuning tuning,
    ReviewBotMetrics metrics,
    TimeProvider time,
    ILogger<LeaseKeeper> logger) : BackgroundService
{
    private readonly TaskCompletionSource _firstSweep = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task FirstSweep => _firstSweep.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(tuning.HeartbeatInterval, time);
        do
        {
            await SweepAsync(stoppingToken);
        }
        while (await JobSignal.TickAsync(timer, stoppingToken));
    }

    internal async Task SweepAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (running.AnyHeld)
            {
                var stamp = running.CurrentStamp;
                var owned = await store.HeartbeatAsync(worker, running.Held, options.JobLeaseSeconds, cancellationToken);
                foreach (var lost in running.CancelLost(owned, stamp))
                {
                    Log.LeaseLost(logger, lost);
                }
            }

            var recovered = await store.RecoverOrphansAsync(tuning.OrphanGrace, presence.MayJudgeLocks(tuning.ReconnectSettle), cancellationToken);
            if (recovered.Count > 0)
            {
                metrics.JobsRecovered.Inc(recovered.Count);
                Log.Recovered(logger, recovered.Count, string.Join(',', recovered));
                signal.Wake();
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            // The database is away: leases are long (JOB_LEASE_SECONDS) precisely to ride this out.
            Log.SweepFailed(logger, ex.GetType().Name);
        }
        finally
        {
            _firstSweep.TrySetResult();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Lease on job {LostJobId} was lost; stopping it (another worker owns it now)")]
        public static partial void LeaseLost(ILogger logger, long lostJobId);

        [LoggerMessage(2, LogLevel.Warning, "Recovered {Count} orphaned job(s) whose worker died: {JobIds}")]
        public static partial void Recovered(ILogger logger, int count, string jobIds);

        [LoggerMessage(3, LogLevel.Warning, "Lease sweep failed ({ErrorType}); will retry")]
        public static partial void SweepFailed(ILogger logger, string errorType);
    }
}
