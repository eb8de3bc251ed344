using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using ReviewBot.Configuration;
using ReviewBot.Hosting;

namespace ReviewBot.IntegrationTests.Infrastructure;

// The real service composition (Program.BuildApp) on a real Kestrel port on 127.0.0.1, against a test
// database. Tests talk to it over HTTP exactly as GitHub and operators do.
internal sealed class TestApp : IAsyncDisposable
{
    private TestApp(WebApplication app, Uri baseAddress)
    {
        App = app;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    public IServiceProvider Services => App.Services;

    public static ReviewBotOptions Options(string connectionString, Func<ReviewBotOptions, ReviewBotOptions>? customize = null)
    {
        var options = new ReviewBotOptions
        {
            GitHubAppId = 12345,
            GitHubPrivateKeyPem = TestKeys.PrivateKeyPem,
            GitHubWebhookSecret = TestKeys.WebhookSecret,
            DatabaseConnectionString = connectionString,
            EncryptionKey = Convert.FromBase64String(TestKeys.EncryptionKeyBase64),
            AdminToken = TestKeys.AdminToken,
            Port = 0,
            ListenAddress = "127.0.0.1",
            ShutdownTimeoutSeconds = 5,
            // Review workers only where a test asks for them (QueueTestApp, review tests), so tests of
            // the intake and the API see the rows they wrote.
            WorkersEnabled = false,
            // No delivery-recovery call to GITHUB_API_URL unless a test wants one.
            DeliveryRecoveryIntervalSeconds = 0,
        };
        return customize is null ? options : customize(options);
    }

    public static async Task<TestApp> StartAsync(ReviewBotOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        var app = Program.BuildApp(options, configure);
        await app.Services.GetRequiredService<SchemaMigrator>().MigrateAsync(CancellationToken.None);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestApp(app, new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
