using System.Threading.Channels;
using Npgsql;
using NpgsqlTypes;
using ReviewBot.Configuration;

namespace ReviewBot.Jobs;

// What one webhook delivery is recorded as. DeliveryId is GitHub's X-GitHub-Delivery GUID.
internal sealed record DeliveryInfo(string DeliveryId, string Event, string? Action, long? InstallationId);

// A review the webhook asks for. CommitSha is empty when the payload does not carry the head SHA
// (issue_comment): the job resolves it when it runs.
internal sealed record ReviewRequest(
    long InstallationId,
    long RepoId,
    string RepoFullName,
    int PrNumber,
    string PrTitle,
    string CommitSha,
    string BaseBranch,
    string Trigger,
    string? RunId,
    string DedupeKey);

internal sealed record EnqueueResult(bool Recorded, long? JobId, long Superseded);

internal sealed record RepositoryRef(long Id, string FullName);

internal enum InstallationChangeKind
{
    Upsert,
    Deleted,
    Suspended,
    Unsuspended,
}

internal sealed record InstallationChange(
    InstallationChangeKind Kind,
    long InstallationId,
    string AccountLogin,
    string AccountType,
    IReadOnlyList<RepositoryRef> RepositoriesAdded,
    IReadOnlyList<long> RepositoriesRemoved,
    DateTimeOffset? SuspendedAt = null);

// The dedupe keys the job runner relies on: one job per (repository, pull request, head SHA), and
// for explicit re-runs one per delivery.
internal static class DedupeKey
{
    public static string ForCommit(long repoId, int prNumber, string headSha) => $"{repoId}:{prNumber}:{headSha}";

    public static string ForRun(long repoId, int prNumber, string headSha, string runId) => $"{repoId}:{prNumber}:{headSha}:run={runId}";

    // ready_for_review must review a SHA whose draft job was concluded 'skipped'; the runner's marker
    // check keeps it from posting twice when the draft job did review.
    public static string ForReady(long repoId, int prNumber, string headSha) => $"{repoId}:{prNumber}:{headSha}:ready";
}

// The intake side of the job store: every write the webhook handler makes for one delivery, each
// in one transaction that also records the delivery id, so a delivery is either fully stored or
// not at all (and then GitHub shows it as failed and the recovery loop redelivers it).
//
// Review requests are group-committed: the deliveries waiting when a writer is free go to
// PostgreSQL as one batch of the same single-delivery statement, in arrival order, inside one
// transaction (one round trip, one commit), and each webhook is answered once that commit is done.
// Alone, a delivery is written at once as a single statement; under a burst, a few writers share
// the commits, which is what lets intake keep up with GitHub at PostgreSQL's transaction rate.
internal sealed class JobIntake(NpgsqlDataSource dataSource, ReviewBotOptions options, JobWakeup wakeup) : IAsyncDisposable
{
    // Writers in flight at once; a delivery waits for a free one. More than one keeps PostgreSQL's
    // cores busy while a batch is on the wire.
    private const int Writers = 4;
    private const int MaxBatch = 64;

    private static readonly TimeSpan BatchTimeout = TimeSpan.FromSeconds(5);

    private readonly Channel<PendingEnqueue> _pending =
        Channel.CreateUnbounded<PendingEnqueue>(new UnboundedChannelOptions { SingleReader = false });

    private readonly Lock _gate = new();
    private Task[]? _writers;
    private int _held;

    public async Task<EnqueueResult> EnqueueReviewAsync(DeliveryInfo delivery, ReviewRequest request, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _writers ??= [.. Enumerable.Range(0, Writers).Select(_ => Task.Run(WriteLoopAsync))];
        }

        var pending = new PendingEnqueue(delivery, request, cancellationToken);
        if (!_pending.Writer.TryWrite(pending))
        {
            throw new InvalidOperationException("intake is shutting down");
        }

