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

// The jobs this process is running, each with the token that stops it when its lease is lost; and
// the jobs it holds: claimed, not yet given back or concluded in PostgreSQL (waiting for a slot in
// their installation's lane, running, or having their outcome written). Only held jobs have their
// lease renewed: a job whose outcome could not be written (the database stayed away, the write timed
// out) is no longer held, so its lease runs out and another worker recovers it, instead of the
// heartbeat keeping a row this process has given up on "processing" for as long as it lives.
internal sealed class RunningJobs
{
    private readonly ConcurrentDictionary<long, (long Stamp, CancellationTokenSource LeaseLost)> _jobs = new();
    private readonly ConcurrentDictionary<long, byte> _held = new();
    private long _stamp;

    public int Count => _jobs.Count;

    public bool AnyHeld => !_held.IsEmpty;

    public long[] Held => [.. _held.Keys];

    public void Hold(long jobId) => _held[jobId] = 0;

    public void Unhold(long jobId) => _held.TryRemove(jobId, out _);

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
