using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ReviewBot.Observability;
using ReviewBot.Upstream;

namespace ReviewBot.Llm;

// What the three clients share: sending with the per-request timeout, telling the caller's
// cancellation apart from a timeout, retry delays, the key's Retry-After shared by every request
// with that key (CredentialCooldown), and the metrics of CONTRACT §5.
internal abstract partial class LlmClientBase(HttpClient http, ReviewBotMetrics metrics, ILogger logger, CredentialKey credential, CredentialCooldown? cooldown) : ILlmClient
{
    // The longest wait for the key's cooldown spent inside a call, the same bound as the review's
    // inline retries (ReviewEngineOptions.MaxTransientRetryDelay); a longer one is answered as a
    // Transient outcome with the remaining time, so the job goes back to the queue until then.
    public static readonly TimeSpan MaxCooldownWait = TimeSpan.FromSeconds(30);

    private readonly CredentialCooldown _cooldown = cooldown ?? new CredentialCooldown(TimeProvider.System);

    protected HttpClient Http { get; } = http;

    public abstract LlmProvider Provider { get; }

    protected string DisplayName => Provider switch
    {
        LlmProvider.OpenAi => "OpenAI",
        LlmProvider.Anthropic => "Anthropic",
        _ => "Gemini",
    };

    public async Task<LlmCompletion> CompleteAsync(LlmCompletionRequest request, CancellationToken cancellationToken)
    {
        var provider = Provider.ToWireName();

        // Another request with this key was told to wait (429 + Retry-After): nothing goes out
        // with the key before then. Not sent, so not counted as a request.
        if (await _cooldown.WaitAsync(credential, MaxCooldownWait, cancellationToken) is { } until)
        {
            var remaining = _cooldown.Remaining(until);
            Log.HeldBack(logger, provider, credential.Value, remaining.TotalSeconds);
            return new LlmCompletion(LlmOutcome.Transient, null, 0, 0,
                $"The {DisplayName} API asked ReviewBot to pause requests with this key for {Math.Ceiling(remaining.TotalSeconds):0} more seconds; the review will be retried then.",
                remaining);
        }

        var started = Stopwatch.GetTimestamp();
        LlmCompletion result;
        try
        {
            result = await SendCompletionAsync(request, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            metrics.LlmRequests.WithLabels(provider, "cancelled").Inc();
            throw;
        }
        catch (OperationCanceledException)
        {
            // HttpClient.Timeout elapsed (the caller's token was not cancelled).
            result = new LlmCompletion(LlmOutcome.Transient, null, 0, 0,
                $"The {DisplayName} API did not answer within {Http.Timeout.TotalSeconds:0} seconds.");
        }
        catch (HttpRequestException ex)
        {
            result = new LlmCompletion(LlmOutcome.Transient, null, 0, 0,
                $"The {DisplayName} API could not be reached ({ex.HttpRequestError}).");
        }

        // The wait belongs to the key, so the review's other chunks and the installation's other
        // jobs hold back too (OpenAI, Anthropic and Gemini rate limits are per key / organization).
        if (result.Outcome == LlmOutcome.Transient && result.RetryAfter is { } wait && wait > TimeSpan.Zero)
        {
            _cooldown.HoldFor(credential, wait);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        metrics.LlmRequestDuration.WithLabels(provider).Observe(elapsed.TotalSeconds);
        if (result.Outcome == LlmOutcome.Success)
        {
            Log.Completed(logger, provider, request.Model, elapsed.TotalSeconds, result.InputTokens, result.OutputTokens);
        }
        else
        {
            // Messages are ReviewBot's own words plus the provider's error text, never the key.
            Log.Failed(logger, provider, request.Model, OutcomeLabel(result.Outcome), elapsed.TotalSeconds, result.Message);
        }

        metrics.LlmRequests.WithLabels(provider, OutcomeLabel(result.Outcome)).Inc();
        if (result.InputTokens > 0)
        {
            metrics.LlmTokens.WithLabels(provider, "input").Inc(result.InputTokens);
        }

        if (result.OutputTokens > 0)
        {
            metrics.LlmTokens.WithLabels(provider, "output").Inc(result.OutputTokens);
        }

        return result;
    }

    public async Task<KeyValidation> ValidateKeyAsync(CancellationToken cancellationToken)
    {
        try
        {
            // A key told to wait is not asked again before its deadline; a long wait reads as the
            // provider being unavailable for now (502, "try again later").
            if (await _cooldown.WaitAsync(credential, MaxValidationCooldownWait, cancellationToken) is not null)
            {
                return KeyValidation.Unreachable;
            }

            using var request = CreateListModelsRequest();
            using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return KeyValidation.Valid;
            }

            if (response.StatusCode == HttpStatusCode.TooManyRequests && RetryAfter(response) is { } wait)
            {
                _cooldown.HoldFor(credential, wait);
            }

            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            return IsKeyRejection(response.StatusCode, body) ? KeyValidation.Rejected : KeyValidation.Unreachable;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return KeyValidation.Unreachable;
        }
        catch (HttpRequestException)
        {
            return KeyValidation.Unreachable;
        }
    }

    // Validation answers a settings request that a person is waiting on.
    private static readonly TimeSpan MaxValidationCooldownWait = TimeSpan.FromSeconds(5);

    protected abstract Task<LlmCompletion> SendCompletionAsync(LlmCompletionRequest request, CancellationToken cancellationToken);

    protected abstract HttpRequestMessage CreateListModelsRequest();

    protected virtual bool IsKeyRejection(HttpStatusCode status, string body) => status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden;

    protected static HttpContent JsonBody<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(value, typeInfo));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }

    protected static T? TryDeserialize<T>(string body, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(body, typeInfo);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // OpenAI sends `retry-after-ms` beside `retry-after` (https://platform.openai.com/docs/guides/rate-limits);
    // Anthropic sends `retry-after` in seconds (https://docs.anthropic.com/en/api/rate-limits); both are
    // the standard header otherwise (RFC 9110 §10.2.3: delay-seconds or an HTTP date).
    internal static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider? time = null)
    {
        if (response.Headers.TryGetValues("retry-after-ms", out var ms) &&
            double.TryParse(ms.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds) &&
            milliseconds >= 0)
        {
            return TimeSpan.FromMilliseconds(milliseconds);
        }

        var retryAfter = response.Headers.RetryAfter;
        if (retryAfter?.Delta is { } delta)
        {
            return delta;
        }

        if (retryAfter?.Date is { } date)
        {
            var wait = date - (time ?? TimeProvider.System).GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    protected static string Shorten(string? text, int max = 300)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return string.Empty;
        }

        var builder = new StringBuilder();
        foreach (var c in text)
        {
            if (builder.Length >= max)
            {
                builder.Append('…');
                break;
            }

            builder.Append(char.IsControl(c) ? ' ' : c);
        }

        return builder.ToString().Trim();
    }

    internal static string OutcomeLabel(LlmOutcome outcome) => outcome switch
    {
        LlmOutcome.Success => "success",
        LlmOutcome.KeyRejected => "key_rejected",
        LlmOutcome.QuotaExhausted => "quota_exhausted",
        LlmOutcome.Transient => "transient",
        LlmOutcome.Refused => "refused",
        LlmOutcome.Truncated => "truncated",
        LlmOutcome.InvalidOutput => "invalid_output",
        LlmOutcome.ModelNotFound => "model_not_found",
        LlmOutcome.BadRequest => "bad_request",
        _ => "other",
    };

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "LLM request to {Provider} ({Model}) answered in {Seconds:0.0} s: {InputTokens} input and {OutputTokens} output tokens")]
        public static partial void Completed(ILogger logger, string provider, string model, double seconds, int inputTokens, int outputTokens);

        [LoggerMessage(2, LogLevel.Warning, "LLM request to {Provider} ({Model}) ended {Outcome} after {Seconds:0.0} s: {Detail}")]
        public static partial void Failed(ILogger logger, string provider, string model, string outcome, double seconds, string? detail);

        [LoggerMessage(3, LogLevel.Information, "LLM request to {Provider} not sent: credential {Credential} is cooling down for {Seconds:0.0} s more")]
        public static partial void HeldBack(ILogger logger, string provider, string credential, double seconds);
    }
}
