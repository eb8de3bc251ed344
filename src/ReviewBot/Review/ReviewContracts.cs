using ReviewBot.Llm;

namespace ReviewBot.Review;

// The engine's API as the job runner sees it. Review/ never calls GitHub or the database: the
// caller fetches the files and posts the result.

// One entry of GitHub's "List pull requests files" (or the compare API's `files`).
// Status: added|removed|modified|renamed|copied|changed|unchanged. Patch is null when GitHub
// withholds it (binary, or too large). https://docs.github.com/en/rest/pulls/pulls#list-pull-requests-files
internal sealed record PullRequestFile(string Path, string? PreviousPath, string Status, string? Patch, int Changes);

internal sealed record ReviewInput(
    string RepoFullName,
    int Number,
    string Title,
    string? Body,
    string HeadSha,
    IReadOnlyList<PullRequestFile> Files,              // the PR's full diff at head: the anchoring targets
    IReadOnlyList<PullRequestFile>? IncrementalFiles,  // when not null: only these changes are shown to the model
    string? CoveredCommitsNote);                       // e.g. "Reviewed commits abc1234..def5678 (3 new commits)"

internal sealed record ReviewSettings(LlmProvider Provider, string Model, string CustomInstructions, IReadOnlyList<string> IgnorePaths);

internal enum ReviewResultKind
{
    Reviewed,
    NothingToReview,
    Failed,
}

// Exactly what GitHub's create-review `comments[]` takes (line, side, start_line, start_side, body).
internal sealed record InlineComment(string Path, int Line, string Side, int? StartLine, string? StartSide, string Body);

internal sealed record ReviewResult(
    ReviewResultKind Kind,
    string Body,                       // markdown review body WITHOUT the reviewbot marker (the caller appends it)
    IReadOnlyList<InlineComment> Comments,
    string CheckRunSummary,            // markdown, <= 60,000 chars, lists skipped files with reasons
    bool Partial,                      // something was left out: the caller never concludes plain success
    int UnanchoredCount,
    int InputTokens,
    int OutputTokens,
    LlmOutcome? FailureOutcome,
    string? FailureMessage,
    TimeSpan? RetryAfter)
{
    // Files that were not reviewed, with the reason (also listed in Body and CheckRunSummary).
    public IReadOnlyList<SkippedFile> Skipped { get; init; } = [];
}

// CONTRACT §6 `skipped` values.
internal enum SkipReason
{
    Ignored,
    Binary,
    TooLarge,
    OverBudget,
    Deleted,

    // Not in CONTRACT §6 (the dry run never calls a model): the model refused, was cut off or
    // answered with something unusable for this part, even after one retry.
    ReviewFailed,

    // Not in CONTRACT §6: the patch GitHub sent could not be read as a unified diff.
    Unreadable,
}

internal sealed record SkippedFile(string Path, SkipReason Reason, string Detail);

internal static class SkipReasonNames
{
    public static string ToWireName(this SkipReason reason) => reason switch
    {
        SkipReason.Ignored => "ignored",
        SkipReason.Binary => "binary",
        SkipReason.TooLarge => "too_large",
        SkipReason.OverBudget => "over_budget",
        SkipReason.Deleted => "deleted",
        SkipReason.ReviewFailed => "review_failed",
        SkipReason.Unreadable => "unreadable",
        _ => throw new ArgumentOutOfRangeException(nameof(reason)),
    };

    // Skips that mean "something that should have been reviewed was not": the review is partial.
    public static bool MakesReviewPartial(this SkipReason reason) => reason is SkipReason.TooLarge or SkipReason.OverBudget or SkipReason.ReviewFailed or SkipReason.Unreadable;
}
