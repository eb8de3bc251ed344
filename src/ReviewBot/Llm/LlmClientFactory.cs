using Microsoft.Extensions.Logging.Abstractions;
using ReviewBot.Configuration;
using ReviewBot.Observability;
using ReviewBot.Upstream;

namespace ReviewBot.Llm;

// Where the providers live and how long one request may take (CONTRACT §2 *_BASE_URL;
// LLM_REQUEST_TIMEOUT_SECONDS). Reviews of big chunks take minutes, so the default is generous.
internal sealed record LlmEndpoints(Uri OpenAiBaseUrl, Uri AnthropicBaseUrl, Uri GeminiBaseUrl, TimeSpan RequestTimeout)
{
    public static LlmEndpoints FromOptions(ReviewBotOptions options) => new(
        options.OpenAiBaseUrl, options.AnthropicBaseUrl, options.GeminiBaseUrl, TimeSpan.FromSeconds(options.LlmRequestTimeoutSeconds));

    public Uri BaseUrl(LlmProvider provider) => WithTrailingSlash(provider switch
    {
        LlmProvider.OpenAi => OpenAiBaseUrl,
        LlmProvider.Anthropic => AnthropicBaseUrl,
        LlmProvider.Gemini => GeminiBaseUrl,
        _ => throw new ArgumentOutOfRangeException(nameof(provider)),
    });

    public static string HttpClientName(LlmProvider provider) => "llm-" + provider.ToWireName();

    // Relative request paths ("chat/completions") resolve under the base only when it ends in '/':
    // "https://api.openai.com/v1" + "chat/completions" would drop "v1".
    private static Uri WithTrailingSlash(Uri uri) => uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}

// One CredentialCooldown for every client made here (the registered one in the server), so all
// requests with one API key share its Retry-After, whichever review or job they belong to.
internal sealed class LlmClientFactory(IHttpClientFactory httpClients, ReviewBotMetrics metrics, ILoggerFactory? loggers = null, CredentialCooldown? cooldown = null) : ILlmClientFactory
{
    private readonly ILoggerFactory loggers = loggers ?? NullLoggerFactory.Instance;
    private readonly CredentialCooldown cooldown = cooldown ?? new CredentialCooldown(TimeProvider.System);

    public ILlmClient Create(LlmProvider provider, string apiKey) => CreateClient(provider, apiKey);

    public Task<KeyValidation> ValidateKeyAsync(LlmProvider provider, string apiKey, CancellationToken cancellationToken) =>
        CreateClient(provider, apiKey).ValidateKeyAsync(cancellationToken);

    private LlmClientBase CreateClient(LlmProvider provider, string apiKey)
    {
        var http = httpClients.CreateClient(LlmEndpoints.HttpClientName(provider));
        return provider switch
        {
            LlmProvider.OpenAi => new OpenAiClient(http, apiKey, metrics, loggers.CreateLogger<OpenAiClient>(), cooldown),
            LlmProvider.Anthropic => new AnthropicClient(http, apiKey, metrics, loggers.CreateLogger<AnthropicClient>(), cooldown),
            LlmProvider.Gemini => new GeminiClient(http, apiKey, metrics, loggers.CreateLogger<GeminiClient>(), cooldown),
            _ => throw new ArgumentOutOfRangeException(nameof(provider)),
        };
    }
}

// For the `review` command and tests: plain HttpClients configured like the registered ones.
internal sealed class StaticLlmHttpClientFactory(LlmEndpoints endpoints, HttpMessageHandler? handler = null) : IHttpClientFactory, IDisposable
{
    private readonly HttpMessageHandler handler = handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };

    public HttpClient CreateClient(string name)
    {
        foreach (var provider in Enum.GetValues<LlmProvider>())
        {
            if (name == LlmEndpoints.HttpClientName(provider))
            {
                return new HttpClient(handler, disposeHandler: false)
                {
                    BaseAddress = endpoints.BaseUrl(provider),
                    Timeout = endpoints.RequestTimeout,
                };
            }
        }

        throw new ArgumentException("unknown LLM HttpClient " + name, nameof(name));
    }

    public void Dispose() => handler.Dispose();
}
