using System.Net;
using System.Text.Json;
using Npgsql;
using ReviewBot.IntegrationTests.Infrastructure;

namespace ReviewBot.IntegrationTests.Hosting;

public sealed class HealthTests
{
    [Fact]
    public async Task Health_is_ok_with_database_and_queue_depth()
    {
        await using var db = await TestDatabase.CreateAsync();
        await db.ExecuteAsync(
            """
            INSERT INTO review_jobs (installation_id, repo_id, repo_full_name, pr_number, commit_sha, trigger, dedupe_key)
            VALUES (1, 1, 'o/r', 1, 'abc', 'opened', 'k1'), (1, 1, 'o/r', 2, 'def', 'opened', 'k2')
            """);
        await using var app = await TestApp.StartAsync(TestApp.Options(db.ConnectionString));

        using var response = await app.Client.GetAsync("/health", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("ok", json.RootElement.GetProperty("status").GetString());
        Assert.True(json.RootElement.GetProperty("database").GetBoolean());
        Assert.Equal(2, json.RootElement.GetProperty("queuePending").GetInt32());
        Assert.True(json.RootElement.GetProperty("uptime").GetInt64() >= 0);
    }

    [Fact]
    public async Task Health_is_degraded_while_the_database_is_down_and_ok_when_it_returns()
    {
        await using var db = await TestDatabase.CreateAsync();
        var target = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        await using var proxy = new TcpProxy(target.Host!, target.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 2 }.ConnectionString;
        await using var app = await TestApp.StartAsync(TestApp.Options(viaProxy));
        var ct = TestContext.Current.CancellationToken;

        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync("/health", ct)).StatusCode);

        proxy.GoDown();
        using (var down = await app.Client.GetAsync("/health", ct))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
            using var json = JsonDocument.Parse(await down.Content.ReadAsStringAsync(ct));
            Assert.Equal("degraded", json.RootElement.GetProperty("status").GetString());
            Assert.False(json.RootElement.GetProperty("database").GetBoolean());
        }

        // Liveness never depends on the database.
        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync("/health/live", ct)).StatusCode);

        proxy.ComeBack();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        HttpStatusCode status;
        do
        {
            status = (await app.Client.GetAsync("/health", ct)).StatusCode;
        }
        while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Metrics_endpoint_serves_prometheus_text()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var app = await TestApp.StartAsync(TestApp.Options(db.ConnectionString));
        var text = await app.Client.GetStringAsync("/metrics", TestContext.Current.CancellationToken);
        Assert.Contains("reviewbot_reviews_total{outcome=\"success\"}", text, StringComparison.Ordinal);
    }
}
