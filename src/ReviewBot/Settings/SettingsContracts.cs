using System.Text.Json.Serialization;

namespace ReviewBot.Settings;

// PUT /api/installations/{id}/settings (CONTRACT §3), plus the optional reviewsPerHour. Unknown
// members are an error, not silently dropped: a misspelt "ignorePath" must not look like it saved.
// Nullable everywhere so a missing field is told apart from a default and reported by name.
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed class SettingsRequest
{
    public bool? Enabled { get; set; }

    public string? LlmProvider { get; set; }

    public string? Model { get; set; }

    public string? ApiKey { get; set; }

    public string? CustomInstructions { get; set; }

    public List<string?>? IgnorePaths { get; set; }

    public bool? ReviewDrafts { get; set; }

    public int? ReviewsPerHour { get; set; }

    // The JSON names, for the unknown-field check and error messages.
    public static IReadOnlyList<string> FieldNames { get; } =
        ["enabled", "llmProvider", "model", "apiKey", "customInstructions", "ignorePaths", "reviewDrafts", "reviewsPerHour"];
}

// Never carries the key: only whether one is stored, its last four characters, and why it cannot be
// used when it cannot (e.g. sealed with a key no longer configured).
internal sealed record SettingsResponse(
    long InstallationId,
    bool Configured,
    bool Enabled,
    string LlmProvider,
    string Model,
    bool ApiKeyConfigured,
    string? ApiKeyLast4,
    string? ApiKeyProblem,
    string CustomInstructions,
    IReadOnlyList<string> IgnorePaths,
    bool ReviewDrafts,
    int? ReviewsPerHour,
    int EffectiveReviewsPerHour,
    bool Suspended,
    DateTimeOffset? UpdatedAt);

internal sealed record InstallationSummary(
    long Id,
    string Account,
    string AccountType,
    bool Suspended,
    bool Configured,
    bool Enabled);

internal sealed record InstallationListResponse(IReadOnlyList<InstallationSummary> Installations);

internal sealed record JobSummary(
    long Id,
    string Repository,
    int PullRequest,
    string Title,
    string CommitSha,
    string Status,
    string? Conclusion,
    int Attempts,
    int MaxAttempts,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    int InputTokens,
    int OutputTokens,
    int CommentsPosted,
    int CommentsUnanchored);

internal sealed record JobListResponse(IReadOnlyList<JobSummary> Jobs);

internal sealed record ErrorResponse(string Error);

// RFC 9457 problem details with ASP.NET's "errors" member (field name → messages), written by hand
// so it goes through the one source-generated context.
internal sealed record ValidationProblem(string Type, string Title, int Status, IReadOnlyDictionary<string, string[]> Errors)
{
    public const string ContentType = "application/problem+json";

    public static ValidationProblem For(IReadOnlyDictionary<string, string[]> errors) =>
        new("https://www.rfc-editor.org/rfc/rfc9110#section-15.5.1", "One or more fields are invalid.", 400, errors);
}
