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
internal sealed class JobIntake(NpgsqlDataSource dataSource, ReviewBotOptions options, JobWakeup wakeup)
{
    public async Task<EnqueueResult> EnqueueReviewAsync(DeliveryInfo delivery, ReviewRequest request, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(JobSql.JobEnqueueFromDelivery, connection);
        AddDelivery(command, delivery, request.InstallationId);
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

        // Prepared once per physical connection; the webhook path runs this statement most.
        await command.PrepareAsync(cancellationToken);
        EnqueueResult result;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            result = new EnqueueResult(
                reader.GetInt64(0) == 1,
                reader.IsDBNull(1) ? null : reader.GetInt64(1),
                reader.GetInt64(2));
        }

        // Committed (one implicit transaction): now the workers may look.
        if (result.JobId is not null)
        {
            wakeup.Signal();
        }

        return result;
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

    private static void AddDelivery(NpgsqlCommand command, DeliveryInfo delivery, long? installationId)
    {
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = delivery.DeliveryId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = delivery.Event });
        command.Parameters.Add(Text(delivery.Action));
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = installationId is { } id ? id : DBNull.Value });
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
