using System.Collections.Concurrent;
using System.Threading.Channels;

namespace ReviewBot.Jobs;

// Wakes the dispatcher: a NOTIFY arrived, a job finished (a slot is free), or orphans were recovered.
// It carries no data (the jobs are in PostgreSQL), so coalescing many wake-ups into one loses nothing.
internal sealed class JobSignal
{
    private readonly Channel<bool> _channel = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Wake() => _channel.Writer.TryWrite(true);

    // PeriodicTimer tick that ends a loop quietly on shutdown instead of throwing.
    public static async Task<bool> TickAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            await _channel.Reader.ReadAsync(timer.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Timed out: the caller polls.
        }
    }
}

// The jobs this process is running, each with the token that stops it when its lease is lost.
internal sealed class RunningJobs
{
    private readonly ConcurrentDictionary<long, (long Stamp, CancellationTokenSource LeaseLost)> _jobs = new();
    private long _stamp;

    public int Count => _jobs.Count;

    public long CurrentStamp => Interlocked.Read(ref _stamp);

    public void Add(long jobId, CancellationTokenSource leaseLost) => _jobs[jobId] = (Interlocked.Increment(ref _stamp), leaseLost);

    public void Remove(long jobId) => _jobs.TryRemove(jobId, out _);

    // Cancels the jobs registered before `stampBefore` that the heartbeat no longer reported as ours.
    // (Jobs registered after the heartbeat's query started may simply not have been visible to it.)
    public IReadOnlyList<long> CancelLost(HashSet<long> owned, long stampBefore)
    {
        var lost = new List<long>();
        foreach (var (id, (stamp, leaseLost)) in _jobs)
        {
            if (stamp <= stampBefore && !owned.Contains(id))
            {
                lost.Add(id);
                leaseLost.Cancel();
            }
        }

        return lost;
    }
}
