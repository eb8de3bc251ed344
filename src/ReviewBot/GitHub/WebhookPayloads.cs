using System.Text.Json;
using System.Text.Json.Serialization;

namespace ReviewBot.GitHub;

// Only the members ReviewBot reads from GitHub's webhook payloads ("Webhook events and payloads",
// docs.github.com/en/webhooks/webhook-events-and-payloads). A member of the wrong JSON type fails
// deserialization, which the endpoint answers with 400; unknown members are skipped.
internal sealed record WebhookPayload
{
    public string? Action { get; init; }
    public WebhookInstallation? Installation { get; init; }
    public WebhookRepository? Repository { get; init; }
    public WebhookPullRequest? PullRequest { get; init; }
    public IReadOnlyList<WebhookRepository>? Repositories { get; init; }
    public IReadOnlyList<WebhookRepository>? RepositoriesAdded { get; init; }
    public IReadOnlyList<WebhookRepository>? RepositoriesRemoved { get; init; }
    public WebhookCheckRun? CheckRun { get; init; }
    public WebhookIssue? Issue { get; init; }
    public WebhookComment? Comment { get; init; }
}

internal sealed record WebhookInstallation
{
    public long Id { get; init; }
    public WebhookAccount? Account { get; init; }
}

internal sealed record WebhookAccount
{
    public string? Login { get; init; }
    public string? Type { get; init; }
}

internal sealed record WebhookRepository
{
    public long Id { get; init; }
    public string? FullName { get; init; }
}

internal sealed record WebhookPullRequest
{
    public int Number { get; init; }
    public string? Title { get; init; }
    public bool Draft { get; init; }
    public WebhookRef? Head { get; init; }
    public WebhookRef? Base { get; init; }
}

internal sealed record WebhookRef
{
    public string? Sha { get; init; }
    public string? Ref { get; init; }
}

internal sealed record WebhookCheckRun
{
    public long Id { get; init; }
    public string? Name { get; init; }
    public string? HeadSha { get; init; }
    public WebhookApp? App { get; init; }
    public IReadOnlyList<WebhookCheckRunPullRequest>? PullRequests { get; init; }
}

internal sealed record WebhookApp
{
    public long Id { get; init; }
}

internal sealed record WebhookCheckRunPullRequest
{
    public int Number { get; init; }
    public WebhookRef? Head { get; init; }
    public WebhookRef? Base { get; init; }
}

internal sealed record WebhookIssue
{
    public int Number { get; init; }
    public string? Title { get; init; }

    // Present (an object of links) only when the issue is a pull request.
    public JsonElement? PullRequest { get; init; }
}

internal sealed record WebhookComment
{
    public string? Body { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.Strict,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WebhookPayload))]
internal sealed partial class GitHubWebhookJsonContext : JsonSerializerContext;
