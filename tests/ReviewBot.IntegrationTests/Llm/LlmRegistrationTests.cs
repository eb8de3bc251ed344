using Microsoft.Extensions.DependencyInjection;
using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.Llm;
using ReviewBot.Observability;
using ReviewBot.Review;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace ReviewBot.IntegrationTests.Llm;

// The composition of Program.BuildApp: the LLM HttpClients take their base URLs and per-request
// timeout from ReviewBotOptions, and the engine is a singleton the job runner resolves.
public sealed class LlmRegistrationTests : IDisposable
{
    private readonly WireMockServer server = WireMockServer.Start();

    [Fact]
    public async Task App_llm_factory_uses_configured_base_url_timeout_and_metrics()
    {
        server.Given(Request.Create().WithPath("/proxy/v1/models").UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithBody("""{"data":[]}"""));
        server.Given(Request.Create().WithPath("/proxy/v1/chat/completions").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithDelay(TimeSpan.FromSeconds(6)).WithBody(TestPaths.ReadFixture("llm/openai/chat-completion.default.json")));
        var options = TestApp.Options("Host=127.0.0.1;Database=unused", o => o with { OpenAiBaseUrl = new Uri(server.Url + "/proxy/v1"), LlmRequestTimeoutSeconds = 2 });
        await using var app = Program.BuildApp(options, null);

        // A first request to a cold WireMock can take longer than the short timeout used here.
        using (var warmUp = new HttpClient())
        {
            await warmUp.GetAsync(server.Url + "/proxy/v1/models", TestContext.Current.CancellationToken);
        }

        var factory = app.Services.GetRequiredService<ILlmClientFactory>();
        Assert.Equal(KeyValidation.Valid, await factory.ValidateKeyAsync(LlmProvider.OpenAi, "key", TestContext.Current.CancellationToken));

        var metrics = app.Services.GetRequiredService<ReviewBotMetrics>();
        var before = metrics.LlmRequests.WithLabels("openai", "transient").Value;
        var result = await factory.Create(LlmProvider.OpenAi, "key").CompleteAsync(LlmTestSupport.Request(), TestContext.Current.CancellationToken);
        Assert.Equal(LlmOutcome.Transient, result.Outcome);
        Assert.Equal("The OpenAI API did not answer within 2 seconds.", result.Message);
        Assert.Equal(before + 1, metrics.LlmRequests.WithLabels("openai", "transient").Value);

        Assert.Same(app.Services.GetRequiredService<ReviewEngine>(), app.Services.GetRequiredService<ReviewEngine>());
    }

    public void Dispose()
    {
        server.Stop();
        server.Dispose();
    }
}
