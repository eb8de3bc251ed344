using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using ReviewBot.GitHub;
using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.Jobs;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace ReviewBot.IntegrationTests.GitHub;

public sealed class DeliveryRecoveryTests : IDisposable
{
    private const string ListPath = "/api/v3/app/hook/deliveries";

    private readonly WireMockServer _server = WireMockServer.Start();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _server.Stop();

    [Fact]
    public async Task Redelivers_only_failed_deliveries_that_were_never_recorded_within_the_look_back()
    {
        await using var db = await TestDatabase.CreateAsync();
        await db.ExecuteAsync("INSERT INTO webhook_deliveries (delivery_id, event, outcome) VALUES ('guid-recorded', 'pull_request', 'accepted')");
        var now = DateTimeOffset.UtcNow;
        var page1 = new[]
        {
            Delivery(101, "guid-lost", now.AddMinutes(-5), 503),
            Delivery(102, "guid-recorded", now.AddMinutes(-6), 503),
            Delivery(103, "guid-ok", now.AddMinutes(-7), 202),
            Delivery(105, "guid-healed", now.AddMinutes(-8), 202, redelivery: true),
            Delivery(104, "guid-healed", now.AddMinutes(-9), 502),
            Delivery(106, "guid-bad-signature", now.AddMinutes(-10), 401),
        };
        var page2 = new[]
        {
            Delivery(107, "guid-timeout", now.AddHours(-2), 0),
            Delivery(108, "guid-ancient", now.AddDays(-2), 503),
        };
        _server.Given(Request.Create().WithPath(ListPath).WithParam("cursor", "v1_page2").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(JsonSerializer.Serialize(page2)));
        _server.Given(Request.Create().WithPath(ListPath).UsingGet()).AtPriority(10)
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(JsonSerializer.Serialize(page1))
                .WithHeader("Link", $"<{_server.Url}{ListPath}?per_page=100&cursor=v1_page2>; rel=\"next\""));
        _server.Given(Request.Create().WithPath(new WireMock.Matchers.WildcardMatcher($"{ListPath}/*/attempts")).UsingPost())
            .RespondWith(Response.Create().WithStatusCode(202).WithBody("{}"));

        using var stack = new GitHubStack(_server);
        var service = new DeliveryRecoveryService(
            stack.App, new JobIntake(db.DataSource, stack.Options, new JobWakeup(db.DataSource, NullLogger<JobWakeup>.Instance)), stack.Options, TimeProvider.System, NullLogger<DeliveryRecoveryService>.Instance);

        var redelivered = await service.RecoverAsync(Ct);

        Assert.Equal(["guid-lost", "guid-timeout"], redelivered.Order(StringComparer.Ordinal));
        var attempts = _server.LogEntries.Where(e => e.RequestMessage.Method == "POST").Select(e => e.RequestMessage.Path).Order(StringComparer.Ordinal);
        Assert.Equal([$"{ListPath}/101/attempts", $"{ListPath}/107/attempts"], attempts);
        Assert.All(_server.LogEntries, e => Assert.StartsWith("Bearer ey", e.RequestMessage.Headers!["Authorization"].Single(), StringComparison.Ordinal));
    }

    // A busy App: the lost delivery is on page 21 of the day's list (a fixed 20-page cap never got
    // there). Once read, the next pass reads back only to what the first saw (less 10 minutes).
    [Fact]
    public async Task The_first_pass_reads_past_twenty_pages_and_later_passes_read_only_what_is_new()
    {
        await using var db = await TestDatabase.CreateAsync();
        var now = DateTimeOffset.UtcNow;
        for (var page = 1; page <= 21; page++)
        {
            var item = page == 21
                ? Delivery(1000 + page, "guid-deep", now.AddMinutes(-page), 503)
                : Delivery(1000 + page, $"guid-fine-{page}", now.AddMinutes(-page), 202);
            var response = Response.Create().WithStatusCode(200).WithBody(JsonSerializer.Serialize(new[] { item }));
            if (page < 21)
            {
                response = response.WithHeader("Link", $"<{_server.Url}{ListPath}?per_page=100&cursor=p{page + 1}>; rel=\"next\"");
            }

            var request = Request.Create().WithPath(ListPath).UsingGet();
            _server.Given(page == 1 ? request : request.WithParam("cursor", $"p{page}")).AtPriority(page == 1 ? 10 : 1).RespondWith(response);
        }

        _server.Given(Request.Create().WithPath(new WireMock.Matchers.WildcardMatcher($"{ListPath}/*/attempts")).UsingPost())
            .RespondWith(Response.Create().WithStatusCode(202).WithBody("{}"));
        using var stack = new GitHubStack(_server);
        var service = new DeliveryRecoveryService(
            stack.App, new JobIntake(db.DataSource, stack.Options, new JobWakeup(db.DataSource, NullLogger<JobWakeup>.Instance)), stack.Options, TimeProvider.System, NullLogger<DeliveryRecoveryService>.Instance);

        Assert.Equal(["guid-deep"], await service.RecoverAsync(Ct));
        Assert.Equal(21, Count("GET"));

        // Second pass: back to the newest delivery seen (1 minute ago) less 10 minutes, i.e. 12 pages.
        Assert.Empty(await service.RecoverAsync(Ct));
        Assert.Equal(21 + 12, Count("GET"));
    }

    [Fact]
    public async Task Loop_runs_on_start_and_every_interval_and_stops_once_the_delivery_is_recorded()
    {
        await using var db = await TestDatabase.CreateAsync();
        var lost = Guid.NewGuid().ToString();
        _server.Given(Request.Create().WithPath(ListPath).UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithBody(JsonSerializer.Serialize(new[] { Delivery(201, lost, DateTimeOffset.UtcNow.AddMinutes(-1), 503) })));
        _server.Given(Request.Create().WithPath($"{ListPath}/201/attempts").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(202).WithBody("{}"));

        await using var app = await TestApp.StartAsync(TestApp.Options(db.ConnectionString, o => o with
        {
            GitHubApiUrl = new Uri(_server.Url + "/api/v3"),
            DeliveryRecoveryIntervalSeconds = 1,
        }));

        await WaitUntilAsync(() => Count("POST") >= 1, "first redelivery request");

        // GitHub redelivers: the webhook arrives and is stored.
        using (var response = await app.SendAsync("pull_request", Webhooks.FixtureBytes("pull_request/opened.payload.json"), lost))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        var posts = Count("POST");
        var lists = Count("GET");
        await WaitUntilAsync(() => Count("GET") >= lists + 2, "two more passes");
        Assert.Equal(posts, Count("POST"));
    }

    private int Count(string method) => _server.LogEntries.Count(e => e.RequestMessage.Method == method);

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + what);
            await Task.Delay(50, Ct);
        }
    }

    // The shape of "List deliveries for an app webhook" items.
    private static Dictionary<string, object?> Delivery(long id, string guid, DateTimeOffset deliveredAt, int statusCode, bool redelivery = false) => new()
    {
        ["id"] = id,
        ["guid"] = guid,
        ["delivered_at"] = deliveredAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
        ["redelivery"] = redelivery,
        ["duration"] = 0.27,
        ["status"] = statusCode is >= 200 and < 300 ? "OK" : statusCode == 0 ? "timed out" : "Invalid HTTP Response: " + statusCode,
        ["status_code"] = statusCode,
        ["event"] = "pull_request",
        ["action"] = "opened",
        ["installation_id"] = 1,
        ["repository_id"] = 186853002,
        ["throttled_at"] = null,
    };
}
