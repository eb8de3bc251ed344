namespace ReviewBot.Jobs;

// A review job this process has claimed (status processing, leased to it). CheckRunMayExist: before
// this claim, a check run may have been created for the job without its id being stored (an earlier
// attempt or the announcer died in between; schema step 5): it is found by its external id, the job
// id, before another is created, and any duplicate is concluded when the job finishes.
internal sealed record ClaimedJob(
    long Id,
    long InstallationId,
    long RepoId,
    string RepoFullName,
    int PrNumber,
    string PrTitle,
    string CommitSha,
    string BaseBranch,
    string Trigger,
    string? RunId,
    string? DeliveryId,
    int Attempts,
    int MaxAttempts,
    long? CheckRunId,
    DateTimeOffset CreatedAt,
    bool CheckRunMayExist = false)
{

    public bool IsLastAttempt => Attempts >= MaxAttempts;

    // CONTRACT §4: the review body ends with this marker; a re-run adds :run=ID. Looked for before every
    // attempt to post, so a review GitHub already accepted is never posted again.
    public string ReviewMarker => RunId is null
        ? $"<!-- reviewbot:sha={CommitSha} -->"
        : $"<!-- reviewbot:sha={CommitSha}:run={RunId} -->";
}

// A pending job waiting for a slot, taken to get its queued check run (CheckRunAnnouncer).
internal sealed record WaitingJob(long Id, long InstallationId, string RepoFullName, string CommitSha);

// What a job attempt came to. Errors are values: the runner maps each to a queue transition.
internal abstract record JobOutcome
{
    private JobOutcome()
    {
    }

    // The review is over and its check run concluded (success, neutral, skipped...).
    public sealed record Completed(string Conclusion, long? ReviewId = null, int CommentsPosted = 0, int CommentsUnanchored = 0, string? Note = null) : JobOutcome;

    // Something transient (network, 5xx, 429, timeout): try again later, never before RetryAfter.
    // CountsAsAttempt false (rate limits: waiting is the fix) puts the job back without using up an attempt.
    public sealed record Retry(string Reason, string Message, TimeSpan? RetryAfter = null, bool CountsAsAttempt = true) : JobOutcome;

    // Permanent failure; the handler has already said why on the check run.
    public sealed record Failed(string Message) : JobOutcome;

    // Superseded by a newer commit or the pull request closed; the check run says cancelled.
    public sealed record Cancelled(string Status, string Message) : JobOutcome;

    // Not now (per-installation budget): back to the queue until Until, no attempt charged.
    public sealed record Deferred(DateTimeOffset Until, string Message) : JobOutcome;

    public int InputTokens { get; init; }

    public int OutputTokens { get; init; }
}

// Runs one claimed job. The queue (JobDispatcher/JobRunner) knows nothing of reviews: it gives the
// handler a job and a token that is cancelled when the lease is lost or shutdown's grace period ends.
internal interface IJobHandler
{
    Task<JobOutcome> HandleAsync(ClaimedJob job, CancellationToken cancellationToken);

    // The runner is giving up on a job (attempts exhausted, or crashed too often): conclude its check
    // run as failure with this message.
    Task OnGiveUpAsync(ClaimedJob job, string message, CancellationToken cancellationToken);
}

// The job was taken from this worker while it ran (its lease expired while the process stalled, and
// another worker claimed it): the attempt stops and writes nothing, as when the heartbeat notices.
internal sealed class JobLeaseLostException(long jobId) : Exception($"The lease on job {jobId} was lost; another worker runs it now");