        // A caller that gives up (its database timeout) still has its delivery written if the batch
        // was already on its way: the redelivery is then recognised as a duplicate.
        return await pending.Done.Task.WaitAsync(cancellationToken);
    }

    // Each writer keeps one connection while deliveries keep coming (no pool round trip and no
    // session reset per batch) and gives it back after IdleRelease without work.
    private async Task WriteLoopAsync()
    {
        var batch = new List<PendingEnqueue>(MaxBatch);
        NpgsqlConnection? connection = null;
        var idle = new CancellationTokenSource();
        try
        {
            while (await WaitForWorkAsync(connection is not null, idle) is var wait && wait != Wait.Closed)
            {
                if (!idle.TryReset())
                {
                    idle.Dispose();
                    idle = new CancellationTokenSource();
                }

                if (wait == Wait.Idle)
                {
                    // Nothing for IdleRelease: the connection goes back to the pool until the next delivery.
                    await ReleaseAsync(connection);
                    connection = null;
                    continue;
                }

                batch.Clear();
                while (batch.Count < MaxBatch && _pending.Reader.TryRead(out var item))
                {
                    if (item.CancellationToken.IsCancellationRequested)
                    {
                        item.Done.TrySetCanceled(item.CancellationToken);
                        continue;
                    }

                    batch.Add(item);
                }

                if (batch.Count == 0)
                {
                    continue;
                }

                connection = await WriteBatchAsync(connection, batch);
            }
        }
        finally
        {
            idle.Dispose();
            await ReleaseAsync(connection);
        }
    }

    // Writes one batch on the writer's connection (opening one if it has none) and returns the
    // connection to keep, or null when it was given up. A connection the server dropped (a restart, a
    // failover, an idle-session timeout) is replaced and the batch written once more on a fresh one; the
    // pool's other idle connections are dropped with it, as they most likely went the same way. Writing
    // a batch twice is harmless: the delivery ids make the second write a no-op for what the first one
    // committed.
    private async Task<NpgsqlConnection?> WriteBatchAsync(NpgsqlConnection? connection, List<PendingEnqueue> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var timeout = new CancellationTokenSource(BatchTimeout);
                if (connection is null)
                {
                    connection = await dataSource.OpenConnectionAsync(timeout.Token);
                    Interlocked.Increment(ref _held);
                }

                Complete(batch, await WriteAsync(connection, batch, timeout.Token));
                return connection;
            }
            catch (PostgresException) when (connection?.State == System.Data.ConnectionState.Open)
            {
                // PostgreSQL refused a statement (a deadlock with another batch over the same delivery
                // id, dedupe key or new installation, a value it rejects): the batch is one transaction,
                // gone for all of them, so each delivery is written on its own and only the one at
                // fault fails.
                await WriteOneByOneAsync(connection, batch);
                return connection;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                var dropped = connection is not null && connection.State != System.Data.ConnectionState.Open;
                await ReleaseAsync(connection);
                connection = null;
                if (dropped && attempt == 1)
                {
                    dataSource.Clear();
                    continue;
                }

                // The database is unavailable for all of them: each webhook answers 503 and GitHub can
                // redeliver. (Anything else is a bug: those webhooks answer 500, and the writer lives
                // on for the next batch.)
                foreach (var item in batch)
                {
                    item.Done.TrySetException(ex);
                }

                return null;
            }
        }
    }

    private static readonly TimeSpan IdleRelease = TimeSpan.FromSeconds(1);

    private enum Wait
    {
        Work,
        Idle,
        Closed,
    }

    // Work to look at; Idle when a writer holding a connection saw none for IdleRelease; Closed once
    // intake is shut down and drained. One timer per writer, re-armed, not one per wait.
    private async ValueTask<Wait> WaitForWorkAsync(bool holdingConnection, CancellationTokenSource idle)
    {
        if (!holdingConnection || _pending.Reader.TryPeek(out _))
        {
            return await _pending.Reader.WaitToReadAsync() ? Wait.Work : Wait.Closed;
        }

        idle.CancelAfter(IdleRelease);
        try
        {
            return await _pending.Reader.WaitToReadAsync(idle.Token) ? Wait.Work : Wait.Closed;
        }
        catch (OperationCanceledException) when (idle.IsCancellationRequested)
        {
            return Wait.Idle;
        }
    }

    // Connections the writers hold right now (tests: none once intake has been idle for IdleRelease).
    internal int HeldConnections => Volatile.Read(ref _held);

    private async ValueTask ReleaseAsync(NpgsqlConnection? connection)
    {
        if (connection is null)
        {
            return;
        }

        Interlocked.Decrement(ref _held);
        try
        {
            await connection.DisposeAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A broken connection is discarded by the pool either way.
        }
    }

    // Each delivery in its own transaction. A deadlock victim is written again (a few times): two
    // deliveries of one pull request, or the first two of a new installation, racing in two batches
    // can make PostgreSQL abort one statement that would succeed a moment later.
    private async Task WriteOneByOneAsync(NpgsqlConnection connection, List<PendingEnqueue> batch)
    {
        foreach (var item in batch)
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    using var timeout = new CancellationTokenSource(BatchTimeout);
                    Complete([item], await WriteAsync(connection, [item], timeout.Token));
                    break;
                }
                catch (PostgresException ex) when (attempt < 3 && ex.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure
                                                   && connection.State == System.Data.ConnectionState.Open)
                {
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    item.Done.TrySetException(ex);
                    break;
                }
            }
        }
    }

    private void Complete(List<PendingEnqueue> batch, IReadOnlyList<EnqueueResult> results)
    {
        // Committed: now the workers may look.
        if (results.Any(r => r.JobId is not null))
        {
            wakeup.Signal();
        }

        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Done.TrySetResult(results[i]);
        }
    }

    // The same single-delivery statement once per delivery, in arrival order, as one batch: one round
    // trip, and (no explicit transaction) one implicit transaction that PostgreSQL commits at the
    // batch's end or rolls back whole if any statement fails. Each statement sees the ones before it
    // exactly as if they had arrived one after another.
    private async Task<IReadOnlyList<EnqueueResult>> WriteAsync(NpgsqlConnection connection, IReadOnlyList<PendingEnqueue> batch, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlBatch(connection);
        foreach (var item in batch)
        {
            command.BatchCommands.Add(EnqueueCommand(item.Delivery, item.Request));
        }

        var results = new List<EnqueueResult>(batch.Count);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            do
            {
                await reader.ReadAsync(cancellationToken);
                results.Add(new EnqueueResult(
                    reader.GetInt64(0) == 1,
                    reader.IsDBNull(1) ? null : reader.GetInt64(1),
                    reader.GetInt64(2)));
            }
            while (await reader.NextResultAsync(cancellationToken));
        }

        return results;
    }

    private NpgsqlBatchCommand EnqueueCommand(DeliveryInfo delivery, ReviewRequest request)
    {
        var command = new NpgsqlBatchCommand(JobSql.JobEnqueueFromDelivery);
        AddDelivery(command.Parameters, delivery, request.InstallationId);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = request.RepoId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = request.RepoFullName });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = request.PrNumber });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = request.PrTitle });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = request.CommitSha });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = request.BaseBranch });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = request.Trigger });
        command.Parameters.Add(Text(request.RunId));
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = request.DedupeKey });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = options.JobMaxAttempts });
        return command;
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        Task[]? writers;
        lock (_gate)
        {
            writers = _writers;
        }

        if (writers is not null)
        {
            await Task.WhenAll(writers);
        }
    }

    private sealed record PendingEnqueue(DeliveryInfo Delivery, ReviewRequest Request, CancellationToken CancellationToken)
    {
        public TaskCompletionSource<EnqueueResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public async Task<(bool Recorded, long Cancelled)> CancelClosedPullRequestAsync(
        DeliveryInfo delivery, long installationId, long repoId, int prNumber, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(JobSql.JobCancelForClosedPullRequest, connection);
        AddDelivery(command, delivery, installationId);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = repoId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = prNumber });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0) == 1, reader.GetInt64(1));
    }

    // Ping and events ReviewBot does not act on are still recorded, so a redelivery is recognised
    // and the recovery loop does not ask for them again. False: the delivery id was already stored.
    public async Task<bool> RecordDeliveryAsync(DeliveryInfo delivery, string outcome, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(JobSql.DeliveryInsert);
        AddDelivery(command, delivery, delivery.InstallationId);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = outcome });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    // installation and installation_repositories events. False: the delivery id was already stored
    // and nothing changed.
    public async Task<bool> ApplyInstallationChangeAsync(DeliveryInfo delivery, InstallationChange change, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await using (var insert = new NpgsqlCommand(JobSql.DeliveryInsert, connection, transaction))
        {
            AddDelivery(insert, delivery, change.InstallationId);
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "accepted" });
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                await transaction.RollbackAsync(cancellationToken);
                return false;
            }
        }

        var batch = new NpgsqlBatch(connection, transaction);
        await using (batch)
        {
            if (change.Kind == InstallationChangeKind.Deleted)
            {
                batch.BatchCommands.Add(Command(JobSql.InstallationDelete, Long(change.InstallationId)));
                batch.BatchCommands.Add(Command(JobSql.JobCancelForInstallation, Long(change.InstallationId)));
            }
            else
            {
                batch.BatchCommands.Add(Command(
                    JobSql.InstallationUpsert,
                    Long(change.InstallationId),
                    new NpgsqlParameter<string> { TypedValue = change.AccountLogin },
                    new NpgsqlParameter<string> { TypedValue = change.AccountType }));

                if (change.Kind is InstallationChangeKind.Suspended or InstallationChangeKind.Unsuspended)
                {
                    var suspendedAt = change.Kind == InstallationChangeKind.Suspended ? change.SuspendedAt ?? DateTimeOffset.UtcNow : (DateTimeOffset?)null;
                    batch.BatchCommands.Add(Command(
                        JobSql.InstallationSetSuspended,
                        Long(change.InstallationId),
                        new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = suspendedAt is { } s ? s.UtcDateTime : DBNull.Value }));
                }

                if (change.RepositoriesAdded.Count > 0)
                {
                    batch.BatchCommands.Add(Command(
                        JobSql.InstallationRepositoryUpsert,
                        Long(change.InstallationId),
                        new NpgsqlParameter<long[]> { TypedValue = change.RepositoriesAdded.Select(r => r.Id).ToArray() },
                        new NpgsqlParameter<string[]> { TypedValue = change.RepositoriesAdded.Select(r => r.FullName).ToArray() }));
                }

                if (change.RepositoriesRemoved.Count > 0)
                {
                    batch.BatchCommands.Add(Command(
                        JobSql.InstallationRepositoryDelete,
                        Long(change.InstallationId),
                        new NpgsqlParameter<long[]> { TypedValue = change.RepositoriesRemoved.ToArray() }));
                }
            }

            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    // The pull request of the job that created a check run (its external_id), within the same
    // installation and repository: a fork's re-run names no pull request of its own.
    public async Task<(int PrNumber, string BaseBranch)?> FindPullRequestOfJobAsync(long jobId, long installationId, long repoId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(JobSql.JobPullRequestOf);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = jobId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = installationId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = repoId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetInt32(0), reader.GetString(1)) : null;
    }

    public async Task<IReadOnlySet<string>> FindRecordedDeliveriesAsync(IReadOnlyCollection<string> deliveryIds, CancellationToken cancellationToken)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        if (deliveryIds.Count == 0)
        {
            return found;
        }

        await using var command = dataSource.CreateCommand(JobSql.DeliveryFindRecorded);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = deliveryIds.ToArray() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found.Add(reader.GetString(0));
        }

        return found;
    }

    private static void AddDelivery(NpgsqlCommand command, DeliveryInfo delivery, long? installationId) =>
        AddDelivery(command.Parameters, delivery, installationId);

    private static void AddDelivery(NpgsqlParameterCollection parameters, DeliveryInfo delivery, long? installationId)
    {
        parameters.Add(new NpgsqlParameter<string> { TypedValue = delivery.DeliveryId });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = delivery.Event });
        parameters.Add(Text(delivery.Action));
        parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = installationId is { } id ? id : DBNull.Value });
    }

    private static NpgsqlParameter Text(string? value) =>
        new() { NpgsqlDbType = NpgsqlDbType.Text, Value = value is null ? DBNull.Value : value };

    private static NpgsqlParameter<long> Long(long value) => new() { TypedValue = value };

    private static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }
}

