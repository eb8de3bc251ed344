namespace ReviewBot.Hosting;

// Work that must not be cut off by a deploy (review jobs) registers here. On SIGTERM the host stops
// accepting HTTP requests, the job dispatcher stops claiming, and shutdown waits for this registry to
// drain for up to SHUTDOWN_TIMEOUT_SECONDS; whatever is still running after that is cancelled through
// DrainCancelled and hands its job back.
internal sealed class InFlightWork
{
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _drainCancelled = new();
    private TaskCompletionSource _idle = NewIdle(completed: true);
    private int _count;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    // Cancelled when the shutdown grace period has run out: in-flight work gives up and hands back.
    public CancellationToken DrainCancelled => _drainCancelled.Token;

    public IDisposable Begin()
    {
        lock (_gate)
        {
            if (_count++ == 0)
            {
                _idle = NewIdle(completed: false);
            }
        }

        return new Registration(this);
    }

    public async Task<bool> WaitForIdleAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Task idle;
        lock (_gate)
        {
            idle = _idle.Task;
        }

        try
        {
            await idle.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public void CancelRemaining() => _drainCancelled.Cancel();

    private void End()
    {
        lock (_gate)
        {
            if (--_count == 0)
            {
                _idle.TrySetResult();
            }
        }
    }

    private static TaskCompletionSource NewIdle(bool completed)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (completed)
        {
            tcs.SetResult();
        }

        return tcs;
    }

    private sealed class Registration(InFlightWork owner) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.End();
            }
        }
    }
}
