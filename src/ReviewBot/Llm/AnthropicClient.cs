using System.Net;
using ReviewBot.Observability;
using ReviewBot.Upstream;

namespace ReviewBot.Llm;

// Anthropic Messages with one tool the model is forced to call: the tool's input is the review
// object, validated by the tool's input_schema. No SDK.
// https://docs.anthropic.com/en/api/messages
// https://docs.anthropic.com/en/docs/build-with-claude/tool-use#forcing-tool-use
internal sealed class AnthropicClient(HttpClient http, string apiKey, ReviewBotMetrics metrics, ILogger<AnthropicClient> logger, CredentialCooldown? cooldown = null)
    : LlmClientBase(http, metrics, logger, CredentialKey.ForSecret("anthropic", apiKey), cooldown)
{
    // https://docs.anthropic.com/en/api/versioning
    private const string ApiVersion = "2023-06-01";

    public override LlmProvider Provider => LlmProvider.Anthropic;

    protected override async Task<LlmCompletion> SendCompletionAsync(LlmCompletionRequest request, CancellationToken cancellationToken)
    {
        var body = new AnthropicRequest(
            request.Model,
            request.MaxOutputTokens,
            request.SystemPrompt,
            [new AnthropicMessage("user", request.UserPrompt)],
            [new AnthropicTool(request.SchemaName, "Submit the result as one JSON object.", request.JsonSchema)],
            new AnthropicToolChoice("tool", request.SchemaName));

        using var message = new HttpRequestMessage(HttpMethod.Post, "v1/messages")
        {
            Content = JsonBody(body, LlmJsonContext.Default.AnthropicRequest),
        };
        AddHeaders(message);

        using var response = await Http.SendAsync(message, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return MapError(response, text);
        }

        var parsed = TryDeserialize(text, LlmJsonContext.Default.AnthropicResponse);
        var usage = parsed?.Usage;
        var input = usage is null ? 0 : usage.InputTokens + (usage.CacheCreationInputTokens ?? 0) + (usage.CacheReadInputTokens ?? 0);
        var output = usage?.OutputTokens ?? 0;
        if (parsed is null)
        {
            return new LlmCompletion(LlmOutcome.InvalidOutput, null, input, output, "The Anthropic API answered with something other than a message.");
        }

        // stop_reason values: https://docs.anthropic.com/en/api/handling-stop-reasons
        if (parsed.StopReason == "refusal")
        {
            return new LlmCompletion(LlmOutcome.Refused, null, input, output, "The model declined to answer (stop_reason refusal).");
        }

        if (parsed.StopReason == "max_tokens")
        {
            return new LlmCompletion(LlmOutcome.Truncated, null, input, output, "The model's answer was cut off at max_tokens.");
        }

        var tool = parsed.Content?.FirstOrDefault(b => b.Type == "tool_use" && b.Name == request.SchemaName);
        if (tool?.Input is not { ValueKind: System.Text.Json.JsonValueKind.Object } json)
        {
            return new LlmCompletion(LlmOutcome.InvalidOutput, null, input, output, "The model did not call the review tool.");
        }

        return new LlmCompletion(LlmOutcome.Success, json.GetRawText(), input, output);
    }

    // https://docs.anthropic.com/en/api/models-list
    protected override HttpRequestMessage CreateListModelsRequest()
    {
        var message = new HttpRequestMessage(HttpMethod.Get, "v1/models");
        AddHeaders(message);
        return message;
    }

    private void AddHeaders(HttpRequestMessage message)
    {
        message.Headers.TryAddWithoutValidation("x-api-key", apiKey);
        message.Headers.TryAddWithoutValidation("anthropic-version", ApiVersion);
    }

    // https://docs.anthropic.com/en/api/errors: 401 authentication_error, 403 permission_error,
    // 404 not_found_error, 429 rate_limit_error, 500 api_error, 529 overloaded_error. An account out
    // of credit or over its spend limit gets 400 invalid_request_error whose message says so
    // ("Your credit balance is too low ...", "You have reached your specified API usage limits ...").
    private LlmCompletion MapError(HttpResponseMessage response, string text)
    {
        var error = TryDeserialize(text, LlmJsonContext.Default.AnthropicErrorResponse)?.Error;
        var status = (int)response.StatusCode;
        var detail = error?.Message ?? string.Empty;
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden || error?.Type is "authentication_error" or "permission_error")
        {
            return new LlmCompletion(LlmOutcome.KeyRejected, null, 0, 0,
                $"The Anthropic API key was rejected ({status}). Update it in the ReviewBot settings.");
        }

        if (detail.Contains("credit balance", StringComparison.OrdinalIgnoreCase) ||
            detail.Contains("usage limits", StringComparison.OrdinalIgnoreCase) ||
            error?.Type == "billing_error")
        {
            return new LlmCompletion(LlmOutcome.QuotaExhausted, null, 0, 0,
                $"The Anthropic account is out of credit or over its spend limit ({status}): {Shorten(detail)}");
        }

        return response.StatusCode switch
        {
            HttpStatusCode.NotFound => new LlmCompletion(LlmOutcome.ModelNotFound, null, 0, 0,
                $"The Anthropic API does not offer the configured model (404): {Shorten(detail)} Choose another model in the ReviewBot settings."),
            HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout or >= HttpStatusCode.InternalServerError => new LlmCompletion(LlmOutcome.Transient, null, 0, 0,
                $"The Anthropic API is busy or failing ({status}{(error?.Type is null ? string.Empty : " " + error.Type)}); the review will be retried.", RetryAfter(response)),
            _ => new LlmCompletion(LlmOutcome.BadRequest, null, 0, 0,
                $"The Anthropic API rejected the request ({status}): {Shorten(detail.Length > 0 ? detail : text)}"),
        };
    }
}
