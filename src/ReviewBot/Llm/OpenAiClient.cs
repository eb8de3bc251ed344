using System.Net;
using System.Net.Http.Headers;
using ReviewBot.Observability;
using ReviewBot.Upstream;

namespace ReviewBot.Llm;

// OpenAI Chat Completions with Structured Outputs (response_format json_schema, strict), no SDK.
// The same request works against OpenAI-compatible servers at OPENAI_BASE_URL (vLLM, Ollama,
// LiteLLM, Azure's v1 endpoint): only `model`, `messages`, `response_format` and
// `max_completion_tokens` are sent.
// https://platform.openai.com/docs/api-reference/chat/create
// https://platform.openai.com/docs/guides/structured-outputs
internal sealed class OpenAiClient(HttpClient http, string apiKey, ReviewBotMetrics metrics, ILogger<OpenAiClient> logger, CredentialCooldown? cooldown = null)
    : LlmClientBase(http, metrics, logger, CredentialKey.ForSecret("openai", apiKey), cooldown)
{
    public override LlmProvider Provider => LlmProvider.OpenAi;

    protected override async Task<LlmCompletion> SendCompletionAsync(LlmCompletionRequest request, CancellationToken cancellationToken)
    {
        var body = new OpenAiChatRequest(
            request.Model,
            [new OpenAiMessage("system", request.SystemPrompt), new OpenAiMessage("user", request.UserPrompt)],
            new OpenAiResponseFormat("json_schema", new OpenAiJsonSchema(request.SchemaName, true, request.JsonSchema)),
            request.MaxOutputTokens);

        using var message = new HttpRequestMessage(HttpMethod.Post, "chat/completions")
        {
            Content = JsonBody(body, LlmJsonContext.Default.OpenAiChatRequest),
        };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);

        using var response = await Http.SendAsync(message, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return MapError(response, text);
        }

        var parsed = TryDeserialize(text, LlmJsonContext.Default.OpenAiChatResponse);
        var choice = parsed?.Choices is { Count: > 0 } choices ? choices[0] : null;
        var input = parsed?.Usage?.PromptTokens ?? 0;
        var output = parsed?.Usage?.CompletionTokens ?? 0;
        if (choice?.Message is null)
        {
            return new LlmCompletion(LlmOutcome.InvalidOutput, null, input, output, "The OpenAI API answered without a message.");
        }

        // A structured-output refusal comes as `message.refusal` with no content.
        if (!string.IsNullOrEmpty(choice.Message.Refusal))
        {
            return new LlmCompletion(LlmOutcome.Refused, null, input, output, "The model refused: " + Shorten(choice.Message.Refusal));
        }

        if (choice.FinishReason == "length")
        {
            return new LlmCompletion(LlmOutcome.Truncated, choice.Message.Content, input, output, "The model's answer was cut off at the output token limit.");
        }

        if (choice.FinishReason == "content_filter")
        {
            return new LlmCompletion(LlmOutcome.Refused, null, input, output, "The answer was withheld by OpenAI's content filter.");
        }

        if (string.IsNullOrWhiteSpace(choice.Message.Content))
        {
            return new LlmCompletion(LlmOutcome.InvalidOutput, null, input, output, "The model answered with no content.");
        }

        return new LlmCompletion(LlmOutcome.Success, choice.Message.Content, input, output);
    }

    // https://platform.openai.com/docs/api-reference/models/list
    protected override HttpRequestMessage CreateListModelsRequest()
    {
        var message = new HttpRequestMessage(HttpMethod.Get, "models");
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return message;
    }

    // Error codes: https://platform.openai.com/docs/guides/error-codes
    private LlmCompletion MapError(HttpResponseMessage response, string text)
    {
        var error = TryDeserialize(text, LlmJsonContext.Default.OpenAiErrorResponse)?.Error;
        var code = error?.Code is { ValueKind: System.Text.Json.JsonValueKind.String } c ? c.GetString() : null;
        var status = (int)response.StatusCode;
        return response.StatusCode switch
        {
            // The 401 message quotes part of the key; it is never repeated.
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new LlmCompletion(LlmOutcome.KeyRejected, null, 0, 0,
                $"The OpenAI API key was rejected ({status}). Update it in the ReviewBot settings."),
            HttpStatusCode.TooManyRequests when code == "insufficient_quota" || error?.Type == "insufficient_quota" => new LlmCompletion(LlmOutcome.QuotaExhausted, null, 0, 0,
                "The OpenAI account has run out of quota (429 insufficient_quota). Check the plan and billing details of the account that owns the API key."),
            HttpStatusCode.NotFound => new LlmCompletion(LlmOutcome.ModelNotFound, null, 0, 0,
                $"The OpenAI API does not offer the configured model (404{(code is null ? string.Empty : " " + code)}). Choose another model in the ReviewBot settings."),
            HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout or HttpStatusCode.Conflict or >= HttpStatusCode.InternalServerError => new LlmCompletion(LlmOutcome.Transient, null, 0, 0,
                $"The OpenAI API is busy or failing ({status}); the review will be retried.", RetryAfter(response)),
            _ => new LlmCompletion(LlmOutcome.BadRequest, null, 0, 0,
                $"The OpenAI API rejected the request ({status}): {Shorten(error?.Message ?? text)}"),
        };
    }
}