// Wakes the job workers after intake commits, with NOTIFY review_jobs from one connection at a time:
// a burst of stored jobs yields a few notifications, not one per job (each NOTIFY serializes commits
// on PostgreSQL's notify-queue lock). No wake-up is lost: a signal arriving while a NOTIFY is in
// flight causes one more NOTIFY, sent after that signal. If the process dies between commit and
// NOTIFY, the job is still found by the workers' periodic claim.
internal sealed partial class JobWakeup(NpgsqlDataSource dataSource, ILogger<JobWakeup> logger)
{
    // 0: idle; 1: a NOTIFY in flight; 2: in flight and another one owed.
    private int _state;

    public void Signal()
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            if (state == 2)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _state, state + 1, state) == state)
            {
                if (state == 0)
                {
                    _ = Task.Run(NotifyLoopAsync);
                }

                return;
            }
        }
    }

    // Completes once every signal so far has been followed by a NOTIFY (tests).
    public async Task WhenIdleAsync(CancellationToken cancellationToken)
    {
        while (Volatile.Read(ref _state) != 0)
        {
            await Task.Delay(5, cancellationToken);
        }
    }

    private async Task NotifyLoopAsync()
    {
        do
        {
            try
            {
                await using var command = dataSource.CreateCommand(JobSql.JobNotify);
                await command.ExecuteNonQueryAsync();
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                Log.NotifyFailed(logger, ex.GetType().Name);
            }
        }
        while (Interlocked.Decrement(ref _state) > 0);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Could not NOTIFY review_jobs ({ErrorType}); workers find the job on their next poll")]
        public static partial void NotifyFailed(ILogger logger, string errorType);
    }
}
