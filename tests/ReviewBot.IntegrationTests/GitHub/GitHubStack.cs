using Microsoft.Extensions.Logging.Abstractions;
using ReviewBot.Configuration;
using ReviewBot.GitHub;
using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.Observability;
using ReviewBot.Upstream;
using WireMock.Server;

namespace ReviewBot.IntegrationTests.GitHub;

// ReviewBot's GitHub client stack pointed at a WireMock server, with its own metrics registry.
internal sealed class GitHubStack : IDisposable
{
    public GitHubStack(WireMockServer server, TimeProvider? time = null)
    {
        Time = time ?? TimeProvider.System;
        Options = TestApp.Options("Host=unused", o => o with { GitHubApiUrl = new Uri(server.Url! + "/api/v3") });
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var metrics = new ReviewBotMetrics(Prometheus.Metrics.WithCustomRegistry(Registry));
        Cooldown = new CredentialCooldown(Time);
        Rest = new GitHubRest(GitHubExtensions.CreateHttpClient(), Options, Time, metrics, NullLogger<GitHubRest>.Instance, Cooldown);
        Jwt = new GitHubAppJwt(Options, Time);
        App = new GitHubAppClient(Rest, Jwt);
        Tokens = new InstallationTokenCache(App, Time);
        Client = new GitHubClient(Rest, Tokens);
    }

    public TimeProvider Time { get; }

    public ReviewBotOptions Options { get; }

    public Prometheus.CollectorRegistry Registry { get; }

    public CredentialCooldown Cooldown { get; }

    public GitHubRest Rest { get; }

    public GitHubAppJwt Jwt { get; }

    public GitHubAppClient App { get; }

    public InstallationTokenCache Tokens { get; }

    public GitHubClient Client { get; }

    public async Task<string> MetricsTextAsync()
    {
        using var stream = new MemoryStream();
        await Registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    public void Dispose() => Jwt.Dispose();
}
