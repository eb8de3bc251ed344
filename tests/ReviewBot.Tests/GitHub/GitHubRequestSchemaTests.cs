using System.Text.Json;
using System.Text.Json.Nodes;
using NJsonSchema;
using ReviewBot.GitHub;
using ReviewBot.Tests.Infrastructure;

namespace ReviewBot.Tests.GitHub;

// Every request body ReviewBot serializes is checked against GitHub's own request schema
// (fixtures/github/openapi-subset.json, from github/rest-api-description).
public sealed class GitHubRequestSchemaTests
{
    private static readonly JsonArray Operations = (JsonArray)JsonNode.Parse(TestPaths.ReadFixture("github/openapi-subset.json"))!["operations"]!;

    [Fact]
    public async Task Create_review_body_with_single_and_multi_line_comments_matches_GitHubs_schema()
    {
        var review = new CreateReviewRequest
        {
            CommitId = "6dcb09b5b57875f334f61aebed695e2e4193db5e",
            Body = "Summary\n\n<!-- reviewbot:sha=6dcb09b5b57875f334f61aebed695e2e4193db5e -->",
            Comments =
            [
                new ReviewCommentRequest { Path = "src/a.cs", Body = "One line", Line = 12, Side = "RIGHT" },
                new ReviewCommentRequest { Path = "src/a.cs", Body = "Range", Line = 20, Side = "RIGHT", StartLine = 18, StartSide = "RIGHT" },
                new ReviewCommentRequest { Path = "src/b.cs", Body = "Removed line", Line = 3, Side = "LEFT" },
            ],
        };

        var json = JsonSerializer.Serialize(review, GitHubJsonContext.Default.CreateReviewRequest);

        await AssertValidAsync("pulls/create-review", json);
        Assert.DoesNotContain("null", json, StringComparison.Ordinal);
        Assert.Contains("\"event\":\"COMMENT\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_check_run_bodies_queued_and_completed_match_GitHubs_schema()
    {
        var queued = new CreateCheckRunRequest
        {
            Name = "ReviewBot",
            HeadSha = "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
            Status = "queued",
            ExternalId = "42",
        };
        await AssertValidAsync("checks/create", JsonSerializer.Serialize(queued, GitHubJsonContext.Default.CreateCheckRunRequest));

        var started = queued with
        {
            Status = "in_progress",
            StartedAt = new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero),
            Output = new CheckRunOutput { Title = "Reviewing", Summary = "Reviewing 3 files" },
        };
        await AssertValidAsync("checks/create", JsonSerializer.Serialize(started, GitHubJsonContext.Default.CreateCheckRunRequest));
    }

    [Fact]
    public async Task Update_check_run_body_completed_with_truncated_summary_matches_GitHubs_schema()
    {
        var update = new UpdateCheckRunRequest
        {
            Status = "completed",
            Conclusion = "neutral",
            CompletedAt = new DateTimeOffset(2026, 11, 24, 10, 5, 0, TimeSpan.Zero),
            Output = GitHubClient.Truncate(new CheckRunOutput { Title = "2 comments", Summary = new string('x', 70_000) }),
        };
        var json = JsonSerializer.Serialize(update, GitHubJsonContext.Default.UpdateCheckRunRequest);
        await AssertValidAsync("checks/update", json);
        Assert.Equal(GitHubClient.MaxCheckRunOutputBytes, System.Text.Encoding.UTF8.GetByteCount(update.Output!.Summary));
    }

    // GitHub counts the summary's UTF-8 bytes, not its characters (github/docs#35252): a summary of
    // non-ASCII file names under 65,535 characters was refused with 422 "exceeds a maximum bytesize".
    [Theory]
    [InlineData("- `docs/指南/安装.md`: ignored\n", 2_200)]
    [InlineData("a", 70_000)]
    [InlineData("😀", 20_000)]
    [InlineData("é", 40_000)]
    public void Truncate_fits_GitHubs_byte_limit_whatever_the_script(string piece, int repeat)
    {
        var summary = string.Concat(Enumerable.Repeat(piece, repeat));
        var cut = GitHubClient.Truncate(new CheckRunOutput { Title = "t", Summary = summary })!.Summary;

        var bytes = System.Text.Encoding.UTF8.GetByteCount(cut);
        Assert.InRange(bytes, GitHubClient.MaxCheckRunOutputBytes - 4, GitHubClient.MaxCheckRunOutputBytes);
        Assert.StartsWith(cut[..100], summary, StringComparison.Ordinal);
        Assert.EndsWith("(truncated to fit GitHub's 65,535-byte limit)", cut, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncate_keeps_short_output_and_never_splits_a_surrogate_pair()
    {
        var shortOutput = new CheckRunOutput { Title = "t", Summary = "fine" };
        Assert.Same(shortOutput.Summary, GitHubClient.Truncate(shortOutput)!.Summary);

        var emoji = string.Concat(Enumerable.Repeat("😀", 40_000));
        var cut = GitHubClient.Truncate(new CheckRunOutput { Title = "t", Summary = emoji })!.Summary;
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(cut) <= GitHubClient.MaxCheckRunOutputBytes);
        Assert.True(System.Text.Unicode.Utf8.FromUtf16(cut, new byte[cut.Length * 3], out _, out _, replaceInvalidSequences: false) == System.Buffers.OperationStatus.Done);
        Assert.Contains("truncated", cut, StringComparison.Ordinal);
    }

    private static async Task AssertValidAsync(string operationId, string json)
    {
        var operation = Operations.First(o => o!["operationId"]!.GetValue<string>() == operationId)!;
        var schema = await JsonSchema.FromJsonAsync(operation["requestSchema"]!.ToJsonString());
        var errors = schema.Validate(json);
        Assert.True(errors.Count == 0, $"{operationId}: {string.Join("; ", errors.Select(e => e.ToString()))}\n{json}");
    }
}
