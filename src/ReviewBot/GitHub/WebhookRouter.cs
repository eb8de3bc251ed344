using System.Globalization;
using ReviewBot.Jobs;

namespace ReviewBot.GitHub;

// What a verified delivery asks ReviewBot to do (CONTRACT §4), decided from the headers and payload
// alone: the handler never calls GitHub, so whatever the payload lacks (the head SHA of an
// issue_comment) is left for the job to resolve.
internal abstract record WebhookAction
{
    public sealed record Ignore(string Reason) : WebhookAction;

    public sealed record Enqueue(ReviewRequest Request) : WebhookAction;

    // A re-run of ReviewBot's check whose payload names no pull request (GitHub sends
    // check_run.pull_requests empty when the head branch is in a fork): the check run's external_id is
    // the job that created it, which knows the pull request. Resolved against the database on intake.
    public sealed record RerunJob(long InstallationId, long RepoId, string Repo, string HeadSha, long JobId, string DeliveryId) : WebhookAction;

    public sealed record CancelPullRequest(long InstallationId, long RepoId, string Repo, int PrNumber) : WebhookAction;

    public sealed record ChangeInstallation(InstallationChange Change) : WebhookAction;

    // A field the action needs is missing or empty: 400, nothing stored.
    public sealed record Invalid(string Message) : WebhookAction;
}

internal static class WebhookRouter
{
    public const string CheckRunName = "ReviewBot";
    public const string ReviewCommand = "@reviewbot review";

    // The metric's event label is a closed set; anything else is "other".
    public static string EventLabel(string? gitHubEvent) => gitHubEvent switch
    {
        "pull_request" or "installation" or "installation_repositories" or "check_run" or "issue_comment" or "ping" => gitHubEvent,
        _ => "other",
    };

    public static WebhookAction Route(string gitHubEvent, WebhookPayload payload, long appId, string deliveryId) => gitHubEvent switch
    {
        "ping" => new WebhookAction.Ignore("ping"),
        "pull_request" => PullRequest(payload),
        "installation" => Installation(payload),
        "installation_repositories" => InstallationRepositories(payload),
        "check_run" => CheckRun(payload, appId, deliveryId),
        "issue_comment" => IssueComment(payload, deliveryId),
        _ => new WebhookAction.Ignore($"event {EventLabel(gitHubEvent)} is not handled"),
    };

    // "pull_request" (docs.github.com/en/webhooks/webhook-events-and-payloads#pull_request).
    // Drafts are enqueued too: the runner decides from the installation's reviewDrafts setting.
    private static WebhookAction PullRequest(WebhookPayload payload)
    {
        var action = payload.Action;
        if (action is not ("opened" or "reopened" or "synchronize" or "ready_for_review" or "closed"))
        {
            return new WebhookAction.Ignore($"pull_request {action} is not handled");
        }

        if (payload.Installation is not { Id: > 0 } installation)
        {
            // A repository webhook (not the App's) carries no installation: nothing to review with.
            return new WebhookAction.Ignore("pull_request without installation");
        }

        if (RepositoryError(payload.Repository) is { } repoError)
        {
            return new WebhookAction.Invalid(repoError);
        }

        var repo = payload.Repository!;
        if (payload.PullRequest is not { Number: > 0 } pr)
        {
            return new WebhookAction.Invalid("pull_request.number is required");
        }

        if (action == "closed")
        {
            return new WebhookAction.CancelPullRequest(installation.Id, repo.Id, repo.FullName!, pr.Number);
        }

        if (string.IsNullOrEmpty(pr.Head?.Sha))
        {
            return new WebhookAction.Invalid("pull_request.head.sha is required");
        }

        var sha = pr.Head.Sha;
        var key = action == "ready_for_review"
            ? DedupeKey.ForReady(repo.Id, pr.Number, sha)
            : DedupeKey.ForCommit(repo.Id, pr.Number, sha);
        return new WebhookAction.Enqueue(new ReviewRequest(
            installation.Id, repo.Id, repo.FullName!, pr.Number, StorableText(pr.Title), sha, pr.Base?.Ref ?? "", action, null, key));
    }

    // A title is free text: JSON may carry U+0000, which PostgreSQL's text type refuses. Stored as
    // U+FFFD so the delivery is not refused (and redelivered, and refused again) over one character.
    private static string StorableText(string? value) =>
        value is null ? "" : value.Contains('\0', StringComparison.Ordinal) ? value.Replace('\0', '\uFFFD') : value;

    // "check_run" rerequested: only ReviewBot's own check (its app id, or its name for checks created
    // before an App id change) starts a fresh review of the whole pull request.
    private static WebhookAction CheckRun(WebhookPayload payload, long appId, string deliveryId)
    {
        if (payload.Action != "rerequested")
        {
            return new WebhookAction.Ignore($"check_run {payload.Action} is not handled");
        }

        if (payload.CheckRun is not { } checkRun)
        {
            return new WebhookAction.Invalid("check_run is required");
        }

        if (checkRun.App?.Id != appId && checkRun.Name != CheckRunName)
        {
            return new WebhookAction.Ignore("check_run of another app");
        }

        if (payload.Installation is not { Id: > 0 } installation)
        {
            return new WebhookAction.Ignore("check_run without installation");
        }

        if (RepositoryError(payload.Repository) is { } repoError)
        {
            return new WebhookAction.Invalid(repoError);
        }

        var repo = payload.Repository!;
        if (checkRun.PullRequests is not [{ Number: > 0 } pr, ..])
        {
            // A fork's pull request: GitHub lists no pull requests for a head branch in another repository.
            return long.TryParse(checkRun.ExternalId, NumberStyles.None, CultureInfo.InvariantCulture, out var jobId) && jobId > 0
                && checkRun.HeadSha is { Length: > 0 } headSha
                ? new WebhookAction.RerunJob(installation.Id, repo.Id, repo.FullName!, headSha, jobId, deliveryId)
                : new WebhookAction.Ignore("check_run without pull request");
        }

        return Rerun(installation.Id, repo.Id, repo.FullName!, pr.Number, checkRun.HeadSha ?? pr.Head?.Sha ?? "", pr.Base?.Ref ?? "", deliveryId);
    }

