using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using ReviewBot.Configuration;
using ReviewBot.Observability;
using ReviewBot.Upstream;

namespace ReviewBot.GitHub;

// How a call may be repeated, which decides its Polly pipeline.
internal enum GitHubCallClass
{
    // GETs and token creation: every GitHub retry rule applies.
    Read,

    // PATCH of a check run: repeating it leaves the same state, so 5xx and timeouts are retried too.
    IdempotentWrite,

    // Creating a review or a check run: a 5xx or timeout may hide a success, so only rate limits
    // (refused before any work) are retried inline; anything else goes back to the job, which
    // looks for its marker before posting again (CONTRACT §4).
    Create,
}

// The one way ReviewBot talks to the GitHub REST API: base URL (GITHUB_API_URL, so GitHub
// Enterprise Server works), standard headers, retries by GitHub's rules, metrics, errors as values.
internal sealed partial class GitHubRest
{
    // Short waits are retried inside the call; anything longer is returned (RateLimited/Transient
    // with a time) so a worker is never held for minutes.
    public static readonly TimeSpan MaxInlineWait = TimeSpan.FromSeconds(10);
    public const int MaxInlineRetries = 2;
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(30);

    private static readonly ResiliencePropertyKey<RetryDecision> DecisionKey = new("reviewbot.github.retry-decision");

    private readonly HttpClient _http;
    private readonly Uri _baseUrl;
    private readonly TimeProvider _time;
    private readonly ReviewBotMetrics _metrics;
    private readonly ILogger<GitHubRest> _logger;
    private readonly CredentialCooldown _cooldown;
    private readonly Dictionary<GitHubCallClass, ResiliencePipeline<HttpResponseMessage>> _pipelines;

    // "Best practices for using the REST API" → "Avoid concurrent requests": mutating calls for one
    // installation go out one at a time.
    private readonly ConcurrentDictionary<long, SemaphoreSlim> _writeGates = new();

    public GitHubRest(HttpClient http, ReviewBotOptions options, TimeProvider time, ReviewBotMetrics metrics, ILogger<GitHubRest> logger, CredentialCooldown? cooldown = null)
    {
        _cooldown = cooldown ?? new CredentialCooldown(time);
        _http = http;
        _baseUrl = new Uri(options.GitHubApiUrl.ToString().TrimEnd('/') + "/");
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _pipelines = Enum.GetValues<GitHubCallClass>().ToDictionary(c => c, BuildPipeline);
    }

    public Uri Resolve(string relativePath) => new(_baseUrl, relativePath);

