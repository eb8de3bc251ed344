using System.Text.Json;
using System.Text.Json.Serialization;

namespace ReviewBot.GitHub;

// Only the members ReviewBot reads from GitHub's webhook payloads ("Webhook events and payloads",
// docs.github.com/en/webhooks/webhook-events-and-payloads). A member of the wrong JSON type fails
// deserialization, which the endpoint answers with 400; unknown members are skipped.
// Settable rather than init-only: the source-generated reader sets init-only members through its
// parameterized-constructor path, which buffers members first; settable ones take the plain object
// converter. (Most of the remaining cost is tokenizing the members skipped: GitHub's payloads are
// tens of KB and ReviewBot reads a handful of fields.)
internal sealed record WebhookPayload
{
    public string? Action { get; set; }
    public WebhookInstallation? Installation { get; set; }
    public WebhookRepository? Repository { get; set; }
    public WebhookPullRequest? PullRequest { get; set; }
    public IReadOnlyList<WebhookRepository>? Repositories { get; set; }
    public IReadOnlyList<WebhookRepository>? RepositoriesAdded { get; set; }
    public IReadOnlyList<WebhookRepository>? RepositoriesRemoved { get; set; }
    public WebhookCheckRun? CheckRun { get; set; }
    public WebhookIssue? Issue { get; set; }
    public WebhookComment? Comment { get; set; }
}

internal sealed record WebhookInstallation
{
    public long Id { get; set; }
    public WebhookAccount? Account { get; set; }
}

internal sealed record WebhookAccount
{
    public string? Login { get; set; }
    public string? Type { get; set; }
}

internal sealed record WebhookRepository
{
    public long Id { get; set; }
    public string? FullName { get; set; }
}

internal sealed record WebhookPullRequest
{
    public int Number { get; set; }
    public string? Title { get; set; }
    public bool Draft { get; set; }
    public WebhookRef? Head { get; set; }
    public WebhookRef? Base { get; set; }
}

internal sealed record WebhookRef
{
    public string? Sha { get; set; }
    public string? Ref { get; set; }
}

internal sealed record WebhookCheckRun
{
    public long Id { get; set; }
    public string? Name { get; set; }
    public string? HeadSha { get; set; }
    public string? ExternalId { get; set; }
    public WebhookApp? App { get; set; }
    public IReadOnlyList<WebhookCheckRunPullRequest>? PullRequests { get; set; }
}

internal sealed record WebhookApp
{
    public long Id { get; set; }
}

internal sealed record WebhookCheckRunPullRequest
{
    public int Number { get; set; }
    public WebhookRef? Head { get; set; }
    public WebhookRef? Base { get; set; }
}

internal sealed record WebhookIssue
{
    public int Number { get; set; }
    public string? Title { get; set; }

    // Present (an object of links) only when the issue is a pull request.
    public JsonElement? PullRequest { get; set; }
}

internal sealed record WebhookComment
{
    public string? Body { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.Strict,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WebhookPayload))]
internal sealed partial class GitHubWebhookJsonContext : JsonSerializerContext;