    // A re-run of ReviewBot's check on a pull request: from the payload, or (a fork's) from the job
    // behind the check run (WebhookAction.RerunJob, resolved on intake).
    internal static WebhookAction.Enqueue Rerun(long installationId, long repoId, string repo, int prNumber, string sha, string baseBranch, string deliveryId) =>
        new(new ReviewRequest(installationId, repoId, repo, prNumber, "", sha, baseBranch, "rerequested", deliveryId,
            DedupeKey.ForRun(repoId, prNumber, sha, deliveryId)));

    // "issue_comment" created on a pull request (issue.pull_request present) whose body starts with
    // the command. The payload has no head SHA: the job resolves it (commit_sha stays empty).
    private static WebhookAction IssueComment(WebhookPayload payload, string deliveryId)
    {
        if (payload.Action != "created")
        {
            return new WebhookAction.Ignore($"issue_comment {payload.Action} is not handled");
        }

        if (payload.Issue is not { } issue || payload.Comment is not { } comment)
        {
            return new WebhookAction.Invalid("issue and comment are required");
        }

        if (issue.PullRequest is null || issue.PullRequest.Value.ValueKind != System.Text.Json.JsonValueKind.Object)
        {
            return new WebhookAction.Ignore("comment on an issue, not a pull request");
        }

        if (!(comment.Body ?? "").TrimStart().StartsWith(ReviewCommand, StringComparison.OrdinalIgnoreCase))
        {
            return new WebhookAction.Ignore("comment is not a ReviewBot command");
        }

        if (payload.Installation is not { Id: > 0 } installation)
        {
            return new WebhookAction.Ignore("issue_comment without installation");
        }

        if (RepositoryError(payload.Repository) is { } repoError)
        {
            return new WebhookAction.Invalid(repoError);
        }

        if (issue.Number <= 0)
        {
            return new WebhookAction.Invalid("issue.number is required");
        }

        var repo = payload.Repository!;
        return new WebhookAction.Enqueue(new ReviewRequest(
            installation.Id, repo.Id, repo.FullName!, issue.Number, StorableText(issue.Title), "", "", "comment", deliveryId,
            DedupeKey.ForRun(repo.Id, issue.Number, "", deliveryId)));
    }

    // "installation" (docs.github.com/en/webhooks/webhook-events-and-payloads#installation).
    private static WebhookAction Installation(WebhookPayload payload)
    {
        if (payload.Installation is not { Id: > 0 } installation)
        {
            return new WebhookAction.Invalid("installation.id is required");
        }

        var kind = payload.Action switch
        {
            "created" or "new_permissions_accepted" => InstallationChangeKind.Upsert,
            "deleted" => InstallationChangeKind.Deleted,
            "suspend" => InstallationChangeKind.Suspended,
            "unsuspend" => InstallationChangeKind.Unsuspended,
            _ => (InstallationChangeKind?)null,
        };
        if (kind is null)
        {
            return new WebhookAction.Ignore($"installation {payload.Action} is not handled");
        }

        var repositories = Repositories(payload.Repositories);
        return repositories is null
            ? new WebhookAction.Invalid("repositories[].id and full_name are required")
            : new WebhookAction.ChangeInstallation(new InstallationChange(
                kind.Value, installation.Id, installation.Account?.Login ?? "", installation.Account?.Type ?? "", repositories, []));
    }

    private static WebhookAction InstallationRepositories(WebhookPayload payload)
    {
        if (payload.Action is not ("added" or "removed"))
        {
            return new WebhookAction.Ignore($"installation_repositories {payload.Action} is not handled");
        }

        if (payload.Installation is not { Id: > 0 } installation)
        {
            return new WebhookAction.Invalid("installation.id is required");
        }

        var added = Repositories(payload.RepositoriesAdded);
        var removed = Repositories(payload.RepositoriesRemoved);
        return added is null || removed is null
            ? new WebhookAction.Invalid("repositories_added[] and repositories_removed[] need id and full_name")
            : new WebhookAction.ChangeInstallation(new InstallationChange(
                InstallationChangeKind.Upsert, installation.Id, installation.Account?.Login ?? "", installation.Account?.Type ?? "",
                added, removed.Select(r => r.Id).ToArray()));
    }

    private static List<RepositoryRef>? Repositories(IReadOnlyList<WebhookRepository>? repositories)
    {
        var result = new List<RepositoryRef>();
        foreach (var r in repositories ?? [])
        {
            if (r is null || r.Id <= 0 || string.IsNullOrEmpty(r.FullName))
            {
                return null;
            }

            result.Add(new RepositoryRef(r.Id, r.FullName));
        }

        return result;
    }

    private static string? RepositoryError(WebhookRepository? repository) =>
        repository is { Id: > 0, FullName.Length: > 0 } ? null : "repository.id and repository.full_name are required";
}
