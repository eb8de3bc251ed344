using Npgsql;
using NpgsqlTypes;

namespace ReviewBot.Jobs;

// The review job queue in PostgreSQL. All SQL is in JobSql; this class only binds parameters and
// reads rows. PostgreSQL is the source of truth: nothing here caches job state.
internal sealed class JobStore(NpgsqlDataSource dataSource)
{
    public async Task<(long Pending, long Processing)> CountByStatusAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(JobSql.JobCountByStatus);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    public async Task<IReadOnlyList<ClaimedJob>> ClaimAsync(int max, int perInstallationLimit, WorkerIdentity worker, int leaseSeconds, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(JobSql.JobClaim);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = perInstallationLimit });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = max });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = worker.Owner });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = worker.LeaseKey });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = leaseSeconds });
        var claimed = new List<(long Position, ClaimedJob Job)>(max);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            claimed.Add((reader.GetInt64(15), new ClaimedJob(
                Id: reader.GetInt64(0),
                InstallationId: reader.GetInt64(1),
                RepoId: reader.GetInt64(2),
                RepoFullName: reader.GetString(3),
                PrNumber: reader.GetInt32(4),
                PrTitle: reader.GetString(5),
                CommitSha: reader.GetString(6),
                BaseBranch: reader.GetString(7),
                Trigger: reader.GetString(8),
                RunId: reader.IsDBNull(9) ? null : reader.GetString(9),
                DeliveryId: reader.IsDBNull(10) ? null : reader.GetString(10),
                Attempts: reader.GetInt32(11),
                MaxAttempts: reader.GetInt32(12),
                CheckRunId: reader.IsDBNull(13) ? null : reader.GetInt64(13),
                CreatedAt: reader.GetFieldValue<DateTimeOffset>(14),
                CheckRunMayExist: reader.GetBoolean(16))));
        }

        // Fairest first, for the dispatcher (RETURNING has no order of its own).
        claimed.Sort((a, b) => a.Position.CompareTo(b.Position));
        return [.. claimed.Select(c => c.Job)];
    }

    public async Task<HashSet<long>> HeartbeatAsync(WorkerIdentity worker, long[] held, int leaseSeconds, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(JobSql.JobHeartbeat);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = worker.Owner });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = leaseSeconds });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = held });
        var owned = new HashSet<long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            owned.Add(reader.GetInt64(0));
        }

        return owned;
    }

    // judgeLocks false: only expired leases count (JobPresence.MayJudgeLocks).
    public async Task<IReadOnlyList<long>> RecoverOrphansAsync(TimeSpan grace, bool judgeLocks, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(JobSql.JobRecoverOrphans);
        command.Parameters.Add(new NpgsqlParameter<double> { TypedValue = grace.TotalMilliseconds });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = judgeLocks });
        var recovered = new List<long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            recovered.Add(reader.GetInt64(0));
        }

        return recovered;
    }

    // One job (tests, and the batch of one a quiet worker sends): the same statement as the batch.
    public async Task<bool> CompleteAsync(
        ClaimedJob job, WorkerIdentity worker, string status, string? conclusion, string? error,
        long? reviewId, int inputTokens, int outputTokens, int commentsPosted, int commentsUnanchored,
        CancellationToken cancellationToken) =>
        (await CompleteManyAsync(worker, [new JobCompletion(job.Id, status, conclusion, error, reviewId, inputTokens, outputTokens, commentsPosted, commentsUnanchored)], cancellationToken))
            .Contains(job.Id);

    public async Task<HashSet<long>> CompleteManyAsync(WorkerIdentity worker, IReadOnlyList<JobCompletion> completions, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(JobSql.JobCompleteMany);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = worker.Owner });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. completions.Select(c => c.JobId)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. completions.Select(c => c.Status)] });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = completions.Select(c => (object?)c.Conclusion ?? DBNull.Value).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = completions.Select(c => (object?)c.Error ?? DBNull.Value).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = completions.Select(c => (object?)c.ReviewId ?? DBNull.Value).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. completions.Select(c => c.InputTokens)] });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. completions.Select(c => c.OutputTokens)] });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. completions.Select(c => c.CommentsPosted)] });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. completions.Select(c => c.CommentsUnanchored)] });
        var done = new HashSet<long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            done.Add(reader.GetInt64(0));
        }

        return done;
    }

    public async Task<bool> ReleaseAsync(
        ClaimedJob job, WorkerIdentity worker, TimeSpan delay, string? error, bool refundAttempt,
        int inputTokens, int outputTokens, CancellationToken cancellationToken, TimeSpan? installationCooldown = null)
    {
        await using var command = dataSource.CreateCommand(JobSql.JobRelease);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = job.Id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = worker.Owner });
        command.Parameters.Add(new NpgsqlParameter<double> { TypedValue = Math.Max(0, delay.TotalMilliseconds) });
        command.Parameters.Add(Text(error));
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = refundAttempt ? 1 : 0 });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = inputTokens });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = outputTokens });
        command.Parameters.Add(new NpgsqlParameter<double> { TypedValue = Math.Max(0, installationCooldown?.TotalMilliseconds ?? 0) });
        return (int)(await command.ExecuteScalarAsync(cancellationToken))! == 1;
    }

    public async Task SetCommitShaAsync(ClaimedJob job, WorkerIdentity worker, string sha, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(JobSql.JobSetCommitSha);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = job.Id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = worker.Owner });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = sha });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    // Jobs that have waited at least `waited` without a check run, marked as being announced.
    public async Task<IReadOnlyList<WaitingJob>> TakeForAnnouncementAsync(TimeSpan waited, int max, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(JobSql.JobAnnounceTake);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = (long)waited.TotalMilliseconds });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = max });
        var jobs = new List<WaitingJob>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            jobs.Add(new WaitingJob(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3)));
        }

        return jobs;
    }

    // Stores the queued check run's id (JobSql.JobAnnounceDone): whether it was stored, the job's status
    // (null when the job is gone) and the check run the job had already.
    public async Task<(bool Stored, string? Status, long? Existing)> AnnouncedAsync(long jobId, long checkRunId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(JobSql.JobAnnounceDone);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = jobId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = checkRunId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetBoolean(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetInt64(2));
    }

    // Held while a review is looked for and posted: two jobs that would post under the same marker (a
    // draft's review and its ready_for_review's, with REVIEW_CONCURRENCY_PER_INSTALLATION above 1, or on
    // two replicas) take turns, so the second finds the first's review instead of posting its own.
    public async Task<IAsyncDisposable> LockPostingAsync(ClaimedJob job, CancellationToken cancellationToken)
    {
        var key = $"{job.RepoId}:{job.PrNumber}:{job.ReviewMarker}";
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = new NpgsqlCommand(JobSql.PostingLock, connection);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
            await command.ExecuteNonQueryAsync(cancellationToken);
            return new PostingLock(connection, key);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private sealed class PostingLock(NpgsqlConnection connection, string key) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await using var command = new NpgsqlCommand(JobSql.PostingUnlock, connection);
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
                await command.ExecuteNonQueryAsync(CancellationToken.None);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                // The session is gone, and its lock with it.
            }
            finally
            {
                await connection.DisposeAsync();
            }
        }
    }

    public async Task<bool> RenewAnnouncementAsync(long jobId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(JobSql.JobAnnounceRenew);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = jobId });
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public async Task AnnouncementGaveUpAsync(IReadOnlyList<long> jobIds, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(JobSql.JobAnnounceGaveUp);
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. jobIds] });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    // False when the job is no longer ours (its lease was taken: another worker runs it now).
    public async Task<bool> SetCheckRunAsync(ClaimedJob job, WorkerIdentity worker, long checkRunId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(JobSql.JobSetCheckRun);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = job.Id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = worker.Owner });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = checkRunId });
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    // Starts the job's review within the installation's hourly budget. Returns null when it may start
    // now (started_at recorded), otherwise how long until a slot frees.
    public async Task<TimeSpan?> TryStartWithinBudgetAsync(ClaimedJob job, WorkerIdentity worker, int reviewsPerHour, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockRow = new NpgsqlCommand(JobSql.InstallationLockForBudget, connection, transaction))
        {
            lockRow.Parameters.Add(new NpgsqlParameter<long> { TypedValue = job.InstallationId });
            await lockRow.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var next = new NpgsqlCommand(JobSql.JobBudgetNextSlot, connection, transaction))
        {
            next.Parameters.Add(new NpgsqlParameter<long> { TypedValue = job.InstallationId });
            next.Parameters.Add(new NpgsqlParameter<int> { TypedValue = Math.Max(1, reviewsPerHour) });
            next.Parameters.Add(new NpgsqlParameter<long> { TypedValue = job.Id });
            if (await next.ExecuteScalarAsync(cancellationToken) is TimeSpan wait && wait > TimeSpan.Zero)
            {
                await transaction.RollbackAsync(cancellationToken);
                return wait;
            }
        }

        await using (var start = new NpgsqlCommand(JobSql.JobMarkStarted, connection, transaction))
        {
            start.Parameters.Add(new NpgsqlParameter<long> { TypedValue = job.Id });
            start.Parameters.Add(new NpgsqlParameter<string> { TypedValue = worker.Owner });
            await start.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return null;
    }

    public async Task<string?> LastReviewedShaAsync(ClaimedJob job, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(JobSql.JobLastReviewedSha);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = job.RepoId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = job.PrNumber });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = job.Id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = job.CommitSha });
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    public async Task<TimeSpan?> NextRunAfterAsync(int perInstallationLimit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(JobSql.JobNextRunAfter);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = perInstallationLimit });
        return await command.ExecuteScalarAsync(cancellationToken) is TimeSpan wait ? wait : null;
    }

    public async Task<int> InsertMissingInstallationsAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(JobSql.InstallationInsertMissingForPendingJobs);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<int> RepairRunningCountsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var drifted = new List<long>();
        await using (var lockRows = new NpgsqlCommand(JobSql.InstallationLockDrifted, connection, transaction))
        await using (var reader = await lockRows.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                drifted.Add(reader.GetInt64(0));
            }
        }

        if (drifted.Count > 0)
        {
            await using var recount = new NpgsqlCommand(JobSql.InstallationRecountRunning, connection, transaction);
            recount.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. drifted] });
            await recount.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return drifted.Count;
    }

    public async Task<(int Jobs, int Deliveries)> PruneAsync(int jobRetentionDays, int deliveryRetentionDays, CancellationToken cancellationToken)
    {
        const int batch = 5000;
        var jobs = 0;
        var deliveries = 0;
        int deleted;
        do
        {
            await using var command = dataSource.CreateCommand(JobSql.JobDeleteFinishedBefore);
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = jobRetentionDays });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = batch });
            deleted = await command.ExecuteNonQueryAsync(cancellationToken);
            jobs += deleted;
        }
        while (deleted == batch);

        do
        {
            await using var command = dataSource.CreateCommand(JobSql.DeliveryDeleteBefore);
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = deliveryRetentionDays });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = batch });
            deleted = await command.ExecuteNonQueryAsync(cancellationToken);
            deliveries += deleted;
        }
        while (deleted == batch);

        return (jobs, deliveries);
    }

    private static NpgsqlParameter Text(string? value) =>
        new() { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)value ?? DBNull.Value };
}
