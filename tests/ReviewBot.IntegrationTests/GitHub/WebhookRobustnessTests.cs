using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using ReviewBot.IntegrationTests.Infrastructure;

namespace ReviewBot.IntegrationTests.GitHub;

public sealed class WebhookRobustnessTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Database_down_answers_503_and_the_redelivery_after_recovery_is_stored()
    {
        await using var db = await TestDatabase.CreateAsync();
        var target = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        await using var proxy = new TcpProxy(target.Host!, target.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 2 }.ConnectionString;
        await using var app = await TestApp.StartAsync(TestApp.Options(viaProxy, o => o with { GitHubApiUrl = new Uri("http://127.0.0.1:9/") }));
        var body = Webhooks.FixtureBytes("pull_request/opened.payload.json");
        var delivery = Guid.NewGuid().ToString();

        proxy.GoDown();
        using (var down = await app.SendAsync("pull_request", body, delivery))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        }

        proxy.ComeBack();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        HttpStatusCode status;
        do
        {
            using var again = await app.SendAsync("pull_request", body, delivery);
            status = again.StatusCode;
        }
        while (status == HttpStatusCode.ServiceUnavailable && DateTime.UtcNow < deadline);

        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM review_jobs WHERE delivery_id = $1", delivery));
        var metrics = await app.Client.GetStringAsync("/metrics", Ct);
        Assert.Contains("reviewbot_webhooks_received_total{event=\"pull_request\",outcome=\"unavailable\"}", metrics, StringComparison.Ordinal);
    }

    // A bounded fuzz: correctly signed bodies that are broken JSON, JSON of the wrong shape, or real
    // payloads with fields swapped for values of other types; plus random headers. Whatever arrives,
    // the answer is a 2xx or a 4xx, never a 5xx.
    [Fact]
    public async Task Malformed_requests_never_get_a_5xx()
    {
        await using var db = await TestDatabase.CreateAsync();
        await using var app = await TestApp.StartAsync(TestApp.Options(db.ConnectionString, o => o with { GitHubApiUrl = new Uri("http://127.0.0.1:9/") }));
        var random = new Random(20261124);
        var seeds = new[]
        {
            ("pull_request", "pull_request/opened.payload.json"),
            ("pull_request", "pull_request/closed.payload.json"),
            ("installation", "installation/created.payload.json"),
            ("installation", "installation/deleted.payload.json"),
            ("installation_repositories", "installation_repositories/added.payload.json"),
            ("check_run", "check_run/rerequested.payload.json"),
            ("issue_comment", "issue_comment/created.with-installation.payload.json"),
            ("ping", "ping/payload.json"),
        };
        JsonNode[] replacements = [JsonValue.Create("x")!, JsonValue.Create(-1)!, JsonValue.Create(1e300)!, JsonValue.Create(true)!, new JsonArray(), new JsonObject(), JsonValue.Create(long.MaxValue)!, JsonValue.Create("")!];
        var statuses = new Dictionary<int, int>();

        for (var i = 0; i < 400; i++)
        {
            var (gitHubEvent, fixture) = seeds[random.Next(seeds.Length)];
            byte[] body;
            switch (random.Next(4))
            {
                case 0:
                {
                    // Mutated real payload: one member somewhere replaced by a value of another type.
                    var node = Webhooks.Fixture(fixture);
                    Mutate(node, random, replacements);
                    body = Encoding.UTF8.GetBytes(node.ToJsonString());
                    break;
                }

                case 1:
                {
                    // Truncated or bit-flipped bytes.
                    var bytes = Webhooks.FixtureBytes(fixture);
                    body = random.Next(2) == 0 ? bytes[..random.Next(bytes.Length)] : Flip(bytes, random);
                    break;
                }

                case 2:
                    body = new byte[random.Next(0, 2048)];
                    random.NextBytes(body);
                    break;
                default:
                    body = Encoding.UTF8.GetBytes(random.Next(6) switch
                    {
                        0 => "{}",
                        1 => "{\"action\":null,\"installation\":null,\"repository\":null,\"pull_request\":null}",
                        2 => new string('[', 5000),
                        3 => "{\"installation\":{\"id\":1},\"repositories\":[null,1,\"x\"]}",
                        4 => "{\"action\":\"opened\",\"pull_request\":{\"number\":2147483648}}",
                        _ => "{\"action\":\"created\",\"issue\":{\"number\":1,\"pull_request\":1},\"comment\":{\"body\":\"@reviewbot review\"}}",
                    });
                    break;
            }

            using var request = Webhooks.Request(random.Next(10) == 0 ? "unknown" : gitHubEvent, body, Guid.NewGuid().ToString());
            if (random.Next(10) == 0)
            {
                request.Headers.Remove("X-GitHub-Delivery");
            }

            if (random.Next(15) == 0)
            {
                request.Headers.Remove("X-Hub-Signature-256");
                request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", "sha256=" + Convert.ToHexString(Encoding.UTF8.GetBytes(new string('z', 32))));
            }

            using var response = await app.Client.SendAsync(request, Ct);
            var code = (int)response.StatusCode;
            statuses[code] = statuses.GetValueOrDefault(code) + 1;
            Assert.True(code < 500, $"request {i} ({gitHubEvent}) got {code}: {await response.Content.ReadAsStringAsync(Ct)}");
        }

        // The fuzz reached every kind of answer, so it exercised more than the signature check.
        Assert.Contains(400, statuses.Keys);
        Assert.Contains(401, statuses.Keys);
        Assert.Contains(200, statuses.Keys);
    }

    private static void Mutate(JsonNode root, Random random, JsonNode[] replacements)
    {
        var node = root;
        for (var depth = 0; depth < 4; depth++)
        {
            if (node is JsonObject obj && obj.Count > 0)
            {
                var key = obj.ElementAt(random.Next(obj.Count)).Key;
                var child = obj[key];
                if (child is null || child is JsonValue || random.Next(3) == 0)
                {
                    obj[key] = replacements[random.Next(replacements.Length)].DeepClone();
                    return;
                }

                node = child;
            }
            else if (node is JsonArray array && array.Count > 0)
            {
                var index = random.Next(array.Count);
                if (array[index] is null or JsonValue || random.Next(3) == 0)
                {
                    array[index] = replacements[random.Next(replacements.Length)].DeepClone();
                    return;
                }

                node = array[index]!;
            }
            else
            {
                return;
            }
        }
    }

    private static byte[] Flip(byte[] bytes, Random random)
    {
        var copy = (byte[])bytes.Clone();
        for (var i = 0; i < 1 + random.Next(4); i++)
        {
            copy[random.Next(copy.Length)] = (byte)random.Next(256);
        }

        return copy;
    }
}
