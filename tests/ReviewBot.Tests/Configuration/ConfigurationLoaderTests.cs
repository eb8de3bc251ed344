using System.Security.Cryptography;
using ReviewBot.Configuration;

namespace ReviewBot.Tests.Configuration;

public sealed class ConfigurationLoaderTests
{
    private static readonly string Pkcs1Pem = CreatePem(pkcs8: false);
    private static readonly string Pkcs8Pem = CreatePem(pkcs8: true);
    private static readonly string EncryptionKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private static Dictionary<string, string?> Valid() => new()
    {
        ["GITHUB_APP_ID"] = "123",
        ["GITHUB_PRIVATE_KEY"] = Pkcs1Pem,
        ["GITHUB_WEBHOOK_SECRET"] = "webhook-secret-value",
        ["DATABASE_URL"] = "postgres://bot:p%40ss@db.example.com:6543/reviews?sslmode=require",
        ["ENCRYPTION_KEY"] = EncryptionKey,
    };

    [Fact]
    public void Load_accepts_minimal_valid_environment_with_contract_defaults()
    {
        var (options, errors) = ConfigurationLoader.Load(Valid());

        Assert.Empty(errors);
        Assert.NotNull(options);
        Assert.Equal(123, options.GitHubAppId);
        Assert.Equal(3000, options.Port);
        Assert.Equal(8, options.ReviewConcurrency);
        Assert.Equal(1, options.ReviewConcurrencyPerInstallation);
        Assert.Equal(3, options.JobMaxAttempts);
        Assert.Equal(60, options.JobLeaseSeconds);
        Assert.Equal(25, options.ShutdownTimeoutSeconds);
        Assert.Equal("https://api.github.com/", options.GitHubApiUrl.ToString());
        Assert.Equal("https://api.openai.com/v1/", options.OpenAiBaseUrl.ToString());
        Assert.False(options.SettingsPageEnabled);
    }

    [Fact]
    public void Load_reports_every_missing_required_variable_by_name()
    {
        var (options, errors) = ConfigurationLoader.Load(new Dictionary<string, string?>());

        Assert.Null(options);
        Assert.Contains("GITHUB_APP_ID is required", errors);
        Assert.Contains("GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH is required", errors);
        Assert.Contains("GITHUB_WEBHOOK_SECRET is required", errors);
        Assert.Contains("DATABASE_URL is required", errors);
        Assert.Contains(errors, e => e.StartsWith("ENCRYPTION_KEY is required", StringComparison.Ordinal));
        Assert.Equal(5, errors.Count);
    }

    [Theory]
    [InlineData("GITHUB_APP_ID", "abc")]
    [InlineData("GITHUB_APP_ID", "-4")]
    [InlineData("PORT", "70000")]
    [InlineData("PORT", "http")]
    [InlineData("REVIEW_CONCURRENCY", "0000")]
    [InlineData("REVIEW_CONCURRENCY_PER_INSTALLATION", "x")]
    [InlineData("JOB_MAX_ATTEMPTS", "500")]
    [InlineData("JOB_LEASE_SECONDS", "1")]
    [InlineData("SHUTDOWN_TIMEOUT_SECONDS", "-1")]
    [InlineData("LOG_LEVEL", "Verbose")]
    [InlineData("GITHUB_API_URL", "ftp://example.com")]
    [InlineData("OPENAI_BASE_URL", "not a url")]
    [InlineData("ADMIN_TOKEN", "short")]
    [InlineData("ENCRYPTION_KEY", "c2hvcnQ=")]
    [InlineData("ENCRYPTION_KEY_OLD", "c2hvcnQ=")]
    [InlineData("DATABASE_URL", "Host=x;Nonsense Keyword=1")]
    [InlineData("LISTEN_ADDRESS", "not-an-ip")]
    public void Load_rejects_invalid_value_naming_the_variable_and_not_the_value(string name, string value)
    {
        var env = Valid();
        env[name] = value;

        var (options, errors) = ConfigurationLoader.Load(env);

        Assert.Null(options);
        var error = Assert.Single(errors);
        Assert.StartsWith(name, error, StringComparison.Ordinal);
        Assert.DoesNotContain(value, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_accepts_private_key_with_literal_backslash_n_as_env_files_carry_it()
    {
        var env = Valid();
        env["GITHUB_PRIVATE_KEY"] = Pkcs8Pem.Replace("\n", "\\n", StringComparison.Ordinal);

        var (options, errors) = ConfigurationLoader.Load(env);

        Assert.Empty(errors);
        using var rsa = RSA.Create();
        rsa.ImportFromPem(options!.GitHubPrivateKeyPem);
    }

    [Fact]
    public void Load_reads_private_key_from_path()
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, Pkcs8Pem);
        var env = Valid();
        env.Remove("GITHUB_PRIVATE_KEY");
        env["GITHUB_PRIVATE_KEY_PATH"] = path;

        var (options, errors) = ConfigurationLoader.Load(env);

        Assert.Empty(errors);
        Assert.Equal(Pkcs8Pem, options!.GitHubPrivateKeyPem);
        File.Delete(path);
    }

