using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text.Json;
using ReviewBot.Observability;
using ReviewBot.Upstream;

namespace ReviewBot.Llm;

// Gemini generateContent with responseMimeType application/json and a responseSchema. No SDK.
// The key goes in the x-goog-api-key header, never in the URL, so it cannot reach a log line.
// https://ai.google.dev/api/generate-content
// https://ai.google.dev/gemini-api/docs/structured-output
internal sealed class GeminiClient(HttpClient http, string apiKey, ReviewBotMetrics metrics, ILogger<GeminiClient> logger, CredentialCooldown? cooldown = null)
    : LlmClientBase(http, metrics, logger, CredentialKey.ForSecret("gemini", apiKey), cooldown)
{
    public override LlmProvider Provider => LlmProvider.Gemini;

    protected override async Task<LlmCompletion> SendCompletionAsync(LlmCompletionRequest request, CancellationToken cancellationToken)
    {
        var body = new GeminiRequest(
            new GeminiContent(null, [new GeminiPart(request.SystemPrompt)]),
            [new GeminiContent("user", [new GeminiPart(request.UserPrompt)])],
            new GeminiGenerationConfig("application/json", GeminiSchema.FromJsonSchema(request.JsonSchema), request.MaxOutputTokens));

        var model = request.Model.StartsWith("models/", StringComparison.Ordinal) ? request.Model["models/".Length..] : request.Model;
        using var message = new HttpRequestMessage(HttpMethod.Post, $"v1beta/models/{Uri.EscapeDataString(model)}:generateContent")
        {
            Content = JsonBody(body, LlmJsonContext.Default.GeminiRequest),
        };
        message.Headers.TryAddWithoutValidation("x-goog-api-key", apiKey);

        using var response = await Http.SendAsync(message, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return MapError(response, text);
        }

        var parsed = TryDeserialize(text, LlmJsonContext.Default.GeminiResponse);
        var usage = parsed?.UsageMetadata;
        var input = usage?.PromptTokenCount ?? 0;

        // Thinking tokens are billed as output (https://ai.google.dev/gemini-api/docs/thinking#pricing).
        var output = (usage?.CandidatesTokenCount ?? 0) + (usage?.ThoughtsTokenCount ?? 0);
        if (parsed?.PromptFeedback?.BlockReason is { } blocked)
        {
            return new LlmCompletion(LlmOutcome.Refused, null, input, output, $"Gemini blocked the prompt ({blocked}).");
        }

        var candidate = parsed?.Candidates is { Count: > 0 } candidates ? candidates[0] : null;
        if (candidate is null)
        {
            return new LlmCompletion(LlmOutcome.InvalidOutput, null, input, output, "The Gemini API answered without a candidate.");
        }

        // FinishReason: https://ai.google.dev/api/generate-content#FinishReason
        switch (candidate.FinishReason)
        {
            case "MAX_TOKENS":
                return new LlmCompletion(LlmOutcome.Truncated, null, input, output, "The model's answer was cut off at maxOutputTokens.");
            case "SAFETY" or "RECITATION" or "BLOCKLIST" or "PROHIBITED_CONTENT" or "SPII" or "IMAGE_SAFETY":
                return new LlmCompletion(LlmOutcome.Refused, null, input, output, $"Gemini withheld the answer ({candidate.FinishReason}).");
            case null or "STOP" or "FINISH_REASON_UNSPECIFIED":
                break;
            default:
                return new LlmCompletion(LlmOutcome.InvalidOutput, null, input, output, $"Gemini stopped with {candidate.FinishReason}.");
        }

        var json = string.Concat(candidate.Content?.Parts?.Where(p => p.Thought != true).Select(p => p.Text) ?? []);
        return json.Length == 0
            ? new LlmCompletion(LlmOutcome.InvalidOutput, null, input, output, "The model answered with no text.")
            : new LlmCompletion(LlmOutcome.Success, json, input, output);
    }

    // https://ai.google.dev/api/models#method:-models.list
    protected override HttpRequestMessage CreateListModelsRequest()
    {
        var message = new HttpRequestMessage(HttpMethod.Get, "v1beta/models?pageSize=1");
        message.Headers.TryAddWithoutValidation("x-goog-api-key", apiKey);
        return message;
    }

    protected override bool IsKeyRejection(HttpStatusCode status, string body) =>
        status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ||
        (status == HttpStatusCode.BadRequest && ErrorReason(TryDeserialize(body, LlmJsonContext.Default.GeminiErrorResponse)?.Error) == "API_KEY_INVALID");

    // Errors are google.rpc.Status with details (https://ai.google.dev/gemini-api/docs/troubleshooting):
    // 400 INVALID_ARGUMENT with ErrorInfo reason API_KEY_INVALID for a bad key, 403 PERMISSION_DENIED,
    // 404 NOT_FOUND for an unknown model, 429 RESOURCE_EXHAUSTED with RetryInfo.retryDelay, 500/503.
    private LlmCompletion MapError(HttpResponseMessage response, string text)
    {
        var error = TryDeserialize(text, LlmJsonContext.Default.GeminiErrorResponse)?.Error;
        var status = (int)response.StatusCode;
        var reason = ErrorReason(error);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden || reason == "API_KEY_INVALID")
        {
            return new LlmCompletion(LlmOutcome.KeyRejected, null, 0, 0,
                $"The Gemini API key was rejected ({status}{(reason is null ? string.Empty : " " + reason)}). Update it in the ReviewBot settings.");
        }

        return response.StatusCode switch
        {
            HttpStatusCode.NotFound => new LlmCompletion(LlmOutcome.ModelNotFound, null, 0, 0,
                $"The Gemini API does not offer the configured model (404): {Shorten(error?.Message)} Choose another model in the ReviewBot settings."),
            HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout or >= HttpStatusCode.InternalServerError => new LlmCompletion(LlmOutcome.Transient, null, 0, 0,
                $"The Gemini API is busy or over its rate limit ({status}{(error?.Status is null ? string.Empty : " " + error.Status)}); the review will be retried.",
                RetryDelay(error) ?? RetryAfter(response)),
            _ => new LlmCompletion(LlmOutcome.BadRequest, null, 0, 0,
                $"The Gemini API rejected the request ({status}): {Shorten(error?.Message ?? text)}"),
        };
    }

    private static string? ErrorReason(GeminiError? error)
    {
        foreach (var detail in error?.Details ?? [])
        {
            if (detail.ValueKind == JsonValueKind.Object &&
                detail.TryGetProperty("@type", out var type) && type.GetString()?.EndsWith("google.rpc.ErrorInfo", StringComparison.Ordinal) == true &&
                detail.TryGetProperty("reason", out var reason))
            {
                return reason.GetString();
            }
        }

        return null;
    }

    // google.rpc.RetryInfo.retryDelay is a protobuf Duration in JSON: "37s", "0.5s".
    internal static TimeSpan? RetryDelay(GeminiError? error)
    {
        foreach (var detail in error?.Details ?? [])
        {
            if (detail.ValueKind == JsonValueKind.Object &&
                detail.TryGetProperty("@type", out var type) && type.GetString()?.EndsWith("google.rpc.RetryInfo", StringComparison.Ordinal) == true &&
                detail.TryGetProperty("retryDelay", out var delay) && delay.GetString() is { Length: > 1 } text && text.EndsWith('s') &&
                double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
            {
                return TimeSpan.FromSeconds(seconds);
            }
        }

        return null;
    }
}