    // credential: whose rate limit the call counts against (the installation, or the App for JWT
    // calls). A wait GitHub names for it holds every call with it, not just this one.
    public async Task<GitHubResult<T>> SendAsync<T>(
        string operation,
        GitHubCallClass callClass,
        CredentialKey credential,
        long? writeGateInstallation,
        Func<HttpRequestMessage> createRequest,
        Func<HttpResponseMessage, CancellationToken, Task<T>> readValue,
        CancellationToken cancellationToken)
    {
        SemaphoreSlim? gate = null;
        if (writeGateInstallation is { } installationId)
        {
            gate = _writeGates.GetOrAdd(installationId, _ => new SemaphoreSlim(1, 1));
            await gate.WaitAsync(cancellationToken);
        }

        var context = ResilienceContextPool.Shared.Get(operation, cancellationToken);
        try
        {
            var outcome = await _pipelines[callClass].ExecuteOutcomeAsync(
                static async (ctx, state) =>
                {
                    var (self, operation, credential, createRequest) = state;

                    // Right before every attempt, retries included: another call with this
                    // credential may have been told to wait since this one started.
                    try
                    {
                        if (await self._cooldown.WaitAsync(credential, MaxInlineWait, ctx.CancellationToken) is { } until)
                        {
                            return Outcome.FromException<HttpResponseMessage>(new CredentialCoolingDownException(until));
                        }
                    }
                    catch (OperationCanceledException ex)
                    {
                        return Outcome.FromException<HttpResponseMessage>(ex);
                    }

                    using var request = createRequest();
                    try
                    {
                        var response = await self._http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ctx.CancellationToken);
                        self._metrics.GitHubRequests.WithLabels(operation, ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
                        await self.HoldCredentialAsync(credential, response);
                        return Outcome.FromResult(response);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
                    {
                        self._metrics.GitHubRequests.WithLabels(operation, "error").Inc();
                        return Outcome.FromException<HttpResponseMessage>(ex);
                    }
                },
                context,
                (this, operation, credential, createRequest));

            if (outcome.Exception is CredentialCoolingDownException coolingDown && !cancellationToken.IsCancellationRequested)
            {
                // Not sent: the credential's wait is longer than a call may sit out, so the caller
                // gets the time back as a value (the job is released until then).
                Log.HeldBack(_logger, operation, credential.Value, _cooldown.Remaining(coolingDown.Until).TotalSeconds);
                return GitHubResult<T>.Failure(GitHubOutcome.RateLimited,
                    $"GitHub asked ReviewBot to pause requests for this {(credential == CredentialKey.GitHubApp ? "App" : "installation")} until {coolingDown.Until:HH:mm:ss} UTC",
                    retryAt: coolingDown.Until);
            }

            if (outcome.Exception is { } exception)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    throw new OperationCanceledException(cancellationToken);
                }

                Log.NoResponse(_logger, operation, exception.GetType().Name);
                var backoff = GitHubRetryRules.ForNoResponse(MaxInlineRetries).Delay;
                return GitHubResult<T>.Failure(GitHubOutcome.Transient, $"No response from GitHub ({exception.GetType().Name})", retryAfter: backoff);
            }

            using var response = outcome.Result!;
            return await ToResultAsync(operation, response, readValue, cancellationToken);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
            gate?.Release();
        }
    }

    public static Func<HttpResponseMessage, CancellationToken, Task<T>> Json<T>(JsonTypeInfo<T> typeInfo) =>
        async (response, ct) =>
        {
            await using var stream = await response.Content.ReadAsStreamAsync(ct);
            return (await JsonSerializer.DeserializeAsync(stream, typeInfo, ct))!;
        };

    public static HttpContent JsonBody<T>(T value, JsonTypeInfo<T> typeInfo) =>
        System.Net.Http.Json.JsonContent.Create(value, typeInfo);

    private async Task<GitHubResult<T>> ToResultAsync<T>(
        string operation, HttpResponseMessage response, Func<HttpResponseMessage, CancellationToken, Task<T>> readValue, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        if (response.IsSuccessStatusCode)
        {
            try
            {
                return GitHubResult<T>.Ok(await readValue(response, cancellationToken)) with { StatusCode = status };
            }
            catch (JsonException ex)
            {
                Log.UnreadableResponse(_logger, operation, status, ex.Message);
                return GitHubResult<T>.Failure(GitHubOutcome.Unprocessable, "GitHub answered with a body ReviewBot cannot read", status);
            }
        }

        var body = await ReadBodyAsync(response, cancellationToken);
        var message = ErrorMessage(body) ?? response.ReasonPhrase ?? status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var now = _time.GetUtcNow();
        var decision = GitHubRetryRules.Classify(response.StatusCode, response.Headers, body, MaxInlineRetries, now);
        Log.Failed(_logger, operation, status, message);

        return decision.Kind switch
        {
            RetryKind.RateLimited => GitHubResult<T>.Failure(GitHubOutcome.RateLimited, message, status, retryAt: now + decision.Delay),
            RetryKind.Transient => GitHubResult<T>.Failure(GitHubOutcome.Transient, message, status, retryAfter: decision.Delay),
            _ => status switch
            {
                401 => GitHubResult<T>.Failure(GitHubOutcome.Unauthorized, message, status),
                403 => GitHubResult<T>.Failure(GitHubOutcome.Forbidden, message, status),
                404 or 410 => GitHubResult<T>.Failure(GitHubOutcome.NotFound, message, status),
                408 => GitHubResult<T>.Failure(GitHubOutcome.Transient, message, status, retryAfter: GitHubRetryRules.Backoff(MaxInlineRetries)),
                _ => GitHubResult<T>.Failure(GitHubOutcome.Unprocessable, message, status),
            },
        };
    }

    private ResiliencePipeline<HttpResponseMessage> BuildPipeline(GitHubCallClass callClass) =>
        new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = MaxInlineRetries,
                ShouldHandle = async args =>
                {
                    var decision = await DecideAsync(callClass, args.Outcome, args.AttemptNumber);
                    if (decision.Kind == RetryKind.None || decision.Delay > MaxInlineWait)
                    {
                        return false;
                    }

                    args.Context.Properties.Set(DecisionKey, decision);
                    return true;
                },
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(
                    args.Context.Properties.TryGetValue(DecisionKey, out var decision) ? decision.Delay : TimeSpan.Zero),
                OnRetry = args =>
                {
                    Log.Retrying(_logger, args.Context.OperationKey ?? "", args.Outcome.Result is { } r ? (int)r.StatusCode : 0, args.RetryDelay.TotalMilliseconds);
                    args.Outcome.Result?.Dispose();
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(AttemptTimeout)
            .Build();

    private async ValueTask<RetryDecision> DecideAsync(GitHubCallClass callClass, Outcome<HttpResponseMessage> outcome, int attempt)
    {
        if (outcome.Exception is { } exception)
        {
            // Polly stops on its own when the caller cancelled; any other cancellation is a timeout.
            var noResponse = exception is HttpRequestException or TimeoutRejectedException or OperationCanceledException;
            return noResponse && callClass != GitHubCallClass.Create ? GitHubRetryRules.ForNoResponse(attempt) : RetryDecision.None;
        }

        var response = outcome.Result!;
        if (response.IsSuccessStatusCode)
        {
            return RetryDecision.None;
        }

        var code = (int)response.StatusCode;
        var body = code is 403 or 429 ? await ReadBodyAsync(response, CancellationToken.None) : null;
        var decision = GitHubRetryRules.Classify(response.StatusCode, response.Headers, body, attempt, _time.GetUtcNow());
        return decision.Kind == RetryKind.Transient && callClass == GitHubCallClass.Create ? RetryDecision.None : decision;
    }

    // A rate limit (Retry-After, x-ratelimit-remaining 0 until x-ratelimit-reset, or a secondary
    // limit without a time) or a 5xx's Retry-After: every call with this credential waits.
    private async Task HoldCredentialAsync(CredentialKey credential, HttpResponseMessage response)
    {
        if (await CredentialWaitAsync(response, _time.GetUtcNow()) is { } delay && delay > TimeSpan.Zero)
        {
            _cooldown.HoldFor(credential, delay);
        }
    }

    // How long GitHub's answer says the credential that got it must wait, or null when it says nothing
    // of the kind (success, a 403 that is a permission problem, a 5xx without Retry-After). Shared with
    // the user-token client (GitHubUserClient), whose tokens follow the same rules.
    internal static async Task<TimeSpan?> CredentialWaitAsync(HttpResponseMessage response, DateTimeOffset now)
    {
        var code = (int)response.StatusCode;
        if (code is not (403 or 429) && response.Headers.RetryAfter is null)
        {
            return null;
        }

        var body = code is 403 or 429 ? await ReadBodyAsync(response, CancellationToken.None) : null;
        var decision = GitHubRetryRules.Classify(response.StatusCode, response.Headers, body, 0, now);
        return decision.Kind switch
        {
            RetryKind.RateLimited => decision.Delay,
            RetryKind.Transient => GitHubRetryRules.RetryAfter(response.Headers, now),
            _ => null,
        };
    }

    private static async Task<string?> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidOperationException)
        {
            return null;
        }
    }

    // GitHub error bodies: {"message": "...", "errors": [...], "documentation_url": "..."}.
    private static string? ErrorMessage(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("message", out var message))
            {
                return null;
            }

            var text = message.GetString() ?? "";
            if (document.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0)
            {
                var details = errors.EnumerateArray()
                    .Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()
                        : e.ValueKind == JsonValueKind.Object && e.TryGetProperty("message", out var m) ? m.GetString()
                        : e.ValueKind == JsonValueKind.Object && e.TryGetProperty("code", out var c) ? $"{c.GetString()} ({(e.TryGetProperty("field", out var f) ? f.GetString() : "")})"
                        : null)
                    .Where(d => !string.IsNullOrEmpty(d));
                text += ": " + string.Join("; ", details);
            }

            return text.Length > 1000 ? text[..1000] : text;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "GitHub {Operation} answered {Status}: {Message}")]
        public static partial void Failed(ILogger logger, string operation, int status, string message);

        [LoggerMessage(2, LogLevel.Information, "GitHub {Operation} answered {Status}; retrying in {DelayMs} ms")]
        public static partial void Retrying(ILogger logger, string operation, int status, double delayMs);

        [LoggerMessage(3, LogLevel.Warning, "GitHub {Operation}: no response ({ErrorType})")]
        public static partial void NoResponse(ILogger logger, string operation, string errorType);

        [LoggerMessage(4, LogLevel.Warning, "GitHub {Operation} answered {Status} with an unreadable body: {Error}")]
        public static partial void UnreadableResponse(ILogger logger, string operation, int status, string error);

        [LoggerMessage(5, LogLevel.Information, "GitHub {Operation} not sent: credential {Credential} is cooling down for {Seconds:0.0} s more")]
        public static partial void HeldBack(ILogger logger, string operation, string credential, double seconds);
    }
}

// Carried as a Polly outcome (never thrown) when a call was not sent because its credential must
// wait longer than a call may sit out; SendAsync turns it into a RateLimited result.
internal sealed class CredentialCoolingDownException(DateTimeOffset until) : Exception("The credential is cooling down.")
{
    public DateTimeOffset Until { get; } = until;
}
