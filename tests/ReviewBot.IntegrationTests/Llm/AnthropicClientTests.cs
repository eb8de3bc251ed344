using System.Text.Json;
using System.Text.Json.Nodes;
using ReviewBot.Llm;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace ReviewBot.IntegrationTests.Llm;

public sealed class AnthropicClientTests : IDisposable
{
    private readonly LlmTestSupport llm = new();

    [Fact]
    public async Task Complete_forces_the_tool_and_returns_its_input_from_the_recorded_tool_use()
    {
        Respond(200, Fixtures.Llm("anthropic/messages.tool-use.recorded.json"));

        // The recording's tool is get_weather; the client looks for the tool it asked for by name.
        var result = await Client().CompleteAsync(LlmTestSupport.Request("get_weather"), TestContext.Current.CancellationToken);

        Assert.Equal(LlmOutcome.Success, result.Outcome);
        using var input = JsonDocument.Parse(result.Json!);
        Assert.Equal("San Francisco, CA", input.RootElement.GetProperty("location").GetString());
        Assert.Equal((656, 74), (result.InputTokens, result.OutputTokens));

        using var body = JsonDocument.Parse(llm.LastRequestBody());
        var root = body.RootElement;
        Assert.Equal("tool", root.GetProperty("tool_choice").GetProperty("type").GetString());
        Assert.Equal("get_weather", root.GetProperty("tool_choice").GetProperty("name").GetString());
        var tool = Assert.Single(root.GetProperty("tools").EnumerateArray());
        Assert.Equal("object", tool.GetProperty("input_schema").GetProperty("type").GetString());
        Assert.Equal("You are a reviewer.", root.GetProperty("system").GetString());
        Assert.Equal(1024, root.GetProperty("max_tokens").GetInt32());
        Assert.Equal(["model", "max_tokens", "system", "messages", "tools", "tool_choice"], root.EnumerateObject().Select(p => p.Name));

        var headers = llm.LastRequestHeaders();
        Assert.Equal(LlmTestSupport.ApiKey, headers["x-api-key"].Single());
        Assert.Equal("2023-06-01", headers["anthropic-version"].Single());
        Assert.Equal("/v1/messages", llm.Server.LogEntries.Last().RequestMessage!.Path);
        Assert.Equal(1, llm.Requests("anthropic", "success"));
    }

    [Fact]
    public async Task Complete_reports_a_text_answer_without_the_tool_as_invalid_output()
    {
        Respond(200, Fixtures.Llm("anthropic/messages.end-turn-text.recorded.json"));

        var result = await Client().CompleteAsync(LlmTestSupport.Request(), TestContext.Current.CancellationToken);

        Assert.Equal(LlmOutcome.InvalidOutput, result.Outcome);
    }

    [Theory]
    [InlineData("max_tokens", "Truncated")]
    [InlineData("refusal", "Refused")]
    public async Task Complete_maps_stop_reasons(string stopReason, string expected)
    {
        var recorded = JsonNode.Parse(Fixtures.Llm("anthropic/messages.tool-use.recorded.json"))!;
        recorded["stop_reason"] = stopReason;
        Respond(200, recorded.ToJsonString());

        var result = await Client().CompleteAsync(LlmTestSupport.Request("get_weather"), TestContext.Current.CancellationToken);

        Assert.Equal(Enum.Parse<LlmOutcome>(expected), result.Outcome);
    }

    [Fact]
    public async Task Complete_maps_529_overloaded_to_transient_with_retry_after()
    {
        Respond(529, Fixtures.Llm("anthropic/error.overloaded-529.sdk-test.json"), ("retry-after", "12"));

        var result = await Client().CompleteAsync(LlmTestSupport.Request(), TestContext.Current.CancellationToken);

        Assert.Equal(LlmOutcome.Transient, result.Outcome);
        Assert.Equal(TimeSpan.FromSeconds(12), result.RetryAfter);
        Assert.Contains("overloaded_error", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Complete_maps_429_to_transient_with_retry_after()
    {
        Respond(429, """{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}""", ("retry-after", "30"));

        var result = await Client().CompleteAsync(LlmTestSupport.Request(), TestContext.Current.CancellationToken);

        Assert.Equal((LlmOutcome.Transient, TimeSpan.FromSeconds(30)), (result.Outcome, result.RetryAfter));
    }

    [Fact]
    public async Task Complete_maps_401_to_rejected_key()
    {
        Respond(401, """{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}""");

        var result = await Client().CompleteAsync(LlmTestSupport.Request(), TestContext.Current.CancellationToken);

        Assert.Equal(LlmOutcome.KeyRejected, result.Outcome);
        Assert.Equal("The Anthropic API key was rejected (401). Update it in the ReviewBot settings.", result.Message);
    }

    [Fact]
    public async Task Complete_maps_recorded_400_to_bad_request_and_low_credit_to_quota_exhausted()
    {
        Respond(400, Fixtures.Llm("anthropic/error.invalid-request-400.recorded.json"));
        var bad = await Client().CompleteAsync(LlmTestSupport.Request(), TestContext.Current.CancellationToken);
        Assert.Equal(LlmOutcome.BadRequest, bad.Outcome);
        Assert.Contains("tool_use_id", bad.Message, StringComparison.Ordinal);

        llm.Server.Reset();
        Respond(400, """{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."}}""");
        var broke = await Client().CompleteAsync(LlmTestSupport.Request(), TestContext.Current.CancellationToken);
        Assert.Equal(LlmOutcome.QuotaExhausted, broke.Outcome);
    }

    [Theory]
    [InlineData(200, "Valid")]
    [InlineData(401, "Rejected")]
    [InlineData(529, "Unreachable")]
    public async Task ValidateKey_lists_models(int status, string expected)
    {
        llm.Server.Given(Request.Create().WithPath("/v1/models").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(status).WithBody("""{"data":[],"has_more":false}"""));

        Assert.Equal(Enum.Parse<KeyValidation>(expected), await llm.Factory.ValidateKeyAsync(LlmProvider.Anthropic, LlmTestSupport.ApiKey, TestContext.Current.CancellationToken));
        Assert.Equal(LlmTestSupport.ApiKey, llm.LastRequestHeaders()["x-api-key"].Single());
    }

    public void Dispose() => llm.Dispose();

    private ILlmClient Client() => llm.Factory.Create(LlmProvider.Anthropic, LlmTestSupport.ApiKey);

    private void Respond(int status, string body, params (string Name, string Value)[] headers)
    {
        var response = Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body);
        foreach (var (name, value) in headers)
        {
            response = response.WithHeader(name, value);
        }

        llm.Server.Given(Request.Create().WithPath("/v1/messages").UsingPost()).RespondWith(response);
    }
}