    [Fact]
    public void Load_rejects_garbage_private_key_without_echoing_it()
    {
        var env = Valid();
        env["GITHUB_PRIVATE_KEY"] = "-----BEGIN PRIVATE KEY-----\\nTOPSECRETBYTES\\n-----END PRIVATE KEY-----";

        var (_, errors) = ConfigurationLoader.Load(env);

        var error = Assert.Single(errors);
        Assert.StartsWith("GITHUB_PRIVATE_KEY ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("TOPSECRET", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_rejects_a_public_key_which_cannot_sign()
    {
        using var rsa = RSA.Create(2048);
        var env = Valid();
        env["GITHUB_PRIVATE_KEY"] = rsa.ExportSubjectPublicKeyInfoPem();

        var (_, errors) = ConfigurationLoader.Load(env);

        Assert.Single(errors);
    }

    [Fact]
    public void Load_accepts_several_old_encryption_keys()
    {
        var env = Valid();
        env["ENCRYPTION_KEY_OLD"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + ", " + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

        var (options, errors) = ConfigurationLoader.Load(env);

        Assert.Empty(errors);
        Assert.Equal(2, options!.EncryptionKeysOld.Count);
    }

    [Fact]
    public void Load_requires_settings_page_variables_together()
    {
        var env = Valid();
        env["GITHUB_CLIENT_ID"] = "Iv1.abc";

        var (_, errors) = ConfigurationLoader.Load(env);

        Assert.Contains(errors, e => e.Contains("GITHUB_CLIENT_SECRET", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("display lines")]
    [InlineData("ToString")]
    public void Options_never_print_secret_values(string how)
    {
        var env = Valid();
        env["ADMIN_TOKEN"] = "admin-token-admin-token-admin-token-1234";
        env["GITHUB_CLIENT_ID"] = "Iv1.client";
        env["GITHUB_CLIENT_SECRET"] = "client-secret-value";
        env["PUBLIC_URL"] = "https://reviewbot.example.com";
        var (options, _) = ConfigurationLoader.Load(env);

        var text = how == "ToString" ? options!.ToString() : string.Join('\n', options!.ToDisplayLines());

        Assert.DoesNotContain("client-secret-value", text, StringComparison.Ordinal);

        Assert.DoesNotContain("webhook-secret-value", text, StringComparison.Ordinal);
        Assert.DoesNotContain("p@ss", text, StringComparison.Ordinal);
        Assert.DoesNotContain(EncryptionKey, text, StringComparison.Ordinal);
        Assert.DoesNotContain("admin-token-admin", text, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", text, StringComparison.Ordinal);
        Assert.Contains("host=db.example.com", text, StringComparison.Ordinal);
    }

    private static string CreatePem(bool pkcs8)
    {
        using var rsa = RSA.Create(2048);
        return pkcs8 ? rsa.ExportPkcs8PrivateKeyPem() : rsa.ExportRSAPrivateKeyPem();
    }
}
