using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using ReviewBot.Simulator.Diffs;
using ReviewBot.Simulator.Faults;
using ReviewBot.Simulator.GitHub;
using ReviewBot.Simulator.Llm;
using ReviewBot.Simulator.State;

namespace ReviewBot.Simulator;

public sealed record SimulatorOptions
{
    public long AppId { get; init; } = 12345;

    // The App's private key (the public half is derived) or its public key, PEM.
    public required string AppKeyPem { get; init; }

    // 0: any free port.
    public int Port { get; init; }
    public string ListenAddress { get; init; } = "127.0.0.1";
    public FaultSettings Faults { get; init; } = FaultSettings.None;
    public LogLevel LogLevel { get; init; } = LogLevel.Warning;
}

// The simulator as a server: `ReviewBot.Simulator serve` runs one, and tests host one in-process.
// GitHub's REST API is at the root (GITHUB_API_URL = BaseAddress); the LLMs are at
// {BaseAddress}openai/v1, {BaseAddress}anthropic and {BaseAddress}gemini; /_sim/* is the test API.
public sealed class SimulatorHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SimulatorHost(WebApplication app, SimulatorState state, FaultInjector faults, Uri baseAddress)
    {
        _app = app;
        State = state;
        Faults = faults;
        BaseAddress = baseAddress;
    }

    public SimulatorState State { get; }

    public FaultInjector Faults { get; }

    public Uri BaseAddress { get; }

    public Uri OpenAiBaseUrl => new(BaseAddress, "openai/v1");

    public Uri AnthropicBaseUrl => new(BaseAddress, "anthropic");

    public Uri GeminiBaseUrl => new(BaseAddress, "gemini");

    public static async Task<SimulatorHost> StartAsync(SimulatorOptions options, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(options.LogLevel);
        builder.WebHost.UseUrls($"http://{options.ListenAddress}:{options.Port.ToString(CultureInfo.InvariantCulture)}");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 50 * 1024 * 1024);

        var time = TimeProvider.System;
        var state = new SimulatorState();
        var faults = new FaultInjector(state, time) { Settings = options.Faults };
        var jwt = new AppJwtVerifier(AppJwtVerifier.ImportKey(options.AppKeyPem), options.AppId, time);

        var app = builder.Build();
        app.UseRouting();
        app.Use((http, next) => ApplyFaultsAsync(http, next, state, faults));
        GitHubApi.Map(app, state, jwt, faults, time);
        LlmApi.Map(app, state);
        MapAdmin(app, state, faults);

        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new SimulatorHost(app, state, faults, new Uri(address.TrimEnd('/') + "/"));
    }

    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static async Task ApplyFaultsAsync(HttpContext http, RequestDelegate next, SimulatorState state, FaultInjector faults)
    {
        var path = http.Request.Path;
        if (path.StartsWithSegments("/_sim"))
        {
            await next(http);
            return;
        }

        var llm = path.StartsWithSegments("/openai") || path.StartsWithSegments("/anthropic") || path.StartsWithSegments("/gemini");
        var target = llm ? "llm" : "github";
        var label = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? path.Value ?? "";
        state.CountRequest($"{http.Request.Method} {label}");

        // Validating a key lists models: left alone, so setting up an installation never flakes.
        if (llm && !LlmApi.IsCompletion(http))
        {
            await next(http);
            return;
        }

        var credential = (llm ? LlmApi.Credential(http) : GitHubApi.Bearer(http)) ?? "anonymous";
        var request = llm ? await LlmApi.RequestIdentityAsync(http) : http.Request.Method + " " + path.Value + http.Request.QueryString.Value;
        if (faults.CheckDeadline(target, credential, request, http.Request.Method, path.Value ?? "") is { } early)
        {
            await WriteFaultAsync(http, llm, early);
            return;
        }

        if (llm)
        {
            state.EnterLlm(credential);
        }

        try
        {
            var latency = faults.Latency(target);
            if (latency > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(latency, http.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            if (faults.Decide(target, credential, request) is { } fault)
            {
                await WriteFaultAsync(http, llm, fault);
                return;
            }

            await next(http);
        }
        finally
        {
            if (llm)
            {
                state.ExitLlm(credential);
            }
        }
    }

    private static Task WriteFaultAsync(HttpContext http, bool llm, FaultDecision fault)
    {
        if (llm)
        {
            return LlmApi.Fault(http, fault.Status, fault.RetryAfter).ExecuteAsync(http);
        }

        var headers = http.Response.Headers;
        headers["x-ratelimit-limit"] = "5000";
        headers["x-ratelimit-resource"] = "core";
        if (fault.RateLimitReset is { } reset)
        {
            // "Rate limits for the REST API" → primary rate limit: 403 (or 429), remaining 0, reset epoch seconds.
            headers["x-ratelimit-remaining"] = "0";
            headers["x-ratelimit-reset"] = reset.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            return GitHubApi.Error(403, "API rate limit exceeded for installation. If you reach out to GitHub Support for help, please include the request ID.").ExecuteAsync(http);
        }

        if (fault.RetryAfter is { } wait)
        {
            // Secondary rate limit: Retry-After in seconds.
            headers.RetryAfter = FaultInjector.Seconds(wait);
            headers["x-ratelimit-remaining"] = "4000";
            return GitHubApi.Error(429, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.").ExecuteAsync(http);
        }

        return GitHubApi.Error(fault.Status, fault.Status == 502 ? "Server Error" : "Service Unavailable").ExecuteAsync(http);
    }

    private static void MapAdmin(WebApplication app, SimulatorState state, FaultInjector faults)
    {
        app.MapGet("/_sim/health", () => Results.Text("ok"));
        app.MapGet("/_sim/state", () => Results.Json(state.Snapshot()));

        // Counts only: cheap enough to poll during a load run with thousands of reviews.
        app.MapGet("/_sim/stats", () => Results.Json(state.Stats()));
        app.MapGet("/_sim/faults", () => Results.Json(faults.Settings));
        app.MapPost("/_sim/faults", (FaultSettings settings) =>
        {
            faults.Settings = settings;
            return Results.Json(settings);
        });

        // {"installationId":1,"repo":"o/r","number":2,"title":"...","body":"...","baseSha":"...","headSha":"...","diff":"modification-multiple-hunks"}
        // or "diffText" with a whole `git diff`.
        app.MapPost("/_sim/pulls", async (HttpContext http) =>
        {
            var body = await JsonNode.ParseAsync(http.Request.Body);
            if (body is null || (string?)body["repo"] is not { } repo || (string?)body["headSha"] is not { } head)
            {
                return Results.BadRequest("repo and headSha are required");
            }

            var files = Files(body);
            var pull = state.AddPull((long?)body["installationId"] ?? 1, repo, (int?)body["number"] ?? 1, (string?)body["title"] ?? "Simulated pull request",
                (string?)body["body"], (string?)body["baseSha"] ?? new string('0', 40), head, files ?? [], (bool?)body["draft"] ?? false);
            return Results.Json(new { pull.Repo, pull.Number, head = pull.Head.Sha, files = pull.Head.Files.Select(f => f.Filename) });
        });

        // A new push: {"headSha":"...","diff":"...","message":"...","rewritten":false}.
        app.MapPost("/_sim/pulls/{owner}/{repo}/{number:int}/push", async (HttpContext http, string owner, string repo, int number) =>
        {
            var body = await JsonNode.ParseAsync(http.Request.Body);
            if ((string?)body?["headSha"] is not { } head)
            {
                return Results.BadRequest("headSha is required");
            }

            var pull = state.Push($"{owner}/{repo}", number, head, Files(body!), (string?)body!["message"] ?? "Push", (bool?)body["rewritten"] ?? false);
            return pull is null ? Results.NotFound() : Results.Json(new { pull.Repo, pull.Number, head = pull.Head.Sha });
        });

        app.MapPost("/_sim/pulls/{owner}/{repo}/{number:int}/close", (string owner, string repo, int number) =>
        {
            if (state.FindPull($"{owner}/{repo}", number) is not { } pull)
            {
                return Results.NotFound();
            }

            pull.State = "closed";
            return Results.Ok();
        });

        // A GitHub user access token and the installations GET /user/installations lists for it.
        app.MapPost("/_sim/user-tokens", async (HttpContext http) =>
        {
            var body = await JsonNode.ParseAsync(http.Request.Body);
            if ((string?)body?["token"] is not { } token)
            {
                return Results.BadRequest("token is required");
            }

            state.AddUserToken(token, [.. (body!["installations"] as JsonArray ?? []).Select(n => (long)n!)]);
            return Results.Ok();
        });
    }

    private static IReadOnlyList<DiffFile>? Files(JsonNode body) =>
        (string?)body["diffText"] is { } text ? GitDiff.Split(text)
        : (string?)body["diff"] is { } name ? GitDiff.Split(GitDiff.Load(name))
        : null;
}
