using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ReviewBot.IntegrationTests.Infrastructure;

namespace ReviewBot.IntegrationTests.Settings;

// The settings API in the real binary (with REVIEWBOT_BINARY, the published native-AOT one): the
// source-generated JSON paths, the problem responses and the logs on stdout, as operators see them.
public sealed class SettingsProcessTests
{
    [Fact]
    public async Task Settings_round_trip_through_the_real_binary_and_stdout_never_shows_the_token()
    {
        await using var db = await TestDatabase.CreateAsync();
        var env = ReviewBotProcess.BaseEnvironment(db.ConnectionString, ReviewBotProcess.FreePort());
        env["LOG_LEVEL"] = "Debug";
        await using var process = ReviewBotProcess.Start(env);
        await process.WaitForHealthyAsync(TimeSpan.FromSeconds(30));
        using var client = new HttpClient { BaseAddress = process.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestKeys.AdminToken);
        var ct = TestContext.Current.CancellationToken;

        using var put = await client.PutAsync(
            "/api/installations/77/settings",
            new StringContent("""{"enabled":true,"llmProvider":"gemini","model":"gemini-2.5-flash","customInstructions":"Be kind.","ignorePaths":["*.snap"],"reviewDrafts":true,"reviewsPerHour":5}""", Encoding.UTF8, "application/json"),
            ct);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        using var settings = JsonDocument.Parse(await client.GetStringAsync("/api/installations/77/settings", ct));
        Assert.Equal("gemini", settings.RootElement.GetProperty("llmProvider").GetString());
        Assert.Equal(5, settings.RootElement.GetProperty("reviewsPerHour").GetInt32());
        Assert.False(settings.RootElement.GetProperty("apiKeyConfigured").GetBoolean());

        using var unknown = await client.PutAsync(
            "/api/installations/77/settings",
            new StringContent("""{"llmProvider":"gemini","model":"m","surprise":1}""", Encoding.UTF8, "application/json"),
            ct);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
        Assert.Contains("surprise", await unknown.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);

        using var jobs = JsonDocument.Parse(await client.GetStringAsync("/api/installations/77/jobs?limit=5", ct));
        Assert.Equal(0, jobs.RootElement.GetProperty("jobs").GetArrayLength());

        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/api/installations");
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not!a-token-SECRETGUESS");
        using var refused = await client.SendAsync(wrong, ct);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        process.Terminate();
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var stdout = string.Join('\n', process.StandardOutput);
        Assert.Contains("Settings saved for installation 77", stdout, StringComparison.Ordinal);
        Assert.Contains("authentication failed", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(TestKeys.AdminToken, stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRETGUESS", stdout, StringComparison.Ordinal);
    }
}
