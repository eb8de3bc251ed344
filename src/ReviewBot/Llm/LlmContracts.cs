namespace ReviewBot.Llm;

// The small interface the rest of ReviewBot sees of the LLM providers (CONTRACT §8). Llm/ knows
// nothing of reviews: it sends a system and user prompt with a JSON schema and returns the JSON text
// the model produced, or an outcome saying why not.
internal enum LlmProvider
{
    OpenAi,
    Anthropic,
    Gemini,
}

internal static class LlmProviderNames
{
    // The names used in settings JSON, metrics labels and the command line.
    public static string ToWireName(this LlmProvider provider) => provider switch
    {
        LlmProvider.OpenAi => "openai",
        LlmProvider.Anthropic => "anthropic",
        LlmProvider.Gemini => "gemini",
        _ => throw new ArgumentOutOfRangeException(nameof(provider)),
    };

    public static bool TryParse(string? name, out LlmProvider provider)
    {
        switch (name)
        {
            case "openai":
                provider = LlmProvider.OpenAi;
                return true;
            case "anthropic":
                provider = LlmProvider.Anthropic;
                return true;
            case "gemini":
                provider = LlmProvider.Gemini;
                return true;
            default:
                provider = default;
                return false;
        }
    }
}

internal enum KeyValidation
{
    Valid,
    Rejected,     // 401/403, Gemini API_KEY_INVALID: tell the user, store nothing
    Unreachable,  // network error, timeout or 5xx: 502, store nothing
}

internal interface ILlmClient
{
    LlmProvider Provider { get; }

    Task<LlmCompletion> CompleteAsync(LlmCompletionRequest request, CancellationToken cancellationToken);
}

internal interface ILlmClientFactory
{
    ILlmClient Create(LlmProvider provider, string apiKey);

    // Asks the provider's list-models endpoint whether the key is accepted.
    Task<KeyValidation> ValidateKeyAsync(LlmProvider provider, string apiKey, CancellationToken cancellationToken);
}

// JsonSchema is the schema of the one JSON object wanted (OpenAI json_schema strict subset: every
// property required, additionalProperties false), which each provider sends in its own way.
internal sealed record LlmCompletionRequest(
    string Model,
    string SystemPrompt,
    string UserPrompt,
    string SchemaName,
    System.Text.Json.JsonElement JsonSchema,
    int MaxOutputTokens);

internal enum LlmOutcome
{
    Success,
    KeyRejected,     // permanent: the key was refused
    QuotaExhausted,  // permanent: billing/quota, its own message
    Transient,       // 429, 5xx, Anthropic 529, timeouts: retry after RetryAfter (or backoff)
    Refused,         // the model refused; retried once by the caller, then reported
    Truncated,       // length / max_tokens; retried once, then reported
    InvalidOutput,   // not the JSON asked for; retried once, then reported
    ModelNotFound,   // permanent: the configured model does not exist for this key
    BadRequest,      // permanent: the provider rejected the request itself
}

internal sealed record LlmCompletion(
    LlmOutcome Outcome,
    string? Json,
    int InputTokens,
    int OutputTokens,
    string? Message = null,
    TimeSpan? RetryAfter = null);
