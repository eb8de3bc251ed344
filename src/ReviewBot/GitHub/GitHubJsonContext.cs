using System.Text.Json.Serialization;

namespace ReviewBot.GitHub;

// GitHub REST wire types (docs.github.com/en/rest), only the members ReviewBot reads or writes.
// Requests leave null members out: GitHub's request schemas reject `null` for optional fields.

internal sealed record InstallationToken(string Token, DateTimeOffset ExpiresAt);

internal sealed record GitHubError(string? Message, string? DocumentationUrl);

internal sealed record PullRequest
{
    public int Number { get; init; }
    public string Title { get; init; } = "";
    public string? Body { get; init; }
    public string State { get; init; } = "";
    public bool Draft { get; init; }
    public PullRequestRef Head { get; init; } = new();
    public PullRequestRef Base { get; init; } = new();
}

internal sealed record PullRequestRef
{
    public string Sha { get; init; } = "";
    public string Ref { get; init; } = "";
    public RepositorySummary? Repo { get; init; }
}

internal sealed record RepositorySummary
{
    public long Id { get; init; }
    public string FullName { get; init; } = "";
    public bool Fork { get; init; }
}

internal sealed record PullRequestFile
{
    public string Filename { get; init; } = "";
    public string? PreviousFilename { get; init; }

    // added | removed | modified | renamed | copied | changed | unchanged
    public string Status { get; init; } = "";

    // Absent for binary files and for patches GitHub considers too large.
    public string? Patch { get; init; }
    public int Changes { get; init; }
    public int Additions { get; init; }
    public int Deletions { get; init; }
}

internal sealed record CompareResult
{
    // ahead | behind | diverged | identical
    public string Status { get; init; } = "";
    public int AheadBy { get; init; }
    public int BehindBy { get; init; }
    public int TotalCommits { get; init; }
    public IReadOnlyList<CompareCommit> Commits { get; init; } = [];
    public IReadOnlyList<PullRequestFile> Files { get; init; } = [];
}

internal sealed record CompareCommit
{
    public string Sha { get; init; } = "";
    public CommitDetail Commit { get; init; } = new();
}

internal sealed record CommitDetail
{
    public string Message { get; init; } = "";
}

internal sealed record PullRequestReview
{
    public long Id { get; init; }
    public string? Body { get; init; }
    public string State { get; init; } = "";
    public string? CommitId { get; init; }
    public GitHubUser? User { get; init; }
}

internal sealed record GitHubUser
{
    public long Id { get; init; }
    public string Login { get; init; } = "";
    public string? Type { get; init; }
}

// POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews ("Create a review for a pull request").
internal sealed record CreateReviewRequest
{
    public string? CommitId { get; init; }
    public string? Body { get; init; }

    // Always COMMENT (CONTRACT §4): never APPROVE or REQUEST_CHANGES.
    public string Event { get; init; } = "COMMENT";
    public IReadOnlyList<ReviewCommentRequest>? Comments { get; init; }
}

internal sealed record ReviewCommentRequest
{
    public required string Path { get; init; }
    public required string Body { get; init; }
    public int? Line { get; init; }

    // LEFT | RIGHT
    public string? Side { get; init; }
    public int? StartLine { get; init; }
    public string? StartSide { get; init; }
}

internal sealed record CheckRunOutput
{
    public required string Title { get; init; }
    public required string Summary { get; init; }
    public string? Text { get; init; }
}

// POST /repos/{owner}/{repo}/check-runs ("Create a check run").
internal sealed record CreateCheckRunRequest
{
    public required string Name { get; init; }
    public required string HeadSha { get; init; }

    // queued | in_progress | completed
    public string? Status { get; init; }
    public string? ExternalId { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public string? Conclusion { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
    public CheckRunOutput? Output { get; init; }
}

// PATCH /repos/{owner}/{repo}/check-runs/{check_run_id} ("Update a check run").
internal sealed record UpdateCheckRunRequest
{
    public string? Status { get; init; }

    // success | neutral | failure | skipped | cancelled (required by GitHub with completed_at)
    public string? Conclusion { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
    public CheckRunOutput? Output { get; init; }
}

// GET /repos/{owner}/{repo}/commits/{ref}/check-runs ("List check runs for a Git reference").
internal sealed record CheckRunList
{
    public int TotalCount { get; init; }
    public IReadOnlyList<CheckRun> CheckRuns { get; init; } = [];
}

internal sealed record CheckRun
{
    public long Id { get; init; }
    public string Name { get; init; } = "";
    public string HeadSha { get; init; } = "";
    public string Status { get; init; } = "";
    public string? Conclusion { get; init; }
    public string? ExternalId { get; init; }
    public string? HtmlUrl { get; init; }
}

// GET /app/hook/deliveries ("List deliveries for an app webhook").
internal sealed record HookDelivery
{
    public long Id { get; init; }
    public string Guid { get; init; } = "";
    public DateTimeOffset DeliveredAt { get; init; }
    public bool Redelivery { get; init; }
    public string Status { get; init; } = "";
    public int StatusCode { get; init; }
    public string Event { get; init; } = "";
    public string? Action { get; init; }
    public long? InstallationId { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(InstallationToken))]
[JsonSerializable(typeof(GitHubError))]
[JsonSerializable(typeof(PullRequest))]
[JsonSerializable(typeof(List<PullRequestFile>))]
[JsonSerializable(typeof(CompareResult))]
[JsonSerializable(typeof(List<PullRequestReview>))]
[JsonSerializable(typeof(PullRequestReview))]
[JsonSerializable(typeof(CreateReviewRequest))]
[JsonSerializable(typeof(CreateCheckRunRequest))]
[JsonSerializable(typeof(UpdateCheckRunRequest))]
[JsonSerializable(typeof(CheckRun))]
[JsonSerializable(typeof(CheckRunList))]
[JsonSerializable(typeof(List<HookDelivery>))]
internal sealed partial class GitHubJsonContext : JsonSerializerContext;
