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
