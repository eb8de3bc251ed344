using System.Threading.Channels;
using Npgsql;

namespace ReviewBot.Jobs;

internal sealed record JobCompletion(
    long JobId, string Status, string? Conclusion, string? Error, long? ReviewId,
    int InputTokens, int OutputTokens, int CommentsPosted, int CommentsUnanchored);

// Finishes jobs in batches: every completion waiting when the previous statement returns goes into the
// next one (JobSql.JobCompleteMany). Alone, a completion is written at once; under load, one round
// trip and one commit serve many jobs, which is what lets the queue keep up with short jobs.
internal sealed class JobCompleter(JobStore store, WorkerIdentity worker) : IAsyncDisposable
{
    private const int MaxBatch = 256;

    private readonly Channel<(JobCompletion Completion, TaskCompletionSource<bool> Done)> _pending =
        Channel.CreateUnbounded<(JobCompletion, TaskCompletionSource<bool>)>(new UnboundedChannelOptions { SingleReader = true });

    private readonly Lock _gate = new();
    private Task? _loop;

    // True when the job was finished by this call; false when its lease had been lost.
    public Task<bool> CompleteAsync(JobCompletion completion)
    {
        lock (_gate)
        {
            _loop ??= Task.Run(RunAsync);
        }

        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending.Writer.TryWrite((completion, done));
        return done.Task;
    }

    private async Task RunAsync()
    {
        var batch = new List<(JobCompletion Completion, TaskCompletionSource<bool> Done)>(MaxBatch);
        while (await _pending.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _pending.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                var finished = await store.CompleteManyAsync(worker, [.. batch.Select(b => b.Completion)], timeout.Token);
                foreach (var (completion, done) in batch)
                {
                    done.TrySetResult(finished.Contains(completion.JobId));
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException or InvalidOperationException)
            {
                // Each caller decides whether to try again (JobRunner retries a few times).
                foreach (var (_, done) in batch)
                {
                    done.TrySetException(ex);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        if (_loop is not null)
        {
            await _loop;
        }
    }
}
