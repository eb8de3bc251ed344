using System.Text.Json;
using ReviewBot.Llm;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace ReviewBot.IntegrationTests.Llm;

public sealed class OpenAiClientTests : IDisposable
{
    private readonly LlmTestSupport llm = new();

    [Fact]
    public async Task Complete_sends_a_strict_json_schema_request_that_matches_the_official_schema_and_reads_structured_output()
    {
        Respond(200, Fixtures.Llm("openai/chat-completion.structured-output-json-schema.recorded.json"));

        var result = await Client().CompleteAsync(LlmTestSupport.Request(), TestContext.Current.CancellationToken);

        Assert.Equal(LlmOutcome.Success, result.Outcome);
        Assert.Equal("""{"city":"San Francisco","temperature":65,"units":"f"}""", result.Json);
        Assert.Equal((79, 14), (result.InputTokens, result.OutputTokens));

        var body = llm.LastRequestBody();
        var errors = RequestSchemas.ValidateOpenAiChat(body);
        Assert.True(errors.Count == 0, Fixtures.Format(errors));
        using var json = JsonDocument.Parse(body);
        var format = json.RootElement.GetProperty("response_format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.True(format.GetProperty("json_schema").GetProperty("strict").GetBoolean());
        Assert.Equal(["system", "user"], json.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.False(json.RootElement.TryGetProperty("tools", out _));
        Assert.Equal("Bearer " + LlmTestSupport.ApiKey, llm.LastRequestHeaders()["Authorization"].Single());
        Assert.Equal("/v1/chat/completions", llm.Server.LogEntries.Last().RequestMessage!.Path);

        Assert.Equal(1, llm.Requests("openai", "success"));
        Assert.Equal(79, llm.Tokens("openai", "input"));
        Assert.Equal(14, llm.Tokens("openai", "output"));
    }

    [Fact]
    public async Task Complete_reports_recorded_refusal_as_refused()
    {
        Respond(200, Fixtures.Llm("openai/chat-completion.structured-output-refusal.recorded.json"));

        var result = await Client().CompleteAsync(LlmTestSupport.Request(), TestContext.Current.CancellationToken);

        Assert.Equal(LlmOutcome.Refused, result.Outcome);
        Assert.Contains("I'm very sorry", result.Message, StringComparison.Ordinal);
        Assert.Equal(1, llm.Requests("openai", "refused"));
    }

    [Fact]
    public async Task Complete_reports_recorded_length_finish_as_truncated()
    {
        Respond(200, Fixtures.Llm("openai/chat-completion.finish-reason-length.recorded.json"));

        var result = await Client().CompleteAsync(LlmTestSupport.Request(), TestContext.Current.CancellationToken);

        Assert.Equal(LlmOutcome.Truncated, result.Outcome);
        Assert.Equal((79, 1), (result.InputTokens, result.OutputTokens));
    }

    [Fact]
    public async Task Complete_reports_plain_text_answer_of_compatible_server_as_success_for_the_engine_to_parse()
    {
        Respond(200, Fixtures.Llm("openai/chat-completion.default.json"));

        var result = await Client().CompleteAsync(LlmTestSupport.Request(), TestContext.Current.CancellationToken);

        Assert.Equal(LlmOutcome.Success, result.Outcome);
        Assert.Null(ReviewBot.Review.ReviewEngine.ParseReview(result.Json));
    }

    [Fact]
    public async Task Complete_maps_401_to_rejected_key_without_repeating_the_key()
    {
        Respond(401, Error("Incorrect API key provided: " + LlmTestSupport.ApiKey[..8] + "***. You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key"));

        var result = await Client().CompleteAsync(LlmTestSupport.Request(), TestContext.Current.CancellationToken);

        Assert.Equal(LlmOutcome.KeyRejected, result.Outcome);
        Assert.Equal("The OpenAI API key was rejected (401). Update it in the ReviewBot settings.", result.Message);
        Assert.Equal(1, llm.Requests("openai", "key_rejected"));
        var log = Assert.Single(llm.Logs.Collector.GetSnapshot(), r => r.Level == Microsoft.Extensions.Logging.LogLevel.Warning);
        Assert.Contains("ended key_rejected", log.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(LlmTestSupport.ApiKey[..8], log.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Complete_maps_429_insufficient_quota_to_quota_exhausted()
    {
        Respond(429, Error("You exceeded your current quota, please check your plan and billing details.", "insufficient_quota", "insufficient_quota"));

        var result = await Client().CompleteAsync(LlmTestSupport.Request(), TestContext.Current.CancellationToken);

        Assert.Equal(LlmOutcome.QuotaExhausted, result.Outcome);
        Assert.Contains("quota", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Complete_maps_429_rate_limit_to_transient_with_the_retry_delay()
    {
        Respond(429, Error("Rate limit reached for gpt-4o-mini.", "requests", "rate_limit_exceeded"), ("retry-after", "7"), ("retry-after-ms", "6500"));

        var result = await Client().CompleteAsync(LlmTestSupport.Request(), TestContext.Current.CancellationToken);

        Assert.Equal(LlmOutcome.Transient, result.Outcome);
        Assert.Equal(TimeSpan.FromMilliseconds(6500), result.RetryAfter);
    }

    [Theory]
    [InlineData(500, "Transient")]
    [InlineData(503, "Transient")]
    [InlineData(404, "ModelNotFound")]
    [InlineData(400, "BadRequest")]
    public async Task Complete_maps_other_statuses(int status, string expected)
    {
        Respond(status, Error("something", "server_error", null));

        var result = await Client().CompleteAsync(LlmTestSupport.Request(), TestContext.Current.CancellationToken);

        Assert.Equal(Enum.Parse<LlmOutcome>(expected), result.Outcome);
    }

    [Fact]
    public async Task Complete_reports_timeout_as_transient()
    {
        using var slow = new LlmTestSupport(TimeSpan.FromMilliseconds(300));
        slow.Server.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200).WithDelay(TimeSpan.FromSeconds(3))
            .WithBody(Fixtures.Llm("openai/chat-completion.structured-output-json-schema.recorded.json")));

        var result = await slow.Factory.Create(LlmProvider.OpenAi, LlmTestSupport.ApiKey).CompleteAsync(LlmTestSupport.Request(), TestContext.Current.CancellationToken);

        Assert.Equal(LlmOutcome.Transient, result.Outcome);
        Assert.Contains("did not answer", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Complete_stops_at_once_when_the_caller_cancels_and_reports_no_outcome()
    {
        llm.Server.Given(Request.Create().UsingPost()).RespondWith(Response.Create().WithStatusCode(200).WithDelay(TimeSpan.FromSeconds(5))
            .WithBody(Fixtures.Llm("openai/chat-completion.structured-output-json-schema.recorded.json")));
        using var lease = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        lease.CancelAfter(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Client().CompleteAsync(LlmTestSupport.Request(), lease.Token));

        Assert.Equal(1, llm.Requests("openai", "cancelled"));
        Assert.Equal(0, llm.Requests("openai", "transient"));
    }

    [Theory]
    [InlineData(200, "Valid")]
    [InlineData(401, "Rejected")]
    [InlineData(403, "Rejected")]
    [InlineData(500, "Unreachable")]
    public async Task ValidateKey_lists_models(int status, string expected)
    {
        // The spec's list-models example, served as published (it is not even valid JSON: only the status matters).
        llm.Server.Given(Request.Create().WithPath("/v1/models").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(status).WithBody(Fixtures.Llm("openai/list-models.as-shown.NOT-VALID-JSON.json")));

        var result = await llm.Factory.ValidateKeyAsync(LlmProvider.OpenAi, LlmTestSupport.ApiKey, TestContext.Current.CancellationToken);

        Assert.Equal(Enum.Parse<KeyValidation>(expected), result);
        Assert.Equal("Bearer " + LlmTestSupport.ApiKey, llm.LastRequestHeaders()["Authorization"].Single());
    }

    [Fact]
    public async Task ValidateKey_reports_unreachable_server()
    {
        var port = llm.Server.Ports[0];
        llm.Server.Stop();
        using var closed = new StaticLlmHttpClientFactory(new LlmEndpoints(new Uri($"http://127.0.0.1:{port}/v1"), new Uri("http://127.0.0.1:1"), new Uri("http://127.0.0.1:1"), TimeSpan.FromSeconds(5)));

        var result = await new LlmClientFactory(closed, llm.Metrics).ValidateKeyAsync(LlmProvider.OpenAi, LlmTestSupport.ApiKey, TestContext.Current.CancellationToken);

        Assert.Equal(KeyValidation.Unreachable, result);
    }

    public void Dispose() => llm.Dispose();

    private ILlmClient Client() => llm.Factory.Create(LlmProvider.OpenAi, LlmTestSupport.ApiKey);

    // The error body of the spec's ErrorResponse schema (llm/openai/error-response.schema.json).
    private static string Error(string message, string type, string? code) =>
        new System.Text.Json.Nodes.JsonObject
        {
            ["error"] = new System.Text.Json.Nodes.JsonObject { ["message"] = message, ["type"] = type, ["param"] = null, ["code"] = code },
        }.ToJsonString();

    private void Respond(int status, string body, params (string Name, string Value)[] headers)
    {
        var response = Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body);
        foreach (var (name, value) in headers)
        {
            response = response.WithHeader(name, value);
        }

        llm.Server.Given(Request.Create().WithPath("/v1/chat/completions").UsingPost()).RespondWith(response);
    }
}
