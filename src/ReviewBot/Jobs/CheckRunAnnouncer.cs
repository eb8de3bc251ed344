using System.Globalization;
using Npgsql;
using ReviewBot.GitHub;

namespace ReviewBot.Jobs;

// Gives a job that waits for a slot (its installation at REVIEW_CONCURRENCY_PER_INSTALLATION, every
// worker busy) its check run early, as `queued`, so the pull request shows that ReviewBot has the
// commit instead of nothing until a worker takes it (CONTRACT §4: "queued as early as practical").
// The intake does not call GitHub (it answers within GitHub's 10 s from the database alone), so this
// runs beside the workers: every AnnounceInterval it takes up to AnnounceBatchSize jobs that have
// waited AnnounceAfter without a check run, creates the queued check run (external id = job id) and
// stores its id; the worker that takes the job later moves that same check run to in_progress.
//
// Never two check runs for one job: taking a job marks it (check_run_announced_at), and workers do not
// claim a marked job without a check run id for 30 s; a create is given 10 s. After that, or after a
// crash between create and store, the worker looks the check run up by its external id before
// creating one. A job superseded or cancelled at intake while its check run was being created gets
// that check run concluded here, since nothing else knows of it.
internal sealed partial class CheckRunAnnouncer(
    JobStore store,
    GitHubClient github,
    JobSignal signal,
    JobPresence presence,
    JobQueueTuning tuning,
    TimeProvider time,
    ILogger<CheckRunAnnouncer> logger) : BackgroundService
{
    private static readonly TimeSpan CreateTimeout = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(tuning.AnnounceInterval, time);
        while (await JobSignal.TickAsync(timer, stoppingToken))
        {
            if (!presence.IsHeld)
            {
                continue;
            }

            try
            {
                await AnnounceWaitingAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                Log.PassFailed(logger, ex.GetType().Name);
            }
        }
    }

    private async Task AnnounceWaitingAsync(CancellationToken cancellationToken)
    {
        var jobs = await store.TakeForAnnouncementAsync(tuning.AnnounceAfter, tuning.AnnounceBatchSize, cancellationToken);
        for (var i = 0; i < jobs.Count; i++)
        {
            // The pass's earlier creates took time: this job's 30 s restart now, or a worker has it.
            if (i > 0 && !await store.RenewAnnouncementAsync(jobs[i].Id, cancellationToken))
            {
                continue;
            }

            if (!await AnnounceAsync(jobs[i], cancellationToken))
            {
                // GitHub is failing: stop asking this pass, and let workers take these jobs now instead
                // of after the 30 s an announcement may take.
                await store.AnnouncementGaveUpAsync([.. jobs.Skip(i).Select(j => j.Id)], cancellationToken);
                break;
            }
        }

        if (jobs.Count > 0)
        {
            // Marked jobs were kept from the claim meanwhile: they may be claimed now.
            signal.Wake();
        }
    }

    // False when GitHub failed; true when the check run was created (and stored, or concluded because
    // the job no longer waits).
    private async Task<bool> AnnounceAsync(WaitingJob job, CancellationToken cancellationToken)
    {
        GitHubResult<CheckRun> created;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(CreateTimeout);
            try
            {
                created = await github.CreateCheckRunAsync(job.InstallationId, job.RepoFullName, new CreateCheckRunRequest
                {
                    Name = ReviewJobHandler.CheckRunName,
                    HeadSha = job.CommitSha,
                    Status = "queued",
                    ExternalId = job.Id.ToString(CultureInfo.InvariantCulture),
                    Output = new CheckRunOutput
                    {
                        Title = "Queued",
                        Summary = "ReviewBot has this commit and will review it as soon as a review slot for this installation is free.",
                    },
                }, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Log.CreateFailed(logger, job.Id, "no answer within 10 s");
                return false;
            }
        }

        if (!created.IsOk)
        {
            // The worker creates the check run when it takes the job, as without an announcement.
            Log.CreateFailed(logger, job.Id, created.ToString());
            return false;
        }

        var checkRunId = created.Value!.Id;
        var (stored, status, existing) = await store.AnnouncedAsync(job.Id, checkRunId, cancellationToken);
        if (stored && status == "pending")
        {
            Log.Announced(logger, job.Id, checkRunId);
            return true;
        }

        if (existing == checkRunId)
        {
            return true;
        }

        if (!stored && existing is null && status is "processing" or "pending")
        {
            // A worker took the job meanwhile: it adopts this check run by its external id, or concludes
            // it as a duplicate when it finishes (the job is marked, schema step 5). "pending" here is the
            // statement's snapshot from before a claim it waited for.
            Log.LeftToWorker(logger, job.Id, checkRunId);
            return true;
        }

        // The job has another check run, was superseded or cancelled meanwhile, or is gone: this one
        // would otherwise stay queued for ever.
        var (conclusion, title, summary) = status switch
        {
            _ when existing is not null => ("neutral", "Replaced", "This commit's review reports in another ReviewBot check run."),
            "superseded" => ("cancelled", "Superseded by a newer commit", "A newer commit was pushed before this one was reviewed; that commit gets its own review."),
            "cancelled" => ("cancelled", "Not reviewed", "The pull request was closed before the review ran."),
            _ => ("cancelled", "Not reviewed", "This review is no longer queued."),
        };
        var concluded = await github.UpdateCheckRunAsync(job.InstallationId, job.RepoFullName, checkRunId, new UpdateCheckRunRequest
        {
            Status = "completed",
            Conclusion = conclusion,
            CompletedAt = time.GetUtcNow(),
            Output = new CheckRunOutput { Title = title, Summary = summary },
        }, cancellationToken);
        if (!concluded.IsOk)
        {
            Log.ConcludeFailed(logger, job.Id, checkRunId, concluded.ToString());
        }

        return true;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Job {JobId} waits for a slot: queued check run {CheckRunId} created")]
        public static partial void Announced(ILogger logger, long jobId, long checkRunId);

        [LoggerMessage(2, LogLevel.Warning, "Could not create the queued check run of job {JobId} ({Result}); it gets one when a worker takes it")]
        public static partial void CreateFailed(ILogger logger, long jobId, string result);

        [LoggerMessage(3, LogLevel.Warning, "Could not conclude queued check run {CheckRunId} of job {JobId}, which no longer waits ({Result})")]
        public static partial void ConcludeFailed(ILogger logger, long jobId, long checkRunId, string result);

        [LoggerMessage(4, LogLevel.Warning, "Looking for jobs waiting without a check run failed ({ErrorType}); trying again shortly")]
        public static partial void PassFailed(ILogger logger, string errorType);

        [LoggerMessage(5, LogLevel.Information, "Job {JobId} was taken by a worker while its queued check run {CheckRunId} was created; the worker reports in it or concludes it")]
        public static partial void LeftToWorker(ILogger logger, long jobId, long checkRunId);
    }
}
