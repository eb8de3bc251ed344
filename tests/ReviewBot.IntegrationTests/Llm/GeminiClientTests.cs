using System.Text.Json;
using ReviewBot.Llm;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace ReviewBot.IntegrationTests.Llm;

public sealed class GeminiClientTests : IDisposable
{
    private const string KeyInvalid =
        """
        {"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",
          "details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com",
                      "metadata":{"service":"generativelanguage.googleapis.com"}}]}}
        """;

    private readonly LlmTestSupport llm = new();

    [Fact]
    public async Task Complete_sends_response_schema_request_that_matches_the_official_schema_and_reads_the_json_text()
    {
        Respond("gemini-2.5-flash", 200, Fixtures.Llm("gemini/generateContent.response.json-schema.recorded.json"));

        var result = await Client().CompleteAsync(LlmTestSupport.Request() with { Model = "gemini-2.5-flash" }, TestContext.Current.CancellationToken);

        Assert.Equal(LlmOutcome.Success, result.Outcome);
        using var json = JsonDocument.Parse(result.Json!);
        Assert.Equal("Hello", json.RootElement.GetProperty("simpleString").GetString());
        Assert.Equal((5, 177 + 331), (result.InputTokens, result.OutputTokens));

        var body = llm.LastRequestBody();
        var errors = RequestSchemas.ValidateGeminiGenerate(body);
        Assert.True(errors.Count == 0, Fixtures.Format(errors));
        using var request = JsonDocument.Parse(body);
        var config = request.RootElement.GetProperty("generationConfig");
        Assert.Equal("application/json", config.GetProperty("responseMimeType").GetString());
        Assert.Equal("OBJECT", config.GetProperty("responseSchema").GetProperty("type").GetString());
        Assert.Equal("You are a reviewer.", request.RootElement.GetProperty("systemInstruction").GetProperty("parts")[0].GetProperty("text").GetString());

        var message = llm.Server.LogEntries.Last().RequestMessage!;
        Assert.Equal("/v1beta/models/gemini-2.5-flash:generateContent", message.Path);
        Assert.DoesNotContain(LlmTestSupport.ApiKey, message.Url, StringComparison.Ordinal);
        Assert.Equal(LlmTestSupport.ApiKey, llm.LastRequestHeaders()["x-goog-api-key"].Single());
        Assert.Equal(1, llm.Requests("gemini", "success"));
    }

    [Fact]
    public async Task Complete_reports_recorded_max_tokens_as_truncated()
    {
        Respond("gemini-2.5-flash", 200, Fixtures.Llm("gemini/generateContent.response.max-tokens.recorded.json"));

        var result = await Client().CompleteAsync(LlmTestSupport.Request() with { Model = "gemini-2.5-flash" }, TestContext.Current.CancellationToken);

        Assert.Equal(LlmOutcome.Truncated, result.Outcome);
        Assert.Equal((7, 149 + 48), (result.InputTokens, result.OutputTokens));
    }

    [Fact]
    public async Task Complete_maps_recorded_404_to_model_not_found()
    {
        Respond("custom-gemini-2.0-flash", 404, Fixtures.Llm("gemini/error.not-found-404.recorded.json"));

        var result = await Client().CompleteAsync(LlmTestSupport.Request() with { Model = "custom-gemini-2.0-flash" }, TestContext.Current.CancellationToken);

        Assert.Equal(LlmOutcome.ModelNotFound, result.Outcome);
        Assert.Contains("custom-gemini-2.0-flash is not found", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Complete_maps_400_api_key_invalid_to_rejected_key_and_other_400_to_bad_request()
    {
        Respond("m", 400, KeyInvalid);
        var rejected = await Client().CompleteAsync(LlmTestSupport.Request() with { Model = "m" }, TestContext.Current.CancellationToken);
        Assert.Equal(LlmOutcome.KeyRejected, rejected.Outcome);
        Assert.Contains("API_KEY_INVALID", rejected.Message, StringComparison.Ordinal);

        llm.Server.Reset();
        Respond("m", 400, """{"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \"x\": Cannot find field.","status":"INVALID_ARGUMENT"}}""");
        var bad = await Client().CompleteAsync(LlmTestSupport.Request() with { Model = "m" }, TestContext.Current.CancellationToken);
        Assert.Equal(LlmOutcome.BadRequest, bad.Outcome);
    }

    [Fact]
    public async Task Complete_maps_429_to_transient_with_the_RetryInfo_delay()
    {
        Respond("m", 429, """
            {"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED",
              "details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[]},
                         {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}]}}
            """);

        var result = await Client().CompleteAsync(LlmTestSupport.Request() with { Model = "m" }, TestContext.Current.CancellationToken);

        Assert.Equal((LlmOutcome.Transient, TimeSpan.FromSeconds(37)), (result.Outcome, result.RetryAfter));
    }

    [Fact]
    public async Task Complete_maps_503_to_transient()
    {
        Respond("m", 503, """{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}""");

        var result = await Client().CompleteAsync(LlmTestSupport.Request() with { Model = "m" }, TestContext.Current.CancellationToken);

        Assert.Equal(LlmOutcome.Transient, result.Outcome);
    }

    [Fact]
    public async Task ValidateKey_treats_api_key_invalid_as_rejected_and_200_as_valid()
    {
        llm.Server.Given(Request.Create().WithPath("/v1beta/models").UsingGet()).RespondWith(Response.Create().WithStatusCode(400).WithBody(KeyInvalid));
        Assert.Equal(KeyValidation.Rejected, await llm.Factory.ValidateKeyAsync(LlmProvider.Gemini, LlmTestSupport.ApiKey, TestContext.Current.CancellationToken));

        llm.Server.Reset();
        llm.Server.Given(Request.Create().WithPath("/v1beta/models").UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithBody("""{"models":[]}"""));
        Assert.Equal(KeyValidation.Valid, await llm.Factory.ValidateKeyAsync(LlmProvider.Gemini, LlmTestSupport.ApiKey, TestContext.Current.CancellationToken));
        Assert.DoesNotContain(LlmTestSupport.ApiKey, llm.Server.LogEntries.Last().RequestMessage!.Url, StringComparison.Ordinal);
    }

    public void Dispose() => llm.Dispose();

    private ILlmClient Client() => llm.Factory.Create(LlmProvider.Gemini, LlmTestSupport.ApiKey);

    private void Respond(string model, int status, string body) =>
        llm.Server.Given(Request.Create().WithPath($"/v1beta/models/{model}:generateContent").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body));
}
