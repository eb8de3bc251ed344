using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using ReviewBot.IntegrationTests.Infrastructure;
using ReviewBot.Llm;
using ReviewBot.Review;
using ReviewBot.Upstream;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;

namespace ReviewBot.IntegrationTests.Llm;

// A 429 with Retry-After answers for the API key, not for the one request (OpenAI "Rate limits":
// limits are per organization and key; "retry-after" says when to send again): a multi-chunk review
// through the real OpenAI client and WireMock, where one chunk is told to wait and the others must
// not reach the server before that time, whether they were queued behind it or are another review.
public sealed class LlmCredentialCooldownTests : IDisposable
{
    private const string CompletionsPath = "/v1/chat/completions";
    private const string Patch = "@@ -1,2 +1,3 @@\n line one\n-line two\n+line 2\n+line three";

    private readonly CredentialCooldown _cooldown = new(TimeProvider.System);
    private readonly LlmTestSupport _llm;
    private readonly ConcurrentQueue<(CredentialKey Key, DateTimeOffset Until, DateTimeOffset At)> _learned = new();
    private int _requests;

    public LlmCredentialCooldownTests()
    {
        _llm = new LlmTestSupport(cooldown: _cooldown);
        _cooldown.Learned += (key, until) => _learned.Enqueue((key, until, DateTimeOffset.UtcNow));
    }

    public void Dispose() => _llm.Dispose();

    [Fact]
    public async Task Retry_after_on_one_chunk_holds_every_other_request_with_the_key_until_the_deadline()
    {
        // The first request is told to wait 2 s; the others answer after 300 ms, so the chunks queued
        // behind the first three would go out long before the deadline if nothing held them.
        GivenCompletions(retryAfterSeconds: "2", latency: TimeSpan.FromMilliseconds(300));
        var files = Enumerable.Range(0, 5).Select(i => new PullRequestFile($"src/f{i}.cs", null, "modified", Patch, 3)).ToList();
        var engine = Engine(files[0]);

        var result = await engine.ReviewAsync(Input(files), Settings, _llm.Factory.Create(LlmProvider.OpenAi, LlmTestSupport.ApiKey), TestContext.Current.CancellationToken);

        Assert.Equal(ReviewResultKind.Reviewed, result.Kind);
        Assert.Contains("reviewed in 5 parts", result.Body, StringComparison.Ordinal);
        var learned = Assert.Single(_learned);
        Assert.Equal(CredentialKey.ForSecret("openai", LlmTestSupport.ApiKey), learned.Key);
        var requests = Requests();
        Assert.Equal(6, requests.Count);
        var limited = requests.Single(r => Status(r) == 429);
        Assert.True(learned.Until >= Arrival(limited).AddSeconds(2));

        // Sent after the client read the 429 (with a margin for a request already on the wire then):
        // at least the two chunks queued behind the first three and the retry of the limited one.
        // Without the key's cooldown the queued chunks arrive 300 ms after the 429. Each reached the
        // server at or after the deadline.
        var sentAfter = requests.Where(r => Arrival(r) > learned.At + TimeSpan.FromMilliseconds(100)).ToList();
        Assert.True(sentAfter.Count >= 3, $"{sentAfter.Count} request(s) after the 429");
        Assert.All(sentAfter, r => Assert.True(Arrival(r) >= learned.Until,
            $"a request arrived at {Arrival(r):HH:mm:ss.fff}, before the key's deadline {learned.Until:HH:mm:ss.fff}"));
    }

