using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using ReviewBot.Configuration;
using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.Llm;
using ReviewBot.Settings;
using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace ReviewBot.IntegrationTests.Settings;

// Stands in for the provider list-models check (Llm/ is built separately): answers per key,
// Valid unless told otherwise, and records every key it was asked about.
internal sealed class FakeLlmClientFactory : ILlmClientFactory
{
    public ConcurrentDictionary<string, KeyValidation> Answers { get; } = new(StringComparer.Ordinal);

    public ConcurrentQueue<(LlmProvider Provider, string ApiKey)> Validations { get; } = new();

    public ILlmClient Create(LlmProvider provider, string apiKey) => throw new NotSupportedException("The settings API never completes prompts.");

    public Task<KeyValidation> ValidateKeyAsync(LlmProvider provider, string apiKey, CancellationToken cancellationToken)
    {
        Validations.Enqueue((provider, apiKey));
        return Task.FromResult(Answers.GetValueOrDefault(apiKey, KeyValidation.Valid));
    }
}

internal sealed record ApiResponse(HttpStatusCode Status, string Body, HttpResponseHeaders Headers, string? ContentType)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;
}

// The real app (TestApp) against its own database, with WireMock as GitHub's REST API, a fake key
// validator, and every log record captured. Every response is kept so tests can scan them for secrets.
internal sealed class SettingsHost : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _transcript = new();

    private readonly string _userInstallationsPath;

    private SettingsHost(TestDatabase database, WireMockServer gitHub, FakeLlmClientFactory llm, FakeLogCollector logs, FakeTimeProvider? time, TestApp app, string apiPath)
    {
        _userInstallationsPath = apiPath + "/user/installations";
        Database = database;
        GitHub = gitHub;
        Llm = llm;
        Logs = logs;
        Time = time;
        App = app;
    }

    public TestDatabase Database { get; }

    public WireMockServer GitHub { get; }

    public FakeLlmClientFactory Llm { get; }

    public FakeLogCollector Logs { get; }

    public FakeTimeProvider? Time { get; }

    public TestApp App { get; }

    public IEnumerable<string> Transcript => _transcript;

    // apiPath "/api/v3" serves GitHub the way GitHub Enterprise Server does (GITHUB_API_URL=https://HOST/api/v3).
    public static async Task<SettingsHost> StartAsync(bool fakeTime = false, Func<ReviewBotOptions, ReviewBotOptions>? customize = null, string apiPath = "")
    {
        var database = await TestDatabase.CreateAsync();
        var gitHub = WireMockServer.Start();
        // Any token GitHub was not told about is a bad one: 401 "Bad credentials", as GitHub answers.
        gitHub.Given(Request.Create().WithPath(apiPath + "/user/installations").UsingGet()).AtPriority(100)
            .RespondWith(Response.Create().WithStatusCode(401).WithHeader("Content-Type", "application/json")
                .WithBody("""{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}"""));

        var llm = new FakeLlmClientFactory();
        var logs = FakeLogCollector.Create(new FakeLogCollectorOptions());
        var time = fakeTime ? new FakeTimeProvider(DateTimeOffset.UtcNow) : null;
        var options = TestApp.Options(database.ConnectionString, o =>
        {
            o = o with { GitHubApiUrl = new Uri(gitHub.Url + apiPath), LogLevel = LogLevel.Debug };
            return customize is null ? o : customize(o);
        });
        var app = await TestApp.StartAsync(options, builder =>
        {
            builder.Services.AddSingleton<ILlmClientFactory>(llm);
            builder.Logging.AddProvider(new FakeLoggerProvider(logs));
            if (time is not null)
            {
                builder.Services.AddSingleton<TimeProvider>(time);
            }
        });
        return new SettingsHost(database, gitHub, llm, logs, time, app, apiPath);
    }

    // GET /user/installations answers for this token with these installations (one page).
    public void GitHubLists(string token, params long[] installationIds) =>
        GitHubAnswers(token, InstallationsJson(installationIds));

    // Returns the mapping's id, for GitHub.DeleteMapping when a test changes GitHub's answer.
    public Guid GitHubAnswers(string token, string body, int status = 200, IDictionary<string, string>? headers = null, string? page = null)
    {
        var request = Request.Create().WithPath(_userInstallationsPath).UsingGet()
            .WithHeader("Authorization", $"Bearer {token}", MatchBehaviour.AcceptOnMatch);
        if (page is not null)
        {
            request = request.WithParam("page", page);
        }

        var response = Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body);
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            response = response.WithHeader(name, value);
        }

        var id = Guid.NewGuid();
        GitHub.Given(request).WithGuid(id).AtPriority(page is null ? 10 : 1).RespondWith(response);
        return id;
    }

    public static string InstallationsJson(params long[] ids) =>
        JsonSerializer.Serialize(new
        {
            total_count = ids.Length,
            installations = ids.Select(id => new
            {
                id,
                account = new { login = $"org-{id}", type = "Organization" },
                target_type = "Organization",
                suspended_at = (string?)null,
            }),
        });

    public int GitHubCalls => GitHub.LogEntries.Count(e => e.RequestMessage.Path == _userInstallationsPath);

    public Task<ApiResponse> GetAsync(string path, string? token) => SendAsync(HttpMethod.Get, path, token, null);

    public Task<ApiResponse> PutAsync(long installationId, string? token, object body) =>
        PutRawAsync(installationId, token, JsonSerializer.Serialize(body));

    public Task<ApiResponse> PutRawAsync(long installationId, string? token, string json, string contentType = "application/json") =>
        SendAsync(HttpMethod.Put, $"/api/installations/{installationId}/settings", token, new StringContent(json, Encoding.UTF8, contentType));

    public async Task<ApiResponse> SendAsync(HttpMethod method, string path, string? token, HttpContent? content)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await App.Client.SendAsync(request, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        _transcript.Enqueue($"{(int)response.StatusCode} {response.Headers} {response.Content.Headers} {body}");
        return new ApiResponse(response.StatusCode, body, response.Headers, response.Content.Headers.ContentType?.MediaType);
    }

    public Task<SettingsSnapshot> SnapshotAsync(long installationId) =>
        App.Services.GetRequiredService<SettingsStore>().GetSnapshotAsync(installationId, TestContext.Current.CancellationToken);

    // Everything a log sink received: messages, every structured value, exceptions.
    public IEnumerable<string> LogText() =>
        Logs.GetSnapshot().SelectMany(r =>
            new[] { r.Message, r.Exception?.ToString() ?? "" }
                .Concat(r.StructuredState?.Select(kv => $"{kv.Key}={kv.Value}") ?? []));

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        GitHub.Stop();
        GitHub.Dispose();
        await Database.DisposeAsync();
    }
}
