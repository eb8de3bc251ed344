using System.Diagnostics;
using Npgsql;
using ReviewBot.Configuration;
using ReviewBot.Hosting;
using ReviewBot.Observability;

namespace ReviewBot.Jobs;

// Runs one claimed job through the handler and turns its outcome into exactly one queue transition.
// The job's token is cancelled only when its lease is lost or the shutdown grace period has run out:
// a deploy lets reviews in flight finish.
internal sealed partial class JobRunner(
    JobStore store,
    JobCompleter completer,
    IJobHandler handler,
    WorkerIdentity worker,
    RunningJobs running,
    InFlightWork inFlight,
    ReviewBotMetrics metrics,
    JobQueueTuning tuning,
    ILogger<JobRunner> logger)
{
    private static readonly HashSet<string> RetryReasons = ["github", "llm", "rate_limit", "database", "timeout", "exception", "network"];

    // `handled` runs once the handler has returned, before the outcome is written: the job no longer
    // needs a worker slot, so the dispatcher can claim its successor while the write is in flight.
    public async Task RunAsync(ClaimedJob job, Action? handled = null)
    {
        using var registration = inFlight.Begin();
        using var context = LogContext.Begin(new LogContextValues(job.InstallationId, job.RepoFullName, job.PrNumber, job.Id, job.DeliveryId));
        using var leaseLost = new CancellationTokenSource();
        using var jobToken = CancellationTokenSource.CreateLinkedTokenSource(leaseLost.Token, inFlight.DrainCancelled);
        running.Add(job.Id, leaseLost);
        var started = Stopwatch.GetTimestamp();
        JobOutcome outcome;
        try
        {
            Log.Started(logger, job.Attempts, job.MaxAttempts, job.CommitSha);
            if (job.Attempts > job.MaxAttempts)
            {
                // Only a job whose worker died mid-attempt, every attempt, gets here (recovery does not
                // charge; the claim did). Stop the crash loop.
                var message = $"ReviewBot stopped while running this review {job.Attempts - 1} times; giving up.";
                await handler.OnGiveUpAsync(job, message, jobToken.Token);
                outcome = new JobOutcome.Failed(message);
            }
            else
            {
                outcome = await handler.HandleAsync(job, jobToken.Token);
            }
        }
        catch (Exception ex) when (ex is JobLeaseLostException || ex is OperationCanceledException && leaseLost.IsCancellationRequested)
        {
            // Someone else owns the job now; writing anything would fight them.
            Log.Abandoned(logger);
            return;
        }
        catch (OperationCanceledException) when (inFlight.DrainCancelled.IsCancellationRequested)
        {
            await ApplyAsync(job, new JobOutcome.Deferred(DateTimeOffset.UtcNow, "Handed back at shutdown"), started, handBack: true);
            return;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.HandlerFailed(logger, ex);
            outcome = new JobOutcome.Retry("exception", $"Unexpected error ({ex.GetType().Name}).");
        }
        finally
        {
            running.Remove(job.Id);
        }

        handled?.Invoke();
        await ApplyAsync(job, outcome, started, handBack: false);
    }

    private async Task ApplyAsync(ClaimedJob job, JobOutcome outcome, long started, bool handBack)
    {
        var elapsed = Stopwatch.GetElapsedTime(started);
        // The transition must land even while shutting down; a database blip gets a few tries, and if it
        // never lands the lease expires and the job is recovered (the marker check keeps that safe).
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ApplyOnceAsync(job, outcome, elapsed, handBack);
                return;
            }
            // OperationCanceledException: ApplyOnceAsync's own 15 s limit, i.e. a database that does not answer.
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException && attempt < 5)
            {
                Log.TransitionRetry(logger, ex.GetType().Name, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt * attempt));
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException)
            {
                Log.TransitionLost(logger, ex);
                return;
            }
        }
    }

    private async Task ApplyOnceAsync(ClaimedJob job, JobOutcome outcome, TimeSpan elapsed, bool handBack)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var ct = timeout.Token;
        bool applied;
        switch (outcome)
        {
            case JobOutcome.Completed c:
                applied = await completer.CompleteAsync(new JobCompletion(job.Id, "completed", c.Conclusion, c.Note, c.ReviewId, c.InputTokens, c.OutputTokens, c.CommentsPosted, c.CommentsUnanchored));
                if (applied)
                {
                    metrics.Reviews.WithLabels(c.Conclusion).Inc();
                    metrics.ReviewDuration.Observe(elapsed.TotalSeconds);
                }

                break;

            case JobOutcome.Cancelled c:
                applied = await completer.CompleteAsync(new JobCompletion(job.Id, c.Status, "cancelled", c.Message, null, c.InputTokens, c.OutputTokens, 0, 0));
                if (applied)
                {
                    metrics.Reviews.WithLabels("cancelled").Inc();
                }

                break;

            case JobOutcome.Failed f:
                applied = await completer.CompleteAsync(new JobCompletion(job.Id, "failed", "failure", f.Message, null, f.InputTokens, f.OutputTokens, 0, 0));
                if (applied)
                {
                    metrics.Reviews.WithLabels("failure").Inc();
                    metrics.ReviewDuration.Observe(elapsed.TotalSeconds);
                    Log.Failed(logger, f.Message);
                }

                break;

            case JobOutcome.Deferred d:
                var wait = d.Until - DateTimeOffset.UtcNow;
                applied = await store.ReleaseAsync(job, worker, wait < TimeSpan.Zero ? TimeSpan.Zero : wait, d.Message, refundAttempt: true, d.InputTokens, d.OutputTokens, ct);
                if (applied)
                {
                    if (handBack)
                    {
                        Log.HandedBack(logger);
                    }
                    else
                    {
                        Log.Deferred(logger, d.Until, d.Message);
                    }
                }

                break;

            case JobOutcome.Retry r when job.IsLastAttempt && r.CountsAsAttempt:
                var message = $"Gave up after {job.Attempts} attempts. Last error: {r.Message}";
                try
                {
                    await handler.OnGiveUpAsync(job, message, ct);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    Log.GiveUpReportFailed(logger, ex.GetType().Name);
                }

                applied = await completer.CompleteAsync(new JobCompletion(job.Id, "failed", "failure", message, null, r.InputTokens, r.OutputTokens, 0, 0));
                if (applied)
                {
                    metrics.Reviews.WithLabels("failure").Inc();
                    metrics.ReviewDuration.Observe(elapsed.TotalSeconds);
                    Log.Failed(logger, message);
                }

                break;

            case JobOutcome.Retry r:
                var delay = Backoff.Delay(job.Attempts, r.RetryAfter, Random.Shared, tuning.RetryBaseDelay);
                // A Retry-After belongs to the installation's credentials (its LLM key, its GitHub
                // token), not just to this job: the installation's other jobs wait too, on every replica.
                applied = await store.ReleaseAsync(job, worker, delay, r.Message, refundAttempt: !r.CountsAsAttempt, r.InputTokens, r.OutputTokens, ct,
                    installationCooldown: r.RetryAfter);
                if (applied)
                {
                    metrics.JobRetries.WithLabels(RetryReasons.Contains(r.Reason) ? r.Reason : "other").Inc();
                    Log.Retrying(logger, r.Reason, delay.TotalSeconds, r.Message);
                }

                break;

            default:
                throw new UnreachableException(outcome.GetType().Name);
        }

        if (!applied)
        {
            Log.LeaseGoneAtFinish(logger, outcome.GetType().Name);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Job started (attempt {Attempt} of {MaxAttempts}) for {CommitSha}")]
        public static partial void Started(ILogger logger, int attempt, int maxAttempts, string commitSha);

        [LoggerMessage(2, LogLevel.Warning, "Job abandoned: its lease was lost")]
        public static partial void Abandoned(ILogger logger);

        [LoggerMessage(3, LogLevel.Error, "Job handler failed unexpectedly")]
        public static partial void HandlerFailed(ILogger logger, Exception exception);

        [LoggerMessage(4, LogLevel.Warning, "Recording the job's outcome failed ({ErrorType}), try {Attempt}")]
        public static partial void TransitionRetry(ILogger logger, string errorType, int attempt);

        [LoggerMessage(5, LogLevel.Error, "Could not record the job's outcome; its lease will expire and it will be recovered")]
        public static partial void TransitionLost(ILogger logger, Exception exception);

        [LoggerMessage(6, LogLevel.Warning, "Job failed: {Reason}")]
        public static partial void Failed(ILogger logger, string reason);

        [LoggerMessage(7, LogLevel.Information, "Job handed back at shutdown; another worker or the next start will take it")]
        public static partial void HandedBack(ILogger logger);

        [LoggerMessage(8, LogLevel.Information, "Job deferred until {Until}: {Reason}")]
        public static partial void Deferred(ILogger logger, DateTimeOffset until, string reason);

        [LoggerMessage(9, LogLevel.Warning, "Job will be retried ({RetryReason}) in {DelaySeconds:F1} s: {Reason}")]
        public static partial void Retrying(ILogger logger, string retryReason, double delaySeconds, string reason);

        [LoggerMessage(10, LogLevel.Warning, "Job outcome {Outcome} not recorded: the lease had already been taken")]
        public static partial void LeaseGoneAtFinish(ILogger logger, string outcome);

        [LoggerMessage(11, LogLevel.Warning, "Reporting the failure on the check run failed ({ErrorType})")]
        public static partial void GiveUpReportFailed(ILogger logger, string errorType);
    }
}
