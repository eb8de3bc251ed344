using System.Text.Json.Serialization;

namespace ReviewBot.GitHub;

// GET /user/installations, "List app installations accessible to the user access token"
// (https://docs.github.com/en/rest/apps/installations#list-app-installations-accessible-to-the-user-access-token).
// Only the members ReviewBot reads; GitHub adds fields freely, so unknown members are ignored here.
internal sealed record UserInstallationsPage(
    [property: JsonPropertyName("total_count")] int TotalCount,
    [property: JsonPropertyName("installations")] IReadOnlyList<UserInstallationPayload>? Installations);

internal sealed record UserInstallationPayload(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("account")] UserInstallationAccount? Account,
    [property: JsonPropertyName("target_type")] string? TargetType,
    [property: JsonPropertyName("suspended_at")] DateTimeOffset? SuspendedAt);

internal sealed record UserInstallationAccount(
    [property: JsonPropertyName("login")] string? Login,
    [property: JsonPropertyName("type")] string? Type);

[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = false)]
[JsonSerializable(typeof(UserInstallationsPage))]
internal sealed partial class GitHubUserJsonContext : JsonSerializerContext;
