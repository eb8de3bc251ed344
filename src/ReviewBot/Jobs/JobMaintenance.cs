using Npgsql;
using ReviewBot.Configuration;
using ReviewBot.Observability;

namespace ReviewBot.Jobs;

// Slow housekeeping: keeps reviewbot_queue_depth current, repairs the per-installation running counts,
// gives orphan jobs of unknown installations a row, and prunes old jobs and delivery ids.
internal sealed partial class JobMaintenance(
    JobStore store,
    ReviewBotOptions options,
    JobQueueTuning tuning,
    ReviewBotMetrics metrics,
    TimeProvider time,
    ILogger<JobMaintenance> logger) : BackgroundService
{
    // GitHub keeps webhook deliveries for 3 days; the delivery-recovery loop must still know every id
    // it could be asked to redeliver, so delivery ids are kept at least a week.
    private const int MinimumDeliveryRetentionDays = 7;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(tuning.MaintenanceInterval, time);
        var lastPrune = DateTimeOffset.MinValue;
        do
        {
            try
            {
                await store.InsertMissingInstallationsAsync(stoppingToken);
                var repaired = await store.RepairRunningCountsAsync(stoppingToken);
                if (repaired > 0)
                {
                    Log.Repaired(logger, repaired);
                }

                var (pending, processing) = await store.CountByStatusAsync(stoppingToken);
                metrics.QueueDepth.WithLabels("pending").Set(pending);
                metrics.QueueDepth.WithLabels("processing").Set(processing);

                if (time.GetUtcNow() - lastPrune >= tuning.PruneInterval)
                {
                    lastPrune = time.GetUtcNow();
                    var (jobs, deliveries) = await store.PruneAsync(
                        options.JobRetentionDays, Math.Max(options.JobRetentionDays, MinimumDeliveryRetentionDays), stoppingToken);
                    if (jobs + deliveries > 0)
                    {
                        Log.Pruned(logger, jobs, deliveries);
                    }
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException && !stoppingToken.IsCancellationRequested)
            {
                Log.Failed(logger, ex.GetType().Name);
            }
        }
        while (await JobSignal.TickAsync(timer, stoppingToken));
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Repaired the running-review count of {Count} installation(s)")]
        public static partial void Repaired(ILogger logger, int count);

        [LoggerMessage(2, LogLevel.Information, "Pruned {Jobs} finished job(s) and {Deliveries} delivery id(s)")]
        public static partial void Pruned(ILogger logger, int jobs, int deliveries);

        [LoggerMessage(3, LogLevel.Warning, "Queue maintenance failed ({ErrorType}); will retry")]
        public static partial void Failed(ILogger logger, string errorType);
    }
}
