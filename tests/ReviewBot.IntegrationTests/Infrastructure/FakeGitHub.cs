using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using WireMock;
using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Types;
using WireMock.Util;

namespace ReviewBot.IntegrationTests.Infrastructure;

// A stateful stand-in for the GitHub REST endpoints a review job calls, on WireMock: it remembers the
// reviews and check runs ReviewBot creates, so tests can count them across crashes and restarts.
internal sealed partial class FakeGitHub : IDisposable
{
    private readonly ConcurrentDictionary<string, PullState> _pulls = new();
    private long _nextId = 1000;

    public FakeGitHub()
    {
        Server = WireMockServer.Start();
        Server.Given(Request.Create().WithPath(new RegexMatcher(@"^/app/installations/\d+/access_tokens$")).UsingPost())
            .RespondWith(Response.Create().WithCallback(_ => Json(201, new JsonObject
            {
                ["token"] = "ghs_fake_installation_token",
                ["expires_at"] = DateTimeOffset.UtcNow.AddHours(1).ToString("O", CultureInfo.InvariantCulture),
            })));
        Server.Given(Request.Create().WithPath("/app/hook/deliveries").UsingGet())
            .RespondWith(Response.Create().WithCallback(_ => Json(200, new JsonArray())));
        Server.Given(Request.Create().WithPath(new RegexMatcher(@"^/repos/[^/]+/[^/]+/pulls/\d+$")).UsingGet())
            .RespondWith(Response.Create().WithCallback(request => WithPull(request, pull => Json(200, pull.ToJson()))));
        Server.Given(Request.Create().WithPath(new RegexMatcher(@"^/repos/[^/]+/[^/]+/pulls/\d+/files$")).UsingGet())
            .RespondWith(Response.Create().WithCallback(request => WithPull(request, pull => Json(200, new JsonArray(pull.Files.Select(f => (JsonNode)f.DeepClone()).ToArray())))));
        Server.Given(Request.Create().WithPath(new RegexMatcher(@"^/repos/[^/]+/[^/]+/pulls/\d+/reviews$")).UsingGet())
            .RespondWith(Response.Create().WithCallback(request => WithPull(request, pull => Json(200, new JsonArray(
                Reviews.Where(r => r.Key == pull.Key).Select(r => (JsonNode)new JsonObject { ["id"] = r.Id, ["body"] = r.Body, ["state"] = "COMMENTED", ["commit_id"] = r.CommitId }).ToArray())))));
        Server.Given(Request.Create().WithPath(new RegexMatcher(@"^/repos/[^/]+/[^/]+/pulls/\d+/reviews$")).UsingPost())
            .RespondWith(Response.Create().WithCallback(request => WithPull(request, pull => CreateReview(pull, request))));
        Server.Given(Request.Create().WithPath(new RegexMatcher(@"^/repos/[^/]+/[^/]+/check-runs$")).UsingPost())
            .RespondWith(Response.Create().WithCallback(CreateCheckRun));
        Server.Given(Request.Create().WithPath(new RegexMatcher(@"^/repos/[^/]+/[^/]+/commits/[^/]+/check-runs$")).UsingGet())
            .RespondWith(Response.Create().WithCallback(request =>
            {
                var sha = request.Path.Split('/')[^2];
                var runs = CheckRuns.Values.Where(c => c.HeadSha == sha)
                    .Select(c => (JsonNode)new JsonObject { ["id"] = c.Id, ["name"] = c.Name, ["head_sha"] = c.HeadSha, ["status"] = c.Last.Status, ["external_id"] = c.ExternalId })
                    .ToArray();
                return Json(200, new JsonObject { ["total_count"] = runs.Length, ["check_runs"] = new JsonArray(runs) });
            }));
        Server.Given(Request.Create().WithPath(new RegexMatcher(@"^/repos/[^/]+/[^/]+/check-runs/\d+$")).UsingPatch())
            .RespondWith(Response.Create().WithCallback(UpdateCheckRun));
    }

    public WireMockServer Server { get; }

    public Uri Url => new(Server.Url! + "/");

    public ConcurrentQueue<PostedReview> Reviews { get; } = new();

    public ConcurrentDictionary<long, CheckRunState> CheckRuns { get; } = new();

    // Answer the next N create-review calls with 502 after storing the review (GitHub accepted it,
    // then the response was lost), as a crash or timeout after posting looks to ReviewBot.
    public int AcceptReviewThenFail { get; set; }

    // Runs after a review is stored and before GitHub's answer leaves: a test kills ReviewBot here to
    // crash it exactly between "GitHub accepted the review" and "the job was marked done".
    public Action<PostedReview>? OnReviewStored { get; set; }

    // Runs after a check run is stored and before GitHub's answer leaves (a crash before ReviewBot
    // could record the check run's id).
    public Action<CheckRunState>? OnCheckRunCreated { get; set; }

    public void AddPull(string repo, int number, string headSha, string diffFile, bool draft = false, string state = "open")
    {
        var files = DiffFiles(File.ReadAllText(TestPaths.Fixture(diffFile)));
        _pulls[$"{repo}#{number}"] = new PullState($"{repo}#{number}", number, headSha, draft, state, files);
    }

    public void SetPull(string repo, int number, Func<PullState, PullState> change) =>
        _pulls[$"{repo}#{number}"] = change(_pulls[$"{repo}#{number}"]);

    public int ReviewsFor(string repo, int number, string sha) =>
        Reviews.Count(r => r.Key == $"{repo}#{number}" && r.Body.Contains($"reviewbot:sha={sha}", StringComparison.Ordinal));

