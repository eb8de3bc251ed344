using System.Security.Cryptography;

namespace ReviewBot.Jobs;

// Who this process is to the queue. LeaseKey is the session-level advisory lock the process holds
// while it is alive (JobPresence); lease_owner on a job names the process for people reading rows.
internal sealed class WorkerIdentity
{
    public WorkerIdentity()
    {
        // 62 random bits: positive, and a collision with another process is not a real possibility.
        LeaseKey = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8)) & 0x3FFF_FFFF_FFFF_FFFF;
        Owner = $"{Environment.MachineName}/{Environment.ProcessId}/{LeaseKey:x}";
    }

    public long LeaseKey { get; }

    public string Owner { get; }
}

// Knobs below the contract's variables; tests shrink them.
internal sealed record JobQueueTuning
{
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);
    // A job whose owner's lock is gone is taken back after this many missed heartbeats' worth of time.
    public TimeSpan OrphanGrace { get; init; } = TimeSpan.FromSeconds(2.5);
    // After this process's own listener reconnected (the database went away: every replica lost its
    // lock and missed heartbeats together), the missing-lock path waits this long, so that live
    // replicas heartbeat and lock again before anyone calls their jobs orphaned. Leases still expire.
    public TimeSpan ReconnectSettle { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan MaintenanceInterval { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan PruneInterval { get; init; } = TimeSpan.FromHours(1);
    public int ClaimBatchSize { get; init; } = 64;
    public TimeSpan RetryBaseDelay { get; init; } = Backoff.Base;

    // CheckRunAnnouncer: a job that has waited this long without a check run gets a queued one;
    // looked for this often, this many at a time.
    public TimeSpan AnnounceAfter { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan AnnounceInterval { get; init; } = TimeSpan.FromSeconds(2);
    public int AnnounceBatchSize { get; init; } = 10;
}