// JSON Schema (the OpenAI strict subset ReviewBot writes) -> Gemini's Schema object, an OpenAPI 3.0
// subset: upper-case `type`, `nullable` instead of a ["T","null"] type list, no additionalProperties.
// https://ai.google.dev/api/caching#Schema
internal static class GeminiSchema
{
    private static readonly HashSet<string> CopiedKeywords = new(StringComparer.Ordinal)
    {
        "format", "title", "description", "enum", "required", "minItems", "maxItems", "minimum", "maximum",
        "minLength", "maxLength", "pattern", "nullable",
    };

    public static JsonElement FromJsonSchema(JsonElement schema)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, schema);
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    private static void Write(Utf8JsonWriter writer, JsonElement schema)
    {
        writer.WriteStartObject();
        foreach (var property in schema.EnumerateObject())
        {
            switch (property.Name)
            {
                case "type" when property.Value.ValueKind == JsonValueKind.Array:
                    var nullable = false;
                    string? type = null;
                    foreach (var t in property.Value.EnumerateArray())
                    {
                        if (t.GetString() == "null")
                        {
                            nullable = true;
                        }
                        else
                        {
                            type = t.GetString();
                        }
                    }

                    writer.WriteString("type", (type ?? "string").ToUpperInvariant());
                    if (nullable)
                    {
                        writer.WriteBoolean("nullable", true);
                    }

                    break;
                case "type":
                    writer.WriteString("type", (property.Value.GetString() ?? "string").ToUpperInvariant());
                    break;
                case "properties":
                    writer.WriteStartObject("properties");
                    foreach (var p in property.Value.EnumerateObject())
                    {
                        writer.WritePropertyName(p.Name);
                        Write(writer, p.Value);
                    }

                    writer.WriteEndObject();

                    // Gemini orders output properties alphabetically unless told otherwise.
                    writer.WriteStartArray("propertyOrdering");
                    foreach (var p in property.Value.EnumerateObject())
                    {
                        writer.WriteStringValue(p.Name);
                    }

                    writer.WriteEndArray();
                    break;
                case "items":
                    writer.WritePropertyName("items");
                    Write(writer, property.Value);
                    break;
                case "anyOf":
                    writer.WriteStartArray("anyOf");
                    foreach (var item in property.Value.EnumerateArray())
                    {
                        Write(writer, item);
                    }

                    writer.WriteEndArray();
                    break;
                default:
                    if (CopiedKeywords.Contains(property.Name))
                    {
                        property.WriteTo(writer);
                    }

                    break;
            }
        }

        writer.WriteEndObject();
    }
}
