using System.Text;
using Microsoft.Extensions.Logging;

namespace ReviewBot.Configuration;

// Everything ReviewBot reads from its environment (CONTRACT §2), validated once at start by
// ConfigurationLoader. Secrets live here only in memory; ToDisplayLines masks them.
internal sealed record ReviewBotOptions
{
    public required long GitHubAppId { get; init; }
    public required string GitHubPrivateKeyPem { get; init; }
    public required string GitHubWebhookSecret { get; init; }
    public required string DatabaseConnectionString { get; init; }
    public required byte[] EncryptionKey { get; init; }
    public IReadOnlyList<byte[]> EncryptionKeysOld { get; init; } = [];

    public int Port { get; init; } = 3000;
    public string? ListenAddress { get; init; }
    public Uri GitHubApiUrl { get; init; } = new("https://api.github.com");
    public Uri OpenAiBaseUrl { get; init; } = new("https://api.openai.com/v1");
    public Uri AnthropicBaseUrl { get; init; } = new("https://api.anthropic.com");
    public Uri GeminiBaseUrl { get; init; } = new("https://generativelanguage.googleapis.com");
    public string? AdminToken { get; init; }

    public int ReviewConcurrency { get; init; } = 8;
    public int ReviewConcurrencyPerInstallation { get; init; } = 1;
    public int JobMaxAttempts { get; init; } = 3;
    public int JobLeaseSeconds { get; init; } = 60;
    public int ShutdownTimeoutSeconds { get; init; } = 25;
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    // Not in the contract table; operator tuning with safe defaults.
    public int LlmRequestTimeoutSeconds { get; init; } = 300;
    public int JobRetentionDays { get; init; } = 30;
    public int DeliveryRecoveryIntervalSeconds { get; init; } = 300;

    // false runs an intake-only replica (webhooks and API, no review workers).
    public bool WorkersEnabled { get; init; } = true;

    // Settings page (CONTRACT §9): enabled only when all three are set.
    public string? GitHubClientId { get; init; }
    public string? GitHubClientSecret { get; init; }
    public Uri? PublicUrl { get; init; }
    public Uri GitHubWebUrl { get; init; } = new("https://github.com");

    public bool SettingsPageEnabled => GitHubClientId is not null && GitHubClientSecret is not null && PublicUrl is not null;

    public IEnumerable<string> ToDisplayLines()
    {
        yield return $"GITHUB_APP_ID={GitHubAppId}";
        yield return $"GITHUB_PRIVATE_KEY={Mask(GitHubPrivateKeyPem)}";
        yield return $"GITHUB_WEBHOOK_SECRET={Mask(GitHubWebhookSecret)}";
        yield return $"DATABASE_URL={DatabaseUrl.Describe(DatabaseConnectionString)}";
        yield return $"ENCRYPTION_KEY={Mask(EncryptionKey)}";
        yield return $"ENCRYPTION_KEY_OLD={(EncryptionKeysOld.Count == 0 ? "(none)" : $"{EncryptionKeysOld.Count} key(s), masked")}";
        yield return $"PORT={Port}";
        yield return $"LISTEN_ADDRESS={ListenAddress ?? "(all interfaces)"}";
        yield return $"GITHUB_API_URL={GitHubApiUrl}";
        yield return $"OPENAI_BASE_URL={OpenAiBaseUrl}";
        yield return $"ANTHROPIC_BASE_URL={AnthropicBaseUrl}";
        yield return $"GEMINI_BASE_URL={GeminiBaseUrl}";
        yield return $"ADMIN_TOKEN={(AdminToken is null ? "(not set)" : Mask(AdminToken))}";
        yield return $"REVIEW_CONCURRENCY={ReviewConcurrency}";
        yield return $"REVIEW_CONCURRENCY_PER_INSTALLATION={ReviewConcurrencyPerInstallation}";
        yield return $"JOB_MAX_ATTEMPTS={JobMaxAttempts}";
        yield return $"JOB_LEASE_SECONDS={JobLeaseSeconds}";
        yield return $"SHUTDOWN_TIMEOUT_SECONDS={ShutdownTimeoutSeconds}";
        yield return $"LOG_LEVEL={LogLevel}";
        yield return $"LLM_REQUEST_TIMEOUT_SECONDS={LlmRequestTimeoutSeconds}";
        yield return $"JOB_RETENTION_DAYS={JobRetentionDays}";
        yield return $"DELIVERY_RECOVERY_INTERVAL_SECONDS={DeliveryRecoveryIntervalSeconds}";
        yield return $"WORKERS_ENABLED={(WorkersEnabled ? "true" : "false")}";
        yield return $"GITHUB_CLIENT_ID={GitHubClientId ?? "(not set)"}";
        yield return $"GITHUB_CLIENT_SECRET={(GitHubClientSecret is null ? "(not set)" : Mask(GitHubClientSecret))}";
        yield return $"PUBLIC_URL={PublicUrl?.ToString() ?? "(not set)"}";
        yield return $"GITHUB_WEB_URL={GitHubWebUrl}";
        yield return $"settings page: {(SettingsPageEnabled ? "enabled" : "disabled")}";
    }

    // The compiler's record ToString would print every property, the private key and secrets included,
    // wherever the options object is formatted (a log line, an exception message, a diagnostics event
    // that prints registered singletons); the masked display lines instead.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.AppendJoin(", ", ToDisplayLines());
        return true;
    }

    private static string Mask(string secret) => $"(set, {secret.Length} characters, masked)";

    private static string Mask(byte[] secret) => $"(set, {secret.Length} bytes, masked)";
}
