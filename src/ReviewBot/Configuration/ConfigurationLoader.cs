using System.Collections;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace ReviewBot.Configuration;

// Reads CONTRACT §2 from environment variables. Every problem is collected (not just the first) and
// each message names its variable; no message ever contains a value, because the values are secrets.
internal static class ConfigurationLoader
{
    public static IReadOnlyDictionary<string, string?> FromProcessEnvironment()
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            result[(string)entry.Key] = (string?)entry.Value;
        }

        return result;
    }

    public static (ReviewBotOptions? Options, IReadOnlyList<string> Errors) Load(IReadOnlyDictionary<string, string?> env)
    {
        var errors = new List<string>();

        string? Get(string name) => env.TryGetValue(name, out var v) && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;

        long appId = 0;
        var appIdText = Get("GITHUB_APP_ID");
        if (appIdText is null)
        {
            errors.Add("GITHUB_APP_ID is required");
        }
        else if (!long.TryParse(appIdText, NumberStyles.None, CultureInfo.InvariantCulture, out appId) || appId <= 0)
        {
            errors.Add("GITHUB_APP_ID must be a positive number (the App ID from the GitHub App's settings page)");
        }

        var privateKey = LoadPrivateKey(Get("GITHUB_PRIVATE_KEY"), Get("GITHUB_PRIVATE_KEY_PATH"), errors);

        var webhookSecret = Get("GITHUB_WEBHOOK_SECRET");
        if (webhookSecret is null)
        {
            errors.Add("GITHUB_WEBHOOK_SECRET is required");
        }

        var connectionString = "";
        var databaseUrl = Get("DATABASE_URL");
        if (databaseUrl is null)
        {
            errors.Add("DATABASE_URL is required");
        }
        else if (!DatabaseUrl.TryParse(databaseUrl, out connectionString, out var dbError))
        {
            errors.Add(dbError!);
        }

        var encryptionKey = ParseKey("ENCRYPTION_KEY", Get("ENCRYPTION_KEY"), required: true, errors);
        var oldKeys = new List<byte[]>();
        if (Get("ENCRYPTION_KEY_OLD") is { } oldText)
        {
            var parts = oldText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            for (var i = 0; i < parts.Length; i++)
            {
                if (ParseKey($"ENCRYPTION_KEY_OLD (entry {i + 1})", parts[i], required: true, errors) is { } k)
                {
                    oldKeys.Add(k);
                }
            }
        }

        var port = Int("PORT", 3000, 1, 65535);
        var listenAddress = Get("LISTEN_ADDRESS");
        if (listenAddress is not null && !System.Net.IPAddress.TryParse(listenAddress, out _) && listenAddress != "localhost")
        {
            errors.Add("LISTEN_ADDRESS must be an IP address such as 127.0.0.1 or ::");
        }

        var githubApi = Url("GITHUB_API_URL", "https://api.github.com");
        var openAi = Url("OPENAI_BASE_URL", "https://api.openai.com/v1");
        var anthropic = Url("ANTHROPIC_BASE_URL", "https://api.anthropic.com");
        var gemini = Url("GEMINI_BASE_URL", "https://generativelanguage.googleapis.com");

        var adminToken = Get("ADMIN_TOKEN");
        if (adminToken is not null && adminToken.Length < 32)
        {
            errors.Add("ADMIN_TOKEN must be at least 32 characters (generate one with: openssl rand -hex 32)");
        }

        var concurrency = Int("REVIEW_CONCURRENCY", 8, 1, 1024);
        var perInstallation = Int("REVIEW_CONCURRENCY_PER_INSTALLATION", 1, 1, 1024);
        var maxAttempts = Int("JOB_MAX_ATTEMPTS", 3, 1, 100);
        var leaseSeconds = Int("JOB_LEASE_SECONDS", 60, 5, 3600);
        var shutdownSeconds = Int("SHUTDOWN_TIMEOUT_SECONDS", 25, 0, 3600);
        var llmTimeout = Int("LLM_REQUEST_TIMEOUT_SECONDS", 300, 5, 3600);
        var retentionDays = Int("JOB_RETENTION_DAYS", 30, 1, 3650);
        var recoveryInterval = Int("DELIVERY_RECOVERY_INTERVAL_SECONDS", 300, 10, 86400);

        var workersEnabled = true;
        if (Get("WORKERS_ENABLED") is { } workersText && !bool.TryParse(workersText, out workersEnabled))
        {
            errors.Add("WORKERS_ENABLED must be true or false");
        }

        var logLevel = LogLevel.Information;
        if (Get("LOG_LEVEL") is { } levelText && !Enum.TryParse(levelText, ignoreCase: true, out logLevel))
        {
            errors.Add("LOG_LEVEL must be one of Trace, Debug, Information, Warning, Error, Critical, None");
        }

        var clientId = Get("GITHUB_CLIENT_ID");
        var clientSecret = Get("GITHUB_CLIENT_SECRET");
        var publicUrl = Get("PUBLIC_URL") is null ? null : Url("PUBLIC_URL", "http://localhost");
        var webUrl = Url("GITHUB_WEB_URL", "https://github.com");
        var pageSettings = new[] { clientId is not null, clientSecret is not null, publicUrl is not null };
        if (pageSettings.Any(x => x) && !pageSettings.All(x => x))
        {
            errors.Add("GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET and PUBLIC_URL must be set together to enable the settings page");
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        return (new ReviewBotOptions
        {
            GitHubAppId = appId,
            GitHubPrivateKeyPem = privateKey!,
            GitHubWebhookSecret = webhookSecret!,
            DatabaseConnectionString = connectionString,
            EncryptionKey = encryptionKey!,
            EncryptionKeysOld = oldKeys,
            Port = port,
            ListenAddress = listenAddress,
            GitHubApiUrl = githubApi,
            OpenAiBaseUrl = openAi,
            AnthropicBaseUrl = anthropic,
            GeminiBaseUrl = gemini,
            AdminToken = adminToken,
            ReviewConcurrency = concurrency,
            ReviewConcurrencyPerInstallation = perInstallation,
            JobMaxAttempts = maxAttempts,
            JobLeaseSeconds = leaseSeconds,
            ShutdownTimeoutSeconds = shutdownSeconds,
            LogLevel = logLevel,
            LlmRequestTimeoutSeconds = llmTimeout,
            JobRetentionDays = retentionDays,
            DeliveryRecoveryIntervalSeconds = recoveryInterval,
            WorkersEnabled = workersEnabled,
            GitHubClientId = clientId,
            GitHubClientSecret = clientSecret,
            PublicUrl = publicUrl,
            GitHubWebUrl = webUrl,
        }, errors);

        int Int(string name, int fallback, int min, int max)
        {
            if (Get(name) is not { } text)
            {
                return fallback;
            }

            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
            {
                return value;
            }

            errors.Add($"{name} must be a whole number from {min} to {max}");
            return fallback;
        }

        Uri Url(string name, string fallback)
        {
            var text = Get(name) ?? fallback;
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
            {
                // Base URLs are joined with relative paths: keep exactly one trailing slash.
                return new Uri(uri.ToString().TrimEnd('/') + "/");
            }

            errors.Add($"{name} must be an absolute http(s) URL");
            return new Uri(fallback.TrimEnd('/') + "/");
        }
    }

    private static string? LoadPrivateKey(string? inline, string? path, List<string> errors)
    {
        string pem;
        string source;
        if (inline is not null)
        {
            // .env files and many secret stores carry the PEM on one line with literal \n sequences.
            pem = inline.Replace("\\r\\n", "\n", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal);
            source = "GITHUB_PRIVATE_KEY";
        }
        else if (path is not null)
        {
            source = "GITHUB_PRIVATE_KEY_PATH";
            try
            {
                pem = File.ReadAllText(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                errors.Add($"GITHUB_PRIVATE_KEY_PATH: the file cannot be read ({ex.GetType().Name})");
                return null;
            }
        }
        else
        {
            errors.Add("GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH is required");
            return null;
        }

        switch (RsaPrivateKeyPem.Check(pem))
        {
            case PrivateKeyProblem.None:
                return pem;
            case PrivateKeyProblem.TooSmall:
                errors.Add($"{source} must be an RSA key of at least {RsaPrivateKeyPem.MinimumBits} bits");
                return null;
            default:
                errors.Add($"{source} is not a PEM RSA private key (PKCS#1 \"BEGIN RSA PRIVATE KEY\" or PKCS#8 \"BEGIN PRIVATE KEY\")");
                return null;
        }
    }

    private static byte[]? ParseKey(string name, string? text, bool required, List<string> errors)
    {
        if (text is null)
        {
            if (required)
            {
                errors.Add($"{name} is required (generate one with: openssl rand -base64 32)");
            }

            return null;
        }

        var buffer = new byte[64];
        if (Convert.TryFromBase64String(text, buffer, out var written) && written == 32)
        {
            return buffer[..32];
        }

        errors.Add($"{name} must be base64 of exactly 32 bytes (generate one with: openssl rand -base64 32)");
        return null;
    }
}