    public void Dispose() => Server.Stop();

    // GitHub's files API gives each file's patch starting at its first hunk header.
    private static List<JsonObject> DiffFiles(string diff)
    {
        var files = new List<JsonObject>();
        foreach (var section in Regex.Split(diff, @"(?m)^(?=diff --git )").Where(s => s.StartsWith("diff --git", StringComparison.Ordinal)))
        {
            var path = Regex.Match(section, @"(?m)^\+\+\+ b/(.+)$").Groups[1].Value;
            var hunk = section.IndexOf("\n@@", StringComparison.Ordinal);
            if (path.Length == 0 || hunk < 0)
            {
                continue;
            }

            var patch = section[(hunk + 1)..].TrimEnd('\n');
            files.Add(new JsonObject
            {
                ["filename"] = path,
                ["status"] = "modified",
                ["patch"] = patch,
                ["changes"] = patch.Split('\n').Count(l => l.StartsWith('+') || l.StartsWith('-')),
            });
        }

        return files;
    }

    private IResponseMessage WithPull(IRequestMessage request, Func<PullState, IResponseMessage> respond)
    {
        var m = PullPath().Match(request.Path);
        var key = $"{m.Groups[1].Value}#{m.Groups[2].Value}";
        return _pulls.TryGetValue(key, out var pull) ? respond(pull) : Json(404, new JsonObject { ["message"] = "Not Found" });
    }

    private IResponseMessage CreateReview(PullState pull, IRequestMessage request)
    {
        var body = JsonNode.Parse(request.Body!)!.AsObject();
        var review = new PostedReview(Interlocked.Increment(ref _nextId), pull.Key, body["commit_id"]?.GetValue<string>() ?? "",
            body["body"]?.GetValue<string>() ?? "", body["comments"]?.AsArray().Count ?? 0, body["event"]?.GetValue<string>() ?? "");
        Reviews.Enqueue(review);
        OnReviewStored?.Invoke(review);
        if (AcceptReviewThenFail > 0)
        {
            AcceptReviewThenFail--;
            return Json(502, new JsonObject { ["message"] = "Bad Gateway" });
        }

        return Json(200, new JsonObject { ["id"] = review.Id, ["body"] = review.Body, ["state"] = "COMMENTED", ["commit_id"] = review.CommitId });
    }

    private IResponseMessage CreateCheckRun(IRequestMessage request)
    {
        var body = JsonNode.Parse(request.Body!)!.AsObject();
        var id = Interlocked.Increment(ref _nextId);
        var state = new CheckRunState(id, body["name"]!.GetValue<string>(), body["head_sha"]!.GetValue<string>(), body["external_id"]?.GetValue<string>());
        state.Updates.Enqueue((body["status"]?.GetValue<string>() ?? "queued", body["conclusion"]?.GetValue<string>(), body["output"]?["summary"]?.GetValue<string>()));
        CheckRuns[id] = state;
        OnCheckRunCreated?.Invoke(state);
        return Json(201, new JsonObject { ["id"] = id, ["name"] = state.Name, ["head_sha"] = state.HeadSha, ["status"] = "in_progress" });
    }

    private IResponseMessage UpdateCheckRun(IRequestMessage request)
    {
        var id = long.Parse(request.Path.Split('/')[^1], CultureInfo.InvariantCulture);
        if (!CheckRuns.TryGetValue(id, out var state))
        {
            return Json(404, new JsonObject { ["message"] = "Not Found" });
        }

        var body = JsonNode.Parse(request.Body!)!.AsObject();
        state.Updates.Enqueue((body["status"]?.GetValue<string>() ?? "", body["conclusion"]?.GetValue<string>(), body["output"]?["summary"]?.GetValue<string>()));
        return Json(200, new JsonObject { ["id"] = id, ["name"] = state.Name, ["head_sha"] = state.HeadSha, ["status"] = body["status"]?.GetValue<string>() ?? "in_progress" });
    }

    public static IResponseMessage Json(int status, JsonNode body)
    {
        var message = new ResponseMessage
        {
            StatusCode = status,
            BodyData = new BodyData { BodyAsString = body.ToJsonString(), DetectedBodyType = BodyType.String, Encoding = Encoding.UTF8 },
        };
        message.AddHeader("Content-Type", "application/json; charset=utf-8");
        return message;
    }

    [GeneratedRegex(@"^/repos/([^/]+/[^/]+)/pulls/(\d+)")]
    private static partial Regex PullPath();

    internal sealed record PullState(string Key, int Number, string HeadSha, bool Draft, string State, List<JsonObject> Files)
    {
        public JsonObject ToJson() => new()
        {
            ["number"] = Number,
            ["title"] = "Improve the CLI",
            ["body"] = "Please review.",
            ["state"] = State,
            ["draft"] = Draft,
            ["head"] = new JsonObject { ["sha"] = HeadSha, ["ref"] = "feature" },
            ["base"] = new JsonObject { ["sha"] = "0000000000000000000000000000000000000000", ["ref"] = "main" },
        };
    }

    internal sealed record PostedReview(long Id, string Key, string CommitId, string Body, int InlineComments, string Event);

    internal sealed record CheckRunState(long Id, string Name, string HeadSha, string? ExternalId)
    {
        public ConcurrentQueue<(string Status, string? Conclusion, string? Summary)> Updates { get; } = new();

        public (string Status, string? Conclusion, string? Summary) Last => Updates.Last();
    }
}
