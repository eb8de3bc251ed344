using System.Net;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ReviewBot.Hosting;
using ReviewBot.Jobs;
using ReviewBot.Upstream;

namespace ReviewBot.GitHub;

internal static class GitHubExtensions
{
    public static WebApplicationBuilder AddGitHub(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<JobWakeup>();
        builder.Services.AddSingleton<JobIntake>();
        builder.Services.AddSingleton<WebhookEndpoint>();
        builder.Services.AddSingleton<GitHubAppJwt>();
        builder.Services.TryAddSingleton(sp => new CredentialCooldown(sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton(sp => new GitHubRest(
            CreateHttpClient(),
            sp.GetRequiredService<Configuration.ReviewBotOptions>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Observability.ReviewBotMetrics>(),
            sp.GetRequiredService<ILogger<GitHubRest>>(),
            sp.GetRequiredService<CredentialCooldown>()));
        builder.Services.AddSingleton<GitHubAppClient>();
        builder.Services.AddSingleton<InstallationTokenCache>();
        builder.Services.AddSingleton<GitHubClient>();
        builder.Services.AddBackgroundService<DeliveryRecoveryService>();
        return builder;
    }

    public static WebApplication MapGitHubWebhooks(this WebApplication app)
    {
        app.MapPost(WebhookEndpoint.Path, (HttpContext context, WebhookEndpoint endpoint) => endpoint.HandleAsync(context));
        return app;
    }

    // One client for the process. Per-attempt timeouts come from the Polly pipelines, so the
    // client's own timeout is off; connections are recycled so DNS changes are seen.
    internal static HttpClient CreateHttpClient() => new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        AutomaticDecompression = DecompressionMethods.All,
        ConnectTimeout = TimeSpan.FromSeconds(10),
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };
}