    [Fact]
    public async Task A_long_retry_after_fails_this_review_and_the_next_one_with_the_key_without_sending_it()
    {
        GivenCompletions(retryAfterSeconds: "60", latency: TimeSpan.Zero);
        var files = Enumerable.Range(0, 2).Select(i => new PullRequestFile($"src/f{i}.cs", null, "modified", Patch, 3)).ToList();
        var engine = Engine(files[0], maxParallelChunks: 1);

        var first = await engine.ReviewAsync(Input(files), Settings, _llm.Factory.Create(LlmProvider.OpenAi, LlmTestSupport.ApiKey), TestContext.Current.CancellationToken);
        var next = await engine.ReviewAsync(Input(files), Settings, _llm.Factory.Create(LlmProvider.OpenAi, LlmTestSupport.ApiKey), TestContext.Current.CancellationToken);
        var otherKey = await engine.ReviewAsync(Input(files), Settings, _llm.Factory.Create(LlmProvider.OpenAi, "another-key-0123456789"), TestContext.Current.CancellationToken);

        Assert.Equal(ReviewResultKind.Failed, first.Kind);
        Assert.Equal(LlmOutcome.Transient, first.FailureOutcome);
        Assert.InRange(first.RetryAfter!.Value, TimeSpan.FromSeconds(59), TimeSpan.FromSeconds(60));
        Assert.Equal(ReviewResultKind.Failed, next.Kind);
        Assert.Equal(LlmOutcome.Transient, next.FailureOutcome);
        Assert.InRange(next.RetryAfter!.Value, TimeSpan.FromSeconds(55), TimeSpan.FromSeconds(60));
        Assert.Equal(ReviewResultKind.Reviewed, otherKey.Kind);

        // One request with the limited key (the second chunk and the next review never went out),
        // two with the other key.
        var requests = Requests();
        Assert.Single(requests, r => r.RequestMessage.Headers!["Authorization"].Single() == "Bearer " + LlmTestSupport.ApiKey);
        Assert.Equal(2, requests.Count(r => r.RequestMessage.Headers!["Authorization"].Single() == "Bearer another-key-0123456789"));
    }

    private static readonly ReviewSettings Settings = new(LlmProvider.OpenAi, "gpt-4o-mini", "", []);

    private static ReviewEngine Engine(PullRequestFile oneFile, int maxParallelChunks = 3)
    {
        var diff = PullRequestFiles.ToDiffFile(oneFile);
        return new ReviewEngine(
            new ReviewEngineOptions { ChunkTokenBudget = Chunker.EstimateTokens(diff, diff.Hunks), MaxParallelChunks = maxParallelChunks },
            NullLogger<ReviewEngine>.Instance);
    }

    private static ReviewInput Input(IReadOnlyList<PullRequestFile> files) =>
        new("octo/repo", 7, "Fix things", "Please review.", "0123456789abcdef0123456789abcdef01234567", files, null, null);

    // The first completion request gets OpenAI's 429 (rate_limit_exceeded, retry-after in seconds);
    // every other one a review with no comments after the given latency.
    private void GivenCompletions(string retryAfterSeconds, TimeSpan latency)
    {
        _llm.Server.Given(Request.Create().WithPath(CompletionsPath).UsingPost())
            .RespondWith(Response.Create().WithCallback(async _ =>
            {
                if (Interlocked.Increment(ref _requests) == 1)
                {
                    var limited = FakeGitHub.Json(429, new JsonObject
                    {
                        ["error"] = new JsonObject
                        {
                            ["message"] = "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1.",
                            ["type"] = "requests",
                            ["param"] = null,
                            ["code"] = "rate_limit_exceeded",
                        },
                    });
                    ((ResponseMessage)limited).AddHeader("retry-after", retryAfterSeconds);
                    return limited;
                }

                if (latency > TimeSpan.Zero)
                {
                    await Task.Delay(latency);
                }

                var review = new JsonObject { ["summary"] = "Nothing to add.", ["comments"] = new JsonArray() };
                return FakeGitHub.Json(200, FakeOpenAi.Completion(review));
            }));
    }

    private List<WireMock.Logging.ILogEntry> Requests() =>
        _llm.Server.LogEntries.Where(e => e.RequestMessage.Path == CompletionsPath).OrderBy(e => e.RequestMessage.DateTime).ToList();

    private static int Status(WireMock.Logging.ILogEntry entry) => Convert.ToInt32(entry.ResponseMessage.StatusCode, System.Globalization.CultureInfo.InvariantCulture);

    private static DateTimeOffset Arrival(WireMock.Logging.ILogEntry entry) => new(DateTime.SpecifyKind(entry.RequestMessage.DateTime, DateTimeKind.Utc), TimeSpan.Zero);
}
