using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using NJsonSchema;
using Prometheus;
using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.Llm;
using ReviewBot.Observability;
using ReviewBot.Upstream;
using WireMock.Server;

namespace ReviewBot.IntegrationTests.Llm;

internal sealed class LlmTestSupport : IDisposable
{
    public const string ApiKey = "test-key-0123456789-SECRET";

    private readonly StaticLlmHttpClientFactory httpClients;
    private readonly ILoggerFactory loggers;

    public LlmTestSupport(TimeSpan? timeout = null, CredentialCooldown? cooldown = null)
    {
        Server = WireMockServer.Start();
        var endpoints = new LlmEndpoints(new Uri(Server.Url + "/v1"), new Uri(Server.Url!), new Uri(Server.Url!), timeout ?? TimeSpan.FromSeconds(30));
        httpClients = new StaticLlmHttpClientFactory(endpoints);
        Metrics = new ReviewBotMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
        Logs = new FakeLoggerProvider();
        loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(Logs));
        Factory = new LlmClientFactory(httpClients, Metrics, loggers, cooldown);
    }

    public WireMockServer Server { get; }

    public ReviewBotMetrics Metrics { get; }

    public LlmClientFactory Factory { get; }

    public FakeLoggerProvider Logs { get; }

    public static LlmCompletionRequest Request(string schemaName = "pull_request_review") =>
        new("model-x", "You are a reviewer.", "Review this.", schemaName, ReviewBot.Review.ReviewPrompt.OutputSchema, 1024);

    public string LastRequestBody() => Server.LogEntries.Last().RequestMessage!.Body!;

    public IDictionary<string, WireMock.Types.WireMockList<string>> LastRequestHeaders() => Server.LogEntries.Last().RequestMessage!.Headers!;

    public double Requests(string provider, string outcome) => Metrics.LlmRequests.WithLabels(provider, outcome).Value;

    public double Tokens(string provider, string kind) => Metrics.LlmTokens.WithLabels(provider, kind).Value;

    public void Dispose()
    {
        httpClients.Dispose();
        loggers.Dispose();
        Server.Stop();
        Server.Dispose();
    }
}

// The official request schemas of ../shared/fixtures (SOURCES.md §5), loaded once.
internal static class RequestSchemas
{
    private static readonly Lazy<JsonSchema> OpenAiChat = new(() => Load("llm/openai/openapi-subset.json", "/chat/completions"));
    private static readonly Lazy<JsonSchema> GeminiGenerate = new(() => Load("llm/gemini/proto-subset.json", "/v1beta/models/{model}:generateContent"));

    public static ICollection<NJsonSchema.Validation.ValidationError> ValidateOpenAiChat(string body) => OpenAiChat.Value.Validate(body);

    public static ICollection<NJsonSchema.Validation.ValidationError> ValidateGeminiGenerate(string body) => GeminiGenerate.Value.Validate(body);

    private static JsonSchema Load(string fixture, string path)
    {
        var root = JsonNode.Parse(TestPaths.ReadFixture(fixture))!;
        var operation = root["operations"]!.AsArray().Single(o => (string?)o!["path"] == path && (string?)o["method"] == "POST")!;
        var schema = operation["requestSchema"]!.ToJsonString();

        // NJsonSchema resolves `#/definitions/...`; the 2020-12 spelling `$defs` is the same thing.
        schema = schema.Replace("\"$defs\"", "\"definitions\"", StringComparison.Ordinal).Replace("#/$defs/", "#/definitions/", StringComparison.Ordinal);
        return JsonSchema.FromJsonAsync(schema).GetAwaiter().GetResult();
    }
}

internal static class Fixtures
{
    public static string Llm(string relative) => TestPaths.ReadFixture(Path.Combine("llm", relative));

    public static string Format(IEnumerable<NJsonSchema.Validation.ValidationError> errors) =>
        string.Join("\n", errors.Select(e => $"{e.Path}: {e.Kind} {e.Property}"));

    public static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
