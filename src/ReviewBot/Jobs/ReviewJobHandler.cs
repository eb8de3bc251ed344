using System.Diagnostics;
using System.Globalization;
using System.Text;
using ReviewBot.GitHub;
using ReviewBot.Llm;
using ReviewBot.Observability;
using ReviewBot.Review;
using ReviewBot.Settings;
using GitHubFile = ReviewBot.GitHub.PullRequestFile;
using ReviewFile = ReviewBot.Review.PullRequestFile;

namespace ReviewBot.Jobs;

// What a review job does (CONTRACT §4): one check run named ReviewBot on the head SHA, reporting
// progress and an honest conclusion, and at most one review carrying the job's marker. Every step
// that can fail transiently returns a Retry; every permanent failure is said on the check run in
// words the repository owner can act on.
internal sealed partial class ReviewJobHandler(
    GitHubClient github,
    SettingsStore settings,
    ILlmClientFactory llmClients,
    ReviewEngine engine,
    JobStore store,
    WorkerIdentity worker,
    ReviewBotMetrics metrics,
    TimeProvider time,
    ILogger<ReviewJobHandler> logger) : IJobHandler
{
    public const string CheckRunName = "ReviewBot";

    public async Task<JobOutcome> HandleAsync(ClaimedJob job, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        if (job.CommitSha.Length == 0)
        {
            // `@reviewbot review` comments carry no SHA: review the pull request's head as it is now.
            var head = await github.GetPullRequestAsync(job.InstallationId, job.RepoFullName, job.PrNumber, cancellationToken);
            if (!head.IsOk)
            {
                return head.Outcome == GitHubOutcome.NotFound
                    ? new JobOutcome.Failed("The pull request no longer exists or ReviewBot can no longer see it.")
                    : GitHubRetryOrFail(head.ToString(), head.Outcome, head.RetryAt, head.RetryAfter);
            }

            job = job with { CommitSha = head.Value!.Head.Sha };
            await store.SetCommitShaAsync(job, worker, job.CommitSha, cancellationToken);
        }

        var snapshot = await settings.GetSnapshotAsync(job.InstallationId, cancellationToken);

        // The check run first, so the pull request shows ReviewBot at work whatever happens next.
        var checkRun = await EnsureCheckRunAsync(job, "in_progress", "Review in progress", "ReviewBot is reviewing this commit.", cancellationToken);
        if (checkRun.Retry is { } checkRunRetry)
        {
            return checkRunRetry;
        }

        var checkRunId = checkRun.Id!.Value;
        var outcome = await ReviewAsync(job, checkRunId, snapshot, started, cancellationToken);
        if (job.CheckRunMayExist && outcome is JobOutcome.Completed or JobOutcome.Failed or JobOutcome.Cancelled)
        {
            await ConcludeDuplicateCheckRunsAsync(job, checkRunId, cancellationToken);
        }

        return outcome;
    }

    // Everything after the check run: the review itself and the check run's conclusion.
    private async Task<JobOutcome> ReviewAsync(ClaimedJob job, long checkRunId, SettingsSnapshot snapshot, long started, CancellationToken cancellationToken)
    {
        if (job.Attempts > 1 && await FindPostedReviewAsync(job, cancellationToken) is { } earlier)
        {
            // An earlier attempt posted the review and then stopped (crash, timeout) before finishing:
            // finish now without asking the model again.
            if (earlier.Retry is { } findRetry)
            {
                return findRetry;
            }

            return await ConcludeAsync(job, checkRunId, "neutral", "Review posted",
                "The review was posted on an earlier attempt; see the pull request's reviews.", cancellationToken) is JobOutcome.Completed done
                ? done with { ReviewId = earlier.ReviewId }
                : new JobOutcome.Retry("github", "Completing the check run failed");
        }

        if (!snapshot.Configured || !snapshot.Enabled)
        {
            return await ConcludeAsync(job, checkRunId, "skipped", "ReviewBot is not enabled for this installation",
                "Nothing was reviewed: ReviewBot is disabled or not configured for this installation. " +
                "Enable it and choose a provider, model and API key in the ReviewBot settings.", cancellationToken);
        }

        if (snapshot.ApiKeyProblem is { } keyProblem)
        {
            return await FailAsync(job, checkRunId, "The stored API key cannot be used", keyProblem, cancellationToken);
        }

        if (snapshot.ApiKey is null || string.IsNullOrWhiteSpace(snapshot.Model))
        {
            return await ConcludeAsync(job, checkRunId, "skipped", "No LLM API key configured",
                $"Nothing was reviewed: this installation has no {(snapshot.ApiKey is null ? "API key" : "model")} configured. " +
                "Set llmProvider, model and apiKey in the ReviewBot settings, then re-run this check.", cancellationToken);
        }

        var pr = await github.GetPullRequestAsync(job.InstallationId, job.RepoFullName, job.PrNumber, cancellationToken);
        if (!pr.IsOk)
        {
            return pr.Outcome == GitHubOutcome.NotFound
                ? await FailAsync(job, checkRunId, "Pull request not found", "The pull request no longer exists or ReviewBot can no longer see it.", cancellationToken)
                : GitHubRetryOrFail(pr.ToString(), pr.Outcome, pr.RetryAt, pr.RetryAfter);
        }

        var pull = pr.Value!;
        if (pull.State == "closed")
        {
            return await CancelAsync(job, checkRunId, "cancelled", "Pull request closed", "The pull request was closed before the review ran.", cancellationToken);
        }

        if (!string.Equals(pull.Head.Sha, job.CommitSha, StringComparison.OrdinalIgnoreCase))
        {
            return await CancelAsync(job, checkRunId, "superseded", "Superseded by a newer commit",
                $"The pull request's head moved to {Short(pull.Head.Sha)}; that commit gets its own review.", cancellationToken);
        }

        if (pull.Draft && !snapshot.ReviewDrafts)
        {
            return await ConcludeAsync(job, checkRunId, "skipped", "Draft pull request",
                "Drafts are not reviewed (reviewDrafts is off in the ReviewBot settings). The review runs when the pull request is marked ready for review.", cancellationToken);
        }

        // The hourly budget is spent only on reviews that will run: a closed, superseded or draft pull
        // request is concluded above without taking one of its slots.
        if (await store.TryStartWithinBudgetAsync(job, worker, snapshot.ReviewsPerHour, cancellationToken) is { } wait)
        {
            var at = time.GetUtcNow() + wait;
            var message = string.Create(CultureInfo.InvariantCulture,
                $"This installation's budget of {snapshot.ReviewsPerHour} reviews per hour is used up; this review will run at about {at:HH:mm} UTC.");
            var update = await UpdateCheckRunAsync(job, checkRunId, new UpdateCheckRunRequest
            {
                Status = "queued",
                Output = new CheckRunOutput { Title = "Waiting for the hourly review budget", Summary = message },
            }, cancellationToken);
            return update ?? new JobOutcome.Deferred(at, message);
        }

        var files = await github.ListPullRequestFilesAsync(job.InstallationId, job.RepoFullName, job.PrNumber, cancellationToken);
        if (!files.IsOk)
        {
            return GitHubRetryOrFail(files.ToString(), files.Outcome, files.RetryAt, files.RetryAfter);
        }

        var (incremental, coveredNote, compareRetry) = await IncrementalChangesAsync(job, cancellationToken);
        if (compareRetry is not null)
        {
            return compareRetry;
        }

        var input = new ReviewInput(job.RepoFullName, job.PrNumber, pull.Title, pull.Body, job.CommitSha,
            [.. files.Value!.Select(ToReviewFile)], incremental, coveredNote);
        var reviewSettings = new ReviewSettings(snapshot.Provider, snapshot.Model, snapshot.CustomInstructions, snapshot.IgnorePaths);
        var result = await engine.ReviewAsync(input, reviewSettings, llmClients.Create(snapshot.Provider, snapshot.ApiKey), cancellationToken);

        switch (result.Kind)
        {
            case ReviewResultKind.Failed when result.FailureOutcome == LlmOutcome.Transient:
                return new JobOutcome.Retry("llm", result.FailureMessage ?? "The LLM provider was unavailable.", result.RetryAfter)
                {
                    InputTokens = result.InputTokens,
                    OutputTokens = result.OutputTokens,
                };

            case ReviewResultKind.Failed:
                return await FailAsync(job, checkRunId, "Review failed", result.FailureMessage ?? "The review could not be produced.", cancellationToken) with
                {
                    InputTokens = result.InputTokens,
                    OutputTokens = result.OutputTokens,
                };

            case ReviewResultKind.NothingToReview:
                return await ConcludeAsync(job, checkRunId, "skipped", "Nothing to review", result.CheckRunSummary, cancellationToken) with
                {
                    InputTokens = result.InputTokens,
                    OutputTokens = result.OutputTokens,
                };
        }

        // A newer commit may have arrived while the model was thinking: its review replaces this one.
        if (await SupersededAsync(job, checkRunId, cancellationToken) is { } late)
        {
            return late with { InputTokens = result.InputTokens, OutputTokens = result.OutputTokens };
        }

        var posted = await PostOnceAsync(job, result, cancellationToken);
        if (posted.Retry is { } postRetry)
        {
            return postRetry with { InputTokens = result.InputTokens, OutputTokens = result.OutputTokens };
        }

        var conclusion = result.Comments.Count == 0 && result.UnanchoredCount == 0 && !result.Partial ? "success" : "neutral";
        var title = result.Comments.Count + result.UnanchoredCount == 0
            ? (result.Partial ? "Partial review: no findings in what was reviewed" : "No findings")
            : string.Create(CultureInfo.InvariantCulture, $"{result.Comments.Count + result.UnanchoredCount} finding(s){(result.Partial ? ", partial review" : "")}");
        var completed = await UpdateCheckRunAsync(job, checkRunId, new UpdateCheckRunRequest
        {
            Status = "completed",
            Conclusion = conclusion,
            CompletedAt = time.GetUtcNow(),
            Output = new CheckRunOutput { Title = title, Summary = result.CheckRunSummary },
        }, cancellationToken);
        if (completed is not null)
        {
            // The review is on GitHub; the next attempt finds its marker and only completes the check run.
            return completed with { InputTokens = result.InputTokens, OutputTokens = result.OutputTokens };
        }

        if (posted.New)
        {
            metrics.ReviewComments.WithLabels("posted").Inc(posted.InlineComments);
            metrics.ReviewComments.WithLabels("unanchored").Inc(result.UnanchoredCount + (result.Comments.Count - posted.InlineComments));
        }

        Log.ReviewCompleted(logger, Stopwatch.GetElapsedTime(started).TotalMilliseconds, snapshot.Provider.ToWireName(), snapshot.Model,
            result.InputTokens, result.OutputTokens, posted.InlineComments, result.UnanchoredCount + (result.Comments.Count - posted.InlineComments), conclusion, result.Partial);
        return new JobOutcome.Completed(conclusion, posted.ReviewId, posted.InlineComments, result.UnanchoredCount + (result.Comments.Count - posted.InlineComments))
        {
            InputTokens = result.InputTokens,
            OutputTokens = result.OutputTokens,
        };
    }

    public async Task OnGiveUpAsync(ClaimedJob job, string message, CancellationToken cancellationToken)
    {
        var checkRun = await EnsureCheckRunAsync(job, "in_progress", "Review failed", message, cancellationToken);
        if (checkRun.Id is { } id && await UpdateCheckRunAsync(job, id, Completed("failure", "Review failed", message), cancellationToken) is null)
        {
            await ConcludeDuplicateCheckRunsAsync(job, id, cancellationToken);
        }
    }

    // Once the job's own check run is concluded: any other check run of this job still open on GitHub
    // is concluded too, pointing at the one that reports. It exists when a create was answered to a
    // process that died before storing the id and was then not found (it landed after the next
    // attempt looked, or that attempt was a second worker running the job after the first lost its
    // lease); left alone it would stay in progress for ever, a required check that never ends. Best
    // effort: the review's own outcome stands whatever happens here.
    private async Task ConcludeDuplicateCheckRunsAsync(ClaimedJob job, long checkRunId, CancellationToken cancellationToken)
    {
        var listed = await github.ListCheckRunsForCommitAsync(job.InstallationId, job.RepoFullName, job.CommitSha, CheckRunName, cancellationToken);
        if (!listed.IsOk)
        {
            Log.DuplicatesNotChecked(logger, listed.ToString());
            return;
        }

        foreach (var duplicate in OwnCheckRuns(listed.Value!, job).Where(c => c.Id != checkRunId && c.Status != "completed"))
        {
            var concluded = await github.UpdateCheckRunAsync(job.InstallationId, job.RepoFullName, duplicate.Id,
                Completed("neutral", "Replaced", "This commit's review reports in another ReviewBot check run."), cancellationToken);
            Log.DuplicateConcluded(logger, duplicate.Id, checkRunId, concluded.IsOk ? "concluded" : concluded.ToString());
        }
    }

    // Creates the job's check run once and remembers its id on the job, so every retry updates the
    // same check run (CONTRACT §4).
    private async Task<(long? Id, JobOutcome.Retry? Retry)> EnsureCheckRunAsync(ClaimedJob job, string status, string title, string summary, CancellationToken cancellationToken)
    {
        if (job.CheckRunId is { } existing)
        {
            var update = await UpdateCheckRunAsync(job, existing, new UpdateCheckRunRequest
            {
                Status = status,
                Output = new CheckRunOutput { Title = title, Summary = summary },
            }, cancellationToken);
            return update is JobOutcome.Retry retry ? (null, retry) : (existing, null);
        }

        if (job.CheckRunMayExist)
        {
            // An earlier attempt, or the announcer (a queued check run), may have created the check run
            // and died before storing its id: find it by its external id (the job id) rather than leave
            // it behind and open a second one.
            var listed = await github.ListCheckRunsForCommitAsync(job.InstallationId, job.RepoFullName, job.CommitSha, CheckRunName, cancellationToken);
            if (!listed.IsOk && listed.Outcome != GitHubOutcome.NotFound)
            {
                return (null, GitHubRetry(listed.ToString(), listed.Outcome, listed.RetryAt, listed.RetryAfter));
            }

            // With more than one (see ConcludeDuplicateCheckRunsAsync), the newest reports.
            if (listed.IsOk && OwnCheckRuns(listed.Value!, job).MaxBy(c => c.Id) is { } earlier)
            {
                if (!await store.SetCheckRunAsync(job, worker, earlier.Id, cancellationToken))
                {
                    throw new JobLeaseLostException(job.Id);
                }

                return await EnsureCheckRunAsync(job with { CheckRunId = earlier.Id }, status, title, summary, cancellationToken);
            }
        }

        var created = await github.CreateCheckRunAsync(job.InstallationId, job.RepoFullName, new CreateCheckRunRequest
        {
            Name = CheckRunName,
            HeadSha = job.CommitSha,
            Status = status,
            ExternalId = job.Id.ToString(CultureInfo.InvariantCulture),
            StartedAt = time.GetUtcNow(),
            Output = new CheckRunOutput { Title = title, Summary = summary },
        }, cancellationToken);
        if (!created.IsOk)
        {
            return (null, GitHubRetry(created.ToString(), created.Outcome, created.RetryAt, created.RetryAfter));
        }

        if (!await store.SetCheckRunAsync(job, worker, created.Value!.Id, cancellationToken))
        {
            // Another worker runs the job now: it finds this check run by its external id, or
            // concludes it as a duplicate when it finishes (its claim marked the job, schema step 5).
            throw new JobLeaseLostException(job.Id);
        }

        return (created.Value.Id, null);
    }

    // This job's check runs among those listed for its commit: the ones whose external_id is the job id.
    private static IEnumerable<CheckRun> OwnCheckRuns(CheckRunList listed, ClaimedJob job)
    {
        var externalId = job.Id.ToString(CultureInfo.InvariantCulture);
        return listed.CheckRuns.Where(c => c.ExternalId == externalId);
    }

    // Returns null on success, otherwise the outcome to return (retry).
    private async Task<JobOutcome?> UpdateCheckRunAsync(ClaimedJob job, long checkRunId, UpdateCheckRunRequest update, CancellationToken cancellationToken)
    {
        var result = await github.UpdateCheckRunAsync(job.InstallationId, job.RepoFullName, checkRunId, update, cancellationToken);
        return result.IsOk ? null : GitHubRetry(result.ToString(), result.Outcome, result.RetryAt, result.RetryAfter);
    }

    private async Task<JobOutcome> ConcludeAsync(ClaimedJob job, long checkRunId, string conclusion, string title, string summary, CancellationToken cancellationToken) =>
        await UpdateCheckRunAsync(job, checkRunId, Completed(conclusion, title, summary), cancellationToken)
        ?? new JobOutcome.Completed(conclusion, Note: summary.Length > 500 ? summary[..500] : summary);

    private async Task<JobOutcome> FailAsync(ClaimedJob job, long checkRunId, string title, string message, CancellationToken cancellationToken) =>
        await UpdateCheckRunAsync(job, checkRunId, Completed("failure", title, message), cancellationToken)
        ?? new JobOutcome.Failed(message);

    private async Task<JobOutcome> CancelAsync(ClaimedJob job, long checkRunId, string status, string title, string message, CancellationToken cancellationToken) =>
        await UpdateCheckRunAsync(job, checkRunId, Completed("cancelled", title, message), cancellationToken)
        ?? new JobOutcome.Cancelled(status, message);

    private UpdateCheckRunRequest Completed(string conclusion, string title, string summary) => new()
    {
        Status = "completed",
        Conclusion = conclusion,
        CompletedAt = time.GetUtcNow(),
        Output = new CheckRunOutput { Title = title, Summary = summary },
    };

    // After the model answered: a push while it worked makes this review stale. GitHub's head decides,
    // not the jobs table: a job made pending again for an earlier commit (a force push back to it) or a
    // re-run of an older commit would otherwise count as "newer" than the head's own review. When GitHub
    // cannot say, the review is posted: it was current when it started.
    private async Task<JobOutcome?> SupersededAsync(ClaimedJob job, long checkRunId, CancellationToken cancellationToken)
    {
        if (job.RunId is not null)
        {
            return null;
        }

        var pr = await github.GetPullRequestAsync(job.InstallationId, job.RepoFullName, job.PrNumber, cancellationToken);
        if (!pr.IsOk || string.Equals(pr.Value!.Head.Sha, job.CommitSha, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return await CancelAsync(job, checkRunId, "superseded", "Superseded by a newer commit",
            $"The pull request's head moved to {Short(pr.Value.Head.Sha)} while this commit was being reviewed; that commit gets its own review.", cancellationToken);
    }

    // On synchronize after a completed review, only the commits since the reviewed SHA are shown to
    // the model (compare API); after a force push that rewrote history, or on an explicit re-run, the
    // whole pull request is reviewed again.
    private async Task<(IReadOnlyList<ReviewFile>? Files, string? Note, JobOutcome? Retry)> IncrementalChangesAsync(ClaimedJob job, CancellationToken cancellationToken)
    {
        if (job.RunId is not null || job.Trigger != "synchronize" || await store.LastReviewedShaAsync(job, cancellationToken) is not { } reviewed)
        {
            return (null, job.RunId is null ? null : "Re-run requested: the whole pull request was reviewed again.", null);
        }

        var compare = await github.CompareCommitsAsync(job.InstallationId, job.RepoFullName, reviewed, job.CommitSha, cancellationToken);
        if (!compare.IsOk)
        {
            return compare.Outcome == GitHubOutcome.NotFound
                ? (null, $"The previously reviewed commit {Short(reviewed)} is gone; the whole pull request was reviewed.", null)
                : (null, null, GitHubRetryOrFail(compare.ToString(), compare.Outcome, compare.RetryAt, compare.RetryAfter));
        }

        var result = compare.Value!;
        if (result.Status != "ahead")
        {
            return (null, $"History was rewritten since the last review ({Short(reviewed)} is no longer an ancestor); the whole pull request was reviewed.", null);
        }

        var note = new StringBuilder();
        note.Append(CultureInfo.InvariantCulture, $"Reviewed the {result.TotalCommits} commit(s) since the last review ({Short(reviewed)}..{Short(job.CommitSha)}):");
        foreach (var commit in result.Commits.TakeLast(20))
        {
            var subject = commit.Commit.Message.Split('\n', 2)[0];
            note.Append(CultureInfo.InvariantCulture, $"\n- {Short(commit.Sha)} {(subject.Length > 80 ? subject[..80] + "…" : subject)}");
        }

        return ([.. result.Files.Select(ToReviewFile)], note.ToString(), null);
    }

    private async Task<(long? ReviewId, JobOutcome.Retry? Retry)?> FindPostedReviewAsync(ClaimedJob job, CancellationToken cancellationToken)
    {
        var existing = await github.ListReviewsAsync(job.InstallationId, job.RepoFullName, job.PrNumber, cancellationToken);
        if (!existing.IsOk)
        {
            return (null, GitHubRetry(existing.ToString(), existing.Outcome, existing.RetryAt, existing.RetryAfter) as JobOutcome.Retry
                ?? new JobOutcome.Retry("github", existing.ToString()));
        }

        return existing.Value!.FirstOrDefault(r => r.Body?.Contains(job.ReviewMarker, StringComparison.Ordinal) == true) is { } found
            ? (found.Id, null)
            : null;
    }

    // GitHub's create-review call has no idempotency key, so before every attempt to post, look for
    // this job's marker among the pull request's reviews: a review GitHub accepted on an attempt that
    // then crashed or timed out is found and never posted twice.
    private async Task<(long? ReviewId, int InlineComments, bool New, JobOutcome.Retry? Retry)> PostOnceAsync(ClaimedJob job, ReviewResult result, CancellationToken cancellationToken)
    {
        await using var posting = await store.LockPostingAsync(job, cancellationToken);
        if (await FindPostedReviewAsync(job, cancellationToken) is { } found)
        {
            if (found.Retry is { } retry)
            {
                return (null, 0, false, retry);
            }

            Log.AlreadyPosted(logger, found.ReviewId!.Value);
            return (found.ReviewId, result.Comments.Count, false, null);
        }

        var body = result.Body.TrimEnd() + "\n\n" + job.ReviewMarker;
        var created = await github.CreateReviewAsync(job.InstallationId, job.RepoFullName, job.PrNumber, new CreateReviewRequest
        {
            CommitId = job.CommitSha,
            Body = body,
            Event = "COMMENT",
            Comments = result.Comments.Count == 0 ? null : [.. result.Comments.Select(ToRequest)],
        }, cancellationToken);

        if (created.Outcome == GitHubOutcome.Unprocessable && result.Comments.Count > 0)
        {
            // Anchoring checks every comment against the diff, so this should not happen; if GitHub still
            // refuses one (the diff changed under us), post the findings in the body rather than lose them.
            Log.ReviewRejected(logger, created.Message ?? "422");
            var head = result.Body.TrimEnd();
            var fallback = head + "\n\n" + InlineAsText(result.Comments, MaxReviewBody - head.Length - job.ReviewMarker.Length - 8) + "\n\n" + job.ReviewMarker;
            created = await github.CreateReviewAsync(job.InstallationId, job.RepoFullName, job.PrNumber, new CreateReviewRequest
            {
                CommitId = job.CommitSha,
                Body = fallback,
                Event = "COMMENT",
            }, cancellationToken);
            return created.IsOk
                ? (created.Value!.Id, 0, true, null)
                : (null, 0, false, GitHubRetry(created.ToString(), created.Outcome, created.RetryAt, created.RetryAfter) as JobOutcome.Retry ?? new JobOutcome.Retry("github", created.ToString()));
        }

        if (!created.IsOk)
        {
            // A 5xx or timeout may hide a review GitHub did create: the retry looks for the marker first.
            return (null, 0, false, GitHubRetry(created.ToString(), created.Outcome, created.RetryAt, created.RetryAfter) as JobOutcome.Retry
                ?? new JobOutcome.Retry("github", created.ToString()));
        }

        return (created.Value!.Id, result.Comments.Count, true, null);
    }

    // GitHub refuses a review body over 65,536 characters: the fallback's findings stop within what
    // the review body leaves, so that the one post that carries them is not refused in turn.
    private const int MaxReviewBody = 65_536;

    internal static string InlineAsText(IReadOnlyList<InlineComment> comments, int budget)
    {
        const string More = "\n- …and {0} more finding(s), left out: one GitHub review body cannot hold them all.\n";
        var text = new StringBuilder("### Findings GitHub would not attach to lines\n");
        var limit = budget - More.Length - 10;
        var shown = 0;
        foreach (var group in comments.GroupBy(c => c.Path))
        {
            var heading = $"\n**`{group.Key}`**\n";
            foreach (var c in group)
            {
                var line = $"\n- line {c.Line}: {c.Body}\n";
                if (text.Length + heading.Length + line.Length > limit)
                {
                    text.AppendFormat(CultureInfo.InvariantCulture, More, comments.Count - shown);
                    return text.ToString();
                }

                text.Append(heading).Append(line);
                heading = "";
                shown++;
            }
        }

        return text.ToString();
    }

    private static ReviewCommentRequest ToRequest(InlineComment c) => new()
    {
        Path = c.Path,
        Body = c.Body,
        Line = c.Line,
        Side = c.Side,
        StartLine = c.StartLine,
        StartSide = c.StartLine is null ? null : c.StartSide,
    };

    private static ReviewFile ToReviewFile(GitHubFile f) => new(f.Filename, f.PreviousFilename, f.Status, f.Patch, f.Changes);

    // A GitHub failure while doing the job: rate limits and transient errors retry (rate limits
    // without using up an attempt); anything else is retried too, since a 4xx here (other than 404,
    // handled where it means something) usually means GitHub is briefly inconsistent.
    private JobOutcome.Retry GitHubRetry(string message, GitHubOutcome outcome, DateTimeOffset? retryAt, TimeSpan? retryAfter)
    {
        return outcome switch
        {
            GitHubOutcome.RateLimited => new JobOutcome.Retry("rate_limit", "GitHub rate limit: " + message,
                retryAt is { } at ? at - time.GetUtcNow() : retryAfter ?? TimeSpan.FromMinutes(1), CountsAsAttempt: false),
            _ => new JobOutcome.Retry("github", "GitHub: " + message, retryAfter),
        };
    }

    private JobOutcome GitHubRetryOrFail(string message, GitHubOutcome outcome, DateTimeOffset? retryAt, TimeSpan? retryAfter) =>
        outcome is GitHubOutcome.Unauthorized or GitHubOutcome.Forbidden
            ? new JobOutcome.Failed($"GitHub refused access ({message}). Check that the ReviewBot App is installed on this repository with the pull requests, contents and checks permissions.")
            : GitHubRetry(message, outcome, retryAt, retryAfter);

    private static string Short(string sha) => sha.Length > 7 ? sha[..7] : sha;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "review_completed in {DurationMs:F0} ms with {Provider} {Model}: {InputTokens} input and {OutputTokens} output tokens, {CommentsPosted} comment(s) posted, {CommentsUnanchored} in the body, conclusion {Conclusion}, partial {Partial}", EventName = "review_completed")]
        public static partial void ReviewCompleted(ILogger logger, double durationMs, string provider, string model, int inputTokens, int outputTokens, int commentsPosted, int commentsUnanchored, string conclusion, bool partial);

        [LoggerMessage(2, LogLevel.Information, "Review already posted as {ReviewId}: not posting again")]
        public static partial void AlreadyPosted(ILogger logger, long reviewId);

        [LoggerMessage(3, LogLevel.Warning, "GitHub rejected the review's inline comments ({Reason}); posting the findings in the review body instead")]
        public static partial void ReviewRejected(ILogger logger, string reason);

        [LoggerMessage(4, LogLevel.Warning, "Check run {DuplicateCheckRunId} of this job was left open by an earlier attempt; concluding it as replaced by {CheckRunId}: {Result}")]
        public static partial void DuplicateConcluded(ILogger logger, long duplicateCheckRunId, long checkRunId, string result);

        [LoggerMessage(5, LogLevel.Warning, "Could not look for check runs an earlier attempt left open ({Reason})")]
        public static partial void DuplicatesNotChecked(ILogger logger, string reason);
    }
}
