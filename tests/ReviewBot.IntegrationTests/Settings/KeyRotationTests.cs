using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using ReviewBot.Configuration;
using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.Llm;
using ReviewBot.Settings;

namespace ReviewBot.IntegrationTests.Settings;

public sealed class KeyRotationTests
{
    private const string Admin = TestKeys.AdminToken;

    private static async Task<TestApp> StartAsync(TestDatabase db, byte[] key, params byte[][] oldKeys) =>
        await TestApp.StartAsync(
            TestApp.Options(db.ConnectionString, o => o with { EncryptionKey = key, EncryptionKeysOld = oldKeys }),
            builder => builder.Services.AddSingleton<ILlmClientFactory>(new FakeLlmClientFactory()));

    private static async Task PutKeyAsync(TestApp app, long installationId, string apiKey)
    {
        using var response = await app.Client.PutAsync(
            $"/api/installations/{installationId}/settings",
            JsonContent($$"""{"llmProvider":"openai","model":"gpt-4o-mini","apiKey":"{{apiKey}}"}"""),
            TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static StringContent JsonContent(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    private static async Task<SettingsSnapshot> SnapshotAsync(TestApp app, long installationId) =>
        await app.Services.GetRequiredService<SettingsStore>().GetSnapshotAsync(installationId, TestContext.Current.CancellationToken);

    private static async Task<string> SettingsJsonAsync(TestApp app, long installationId) =>
        await app.Client.GetStringAsync($"/api/installations/{installationId}/settings", TestContext.Current.CancellationToken);

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RotateKeysAsync(TestDatabase db, byte[] key, params byte[][] oldKeys)
    {
        var env = ReviewBotProcess.BaseEnvironment(db.ConnectionString, ReviewBotProcess.FreePort());
        env["ENCRYPTION_KEY"] = Convert.ToBase64String(key);
        if (oldKeys.Length > 0)
        {
            env["ENCRYPTION_KEY_OLD"] = string.Join(',', oldKeys.Select(Convert.ToBase64String));
        }

        await using var process = ReviewBotProcess.Start(env, "rotate-keys");
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exitCode, string.Join('\n', process.StandardOutput), string.Join('\n', process.StandardError));
    }

    private static TestApp WithAdmin(TestApp app)
    {
        app.Client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Admin);
        return app;
    }

    [Fact]
    public async Task Old_keys_keep_working_rotate_keys_moves_every_row_to_the_new_key_and_then_the_old_key_can_go()
    {
        await using var db = await TestDatabase.CreateAsync();
        var oldKey = RandomNumberGenerator.GetBytes(32);
        var newKey = RandomNumberGenerator.GetBytes(32);

        await using (var before = WithAdmin(await StartAsync(db, oldKey)))
        {
            await PutKeyAsync(before, 501, "sk-first-installation-501");
            await PutKeyAsync(before, 502, "sk-second-installation-502");
        }

        // Deployed with the new key and the old one kept for decryption: nothing breaks, new saves use the new key.
        await using (var during = WithAdmin(await StartAsync(db, newKey, oldKey)))
        {
            Assert.Equal("sk-first-installation-501", (await SnapshotAsync(during, 501)).ApiKey);
            Assert.Contains("\"apiKeyProblem\":null", await SettingsJsonAsync(during, 502), StringComparison.Ordinal);
            await PutKeyAsync(during, 503, "sk-third-installation-503");
        }

        var newPrefix = $"v1.{SecretCipher.KeyIdOf(newKey)}.";
        Assert.Equal(2, await db.ScalarAsync<long>("SELECT count(*) FROM installation_settings WHERE NOT starts_with(api_key_encrypted, $1)", newPrefix));

        var (exitCode, stdout, stderr) = await RotateKeysAsync(db, newKey, oldKey);
        Assert.True(exitCode == 0, stdout + stderr);
        Assert.Contains("2 row(s) changed", stdout, StringComparison.Ordinal);
        Assert.Contains("1 already current", stdout, StringComparison.Ordinal);
        Assert.Equal(0, await db.ScalarAsync<long>("SELECT count(*) FROM installation_settings WHERE NOT starts_with(api_key_encrypted, $1)", newPrefix));
        Assert.DoesNotContain("sk-", stdout + stderr, StringComparison.Ordinal);

        // Idempotent: a second run changes nothing.
        (exitCode, stdout, _) = await RotateKeysAsync(db, newKey, oldKey);
        Assert.Equal(0, exitCode);
        Assert.Contains("0 row(s) changed", stdout, StringComparison.Ordinal);

        // ENCRYPTION_KEY_OLD removed: every key still opens.
        await using var after = WithAdmin(await StartAsync(db, newKey));
        Assert.Equal("sk-first-installation-501", (await SnapshotAsync(after, 501)).ApiKey);
        Assert.Equal("sk-second-installation-502", (await SnapshotAsync(after, 502)).ApiKey);
        Assert.Equal("sk-third-installation-503", (await SnapshotAsync(after, 503)).ApiKey);
    }

    [Fact]
    public async Task Without_the_old_key_a_stored_value_is_reported_clearly_by_the_api_and_the_snapshot()
    {
        await using var db = await TestDatabase.CreateAsync();
        var oldKey = RandomNumberGenerator.GetBytes(32);
        await using (var before = WithAdmin(await StartAsync(db, oldKey)))
        {
            await PutKeyAsync(before, 601, "sk-installation-601-key");
        }

        await using var app = WithAdmin(await StartAsync(db, RandomNumberGenerator.GetBytes(32)));
        var json = await SettingsJsonAsync(app, 601);
        Assert.Contains("\"apiKeyConfigured\":true", json, StringComparison.Ordinal);
        Assert.Contains($"key (id {SecretCipher.KeyIdOf(oldKey)})", json, StringComparison.Ordinal);
        Assert.Contains("ENCRYPTION_KEY_OLD", json, StringComparison.Ordinal);

        var snapshot = await SnapshotAsync(app, 601);
        Assert.Null(snapshot.ApiKey);
        Assert.Contains("ENCRYPTION_KEY_OLD", snapshot.ApiKeyProblem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotate_keys_reports_rows_no_key_opens_rotates_the_rest_and_exits_1()
    {
        await using var db = await TestDatabase.CreateAsync();
        var lostKey = RandomNumberGenerator.GetBytes(32);
        var oldKey = RandomNumberGenerator.GetBytes(32);
        var newKey = RandomNumberGenerator.GetBytes(32);
        await using (var lost = WithAdmin(await StartAsync(db, lostKey)))
        {
            await PutKeyAsync(lost, 701, "sk-sealed-with-a-lost-key");
        }

        await using (var before = WithAdmin(await StartAsync(db, oldKey)))
        {
            await PutKeyAsync(before, 702, "sk-sealed-with-the-old-key");
        }

        var (exitCode, stdout, stderr) = await RotateKeysAsync(db, newKey, oldKey);

        Assert.Equal(1, exitCode);
        Assert.Contains("1 row(s) changed", stdout, StringComparison.Ordinal);
        Assert.Contains("1 could not be decrypted", stdout, StringComparison.Ordinal);
        Assert.Contains("installation 701", stderr, StringComparison.Ordinal);
        Assert.Contains(SecretCipher.KeyIdOf(lostKey), stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-sealed", stdout + stderr, StringComparison.Ordinal);
        Assert.True(await db.ScalarAsync<bool>("SELECT starts_with(api_key_encrypted, $1) FROM installation_settings WHERE installation_id = 702", $"v1.{SecretCipher.KeyIdOf(newKey)}."));
    }

    [Fact]
    public async Task Rotate_keys_with_invalid_configuration_exits_2_and_with_no_database_exits_1()
    {
        var env = ReviewBotProcess.BaseEnvironment("Host=127.0.0.1;Port=1;Database=none;Username=x;Timeout=2", ReviewBotProcess.FreePort());
        await using (var unreachable = ReviewBotProcess.Start(env, "rotate-keys"))
        {
            Assert.Equal(1, await unreachable.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("rotate-keys: database error", string.Join('\n', unreachable.StandardError), StringComparison.Ordinal);
        }

        env.Remove("ENCRYPTION_KEY");
        await using var invalid = ReviewBotProcess.Start(env, "rotate-keys");
        Assert.Equal(2, await invalid.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("ENCRYPTION_KEY", string.Join('\n', invalid.StandardError), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_ciphertext_copied_to_another_installation_does_not_decrypt_there()
    {
        await using var host = await SettingsHost.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await host.PutAsync(801, Admin, new { llmProvider = "openai", model = "gpt-4o-mini", apiKey = "sk-victim-key-801" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await host.PutAsync(802, Admin, new { llmProvider = "openai", model = "gpt-4o-mini", apiKey = "sk-attacker-key-802" })).Status);

        await host.Database.ExecuteAsync(
            "UPDATE installation_settings SET api_key_encrypted = (SELECT api_key_encrypted FROM installation_settings WHERE installation_id = 801) WHERE installation_id = 802");

        var response = await host.GetAsync("/api/installations/802/settings", Admin);
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Contains("belongs to another installation", response.Json.GetProperty("apiKeyProblem").GetString(), StringComparison.Ordinal);
        var snapshot = await host.SnapshotAsync(802);
        Assert.Null(snapshot.ApiKey);
        Assert.NotNull(snapshot.ApiKeyProblem);
        Assert.Equal("sk-victim-key-801", (await host.SnapshotAsync(801)).ApiKey);
    }

    [Fact]
    public async Task A_tampered_ciphertext_is_reported_not_a_crash()
    {
        await using var host = await SettingsHost.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await host.PutAsync(901, Admin, new { llmProvider = "openai", model = "gpt-4o-mini", apiKey = "sk-tampered-key-901" })).Status);
        var sealedValue = await host.Database.ScalarAsync<string>("SELECT api_key_encrypted FROM installation_settings WHERE installation_id = 901");
        var parts = sealedValue.Split('.');
        var payload = Convert.FromBase64String(parts[2]);
        payload[payload.Length / 2] ^= 0x40;
        await host.Database.ExecuteAsync(
            "UPDATE installation_settings SET api_key_encrypted = $1 WHERE installation_id = 901", $"{parts[0]}.{parts[1]}.{Convert.ToBase64String(payload)}");

        var response = await host.GetAsync("/api/installations/901/settings", Admin);
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Contains("cannot be decrypted", response.Json.GetProperty("apiKeyProblem").GetString(), StringComparison.Ordinal);
        Assert.Null((await host.SnapshotAsync(901)).ApiKey);

        // Saving a new key repairs it.
        Assert.Equal(HttpStatusCode.OK, (await host.PutAsync(901, Admin, new { llmProvider = "openai", model = "gpt-4o-mini", apiKey = "sk-replacement-key-901" })).Status);
        Assert.Equal("sk-replacement-key-901", (await host.SnapshotAsync(901)).ApiKey);
    }

    [Fact]
    public async Task Rotation_walks_every_batch_and_never_overwrites_a_value_changed_meanwhile()
    {
        await using var db = await TestDatabase.CreateAsync();
        var oldKey = RandomNumberGenerator.GetBytes(32);
        var newKey = RandomNumberGenerator.GetBytes(32);
        var before = new SecretCipher(oldKey, []);
        for (var id = 1; id <= 250; id++)
        {
            await db.ExecuteAsync("INSERT INTO installations (id) VALUES ($1)", (long)id);
            await db.ExecuteAsync(
                "INSERT INTO installation_settings (installation_id, model, api_key_encrypted, api_key_last4) VALUES ($1, 'm', $2, 'x')",
                (long)id, before.Seal(id, $"sk-row-{id}-secret"));
        }

        var cipher = new SecretCipher(newKey, [oldKey]);
        var store = new SettingsStore(db.DataSource, cipher);
        var report = await RotateKeysCommand.RotateAsync(store, cipher, TestContext.Current.CancellationToken);

        Assert.Equal(250, report.Reencrypted);
        Assert.Empty(report.Problems);
        Assert.Equal("sk-row-250-secret", (await store.GetSnapshotAsync(250, TestContext.Current.CancellationToken)).ApiKey);

        // A value read before a concurrent PUT replaced it is left alone.
        var current = await db.ScalarAsync<string>("SELECT api_key_encrypted FROM installation_settings WHERE installation_id = 7");
        Assert.False(await store.ReplaceSealedKeyAsync(7, before.Seal(7, "stale"), cipher.Seal(7, "sk-overwritten"), TestContext.Current.CancellationToken));
        Assert.Equal(current, await db.ScalarAsync<string>("SELECT api_key_encrypted FROM installation_settings WHERE installation_id = 7"));
    }
}
