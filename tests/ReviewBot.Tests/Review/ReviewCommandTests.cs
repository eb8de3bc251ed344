using System.Net;
using System.Text;
using System.Text.Json;
using ReviewBot.Review;
using ReviewBot.Tests.Infrastructure;

namespace ReviewBot.Tests.Review;

public sealed class ReviewCommandTests
{
    [Fact]
    public async Task Dry_run_prints_contract_json_with_every_commentable_line_of_the_diff()
    {
        var (code, stdout, stderr) = await RunAsync(["review", "--diff", TestPaths.Fixture("diffs/new-files-text-and-binary.diff"), "--dry-run"]);

        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.Equal(["files", "chunks"], root.EnumerateObject().Select(p => p.Name));

        var files = root.GetProperty("files").EnumerateArray().ToList();
        Assert.Equal(["README.md", "doc/sponsors.md", "doc/sponsors/warp-logo.png"], files.Select(f => f.GetProperty("path").GetString()));
        foreach (var file in files)
        {
            Assert.Equal(["path", "previousPath", "status", "skipped", "lines"], file.EnumerateObject().Select(p => p.Name));
            Assert.Equal(JsonValueKind.Null, file.GetProperty("previousPath").ValueKind);
        }

        Assert.Equal(("modified", JsonValueKind.Null), (files[0].GetProperty("status").GetString(), files[0].GetProperty("skipped").ValueKind));
        Assert.Equal(("binary", "binary"), (files[2].GetProperty("status").GetString(), files[2].GetProperty("skipped").GetString()));

        var sponsors = files[1].GetProperty("lines").EnumerateArray().ToList();
        Assert.Equal(14, sponsors.Count);
        Assert.Equal(["side", "line", "text"], sponsors[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(("RIGHT", 1, "## Sponsors"), (sponsors[0].GetProperty("side").GetString(), sponsors[0].GetProperty("line").GetInt32(), sponsors[0].GetProperty("text").GetString()));

        var chunk = Assert.Single(root.GetProperty("chunks").EnumerateArray());
        Assert.Equal(["paths", "estimatedTokens"], chunk.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["README.md", "doc/sponsors.md"], chunk.GetProperty("paths").EnumerateArray().Select(p => p.GetString()));
        Assert.True(chunk.GetProperty("estimatedTokens").GetInt32() > 0);
        Assert.Contains("\"text\": \"<a href=", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dry_run_lines_match_the_diff_line_for_line_for_every_fixture()
    {
        foreach (var path in Directory.GetFiles(TestPaths.Fixture("diffs"), "*.diff"))
        {
            var (code, stdout, _) = await RunAsync(["review", "--diff", path, "--dry-run"]);
            Assert.Equal(0, code);
            using var json = JsonDocument.Parse(stdout);

            // Each added/context line of the diff is one RIGHT line, each removed line one LEFT line, in order.
            var expected = DiffBodyLines(File.ReadAllText(path)).ToList();
            var actual = json.RootElement.GetProperty("files").EnumerateArray()
                .SelectMany(f => f.GetProperty("lines").EnumerateArray())
                .Select(l => (l.GetProperty("side").GetString() == "LEFT" ? "-" : "+") + l.GetProperty("text").GetString())
                .ToList();
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public async Task Dry_run_marks_deleted_renamed_and_ignored_files()
    {
        var (_, stdout, _) = await RunAsync(["review", "--diff", TestPaths.Fixture("diffs/deleted-file.diff"), "--dry-run", "--ignore", "src/timer/unix_timer.rs"]);
        using var deleted = JsonDocument.Parse(stdout);
        var files = deleted.RootElement.GetProperty("files").EnumerateArray().ToList();
        Assert.Equal(("removed", "deleted"), (files[0].GetProperty("status").GetString(), files[0].GetProperty("skipped").GetString()));
        Assert.Equal("ignored", files.Single(f => f.GetProperty("path").GetString() == "src/timer/unix_timer.rs").GetProperty("skipped").GetString());

        (_, stdout, _) = await RunAsync(["review", "--diff", TestPaths.Fixture("diffs/rename-with-changes.diff"), "--dry-run"]);
        using var renamed = JsonDocument.Parse(stdout);
        var file = renamed.RootElement.GetProperty("files").EnumerateArray().Single(f => f.GetProperty("status").GetString() == "renamed");
        Assert.Equal(("src/min_max.rs", "src/internal.rs"), (file.GetProperty("path").GetString(), file.GetProperty("previousPath").GetString()));
    }

    [Fact]
    public async Task Review_with_a_malformed_diff_exits_1()
    {
        var path = Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".diff");
        await File.WriteAllTextAsync(path, "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,5 +1,5 @@\n a\n", TestContext.Current.CancellationToken);
        try
        {
            var (code, _, stderr) = await RunAsync(["review", "--diff", path, "--dry-run"]);
            Assert.Equal(1, code);
            Assert.Contains("hunk", stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Review_with_provider_needs_the_api_key_variable()
    {
        var (code, _, stderr) = await RunAsync(["review", "--diff", TestPaths.Fixture("diffs/no-newline-at-eof.diff"), "--provider", "openai", "--model", "gpt-4o-mini"]);

        Assert.Equal(1, code);
        Assert.Contains("REVIEWBOT_LLM_API_KEY", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Review_with_provider_calls_the_model_and_prints_the_review_it_would_post()
    {
        var handler = new RecordingHandler(
            """
            {"choices":[{"index":0,"message":{"role":"assistant","content":"{\"summary\":\"Looks risky.\",\"comments\":[{\"path\":\"scripts/welch_ttest.py\",\"line\":6,\"startLine\":null,\"side\":\"RIGHT\",\"body\":\"Unused import?\",\"suggestion\":null}]}","refusal":null},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":321,"completion_tokens":45,"total_tokens":366}}
            """);
        var env = new Dictionary<string, string?> { ["REVIEWBOT_LLM_API_KEY"] = "sk-test-secret", ["OPENAI_BASE_URL"] = "http://llm.test/v1" };

        var (code, stdout, stderr) = await RunAsync(["review", "--diff", TestPaths.Fixture("diffs/no-newline-at-eof.diff"), "--provider", "openai", "--model", "gpt-4o-mini"], env, handler);

        Assert.True(code == 0, stderr);
        Assert.Equal("http://llm.test/v1/chat/completions", handler.RequestUri?.ToString());
        Assert.Equal("Bearer sk-test-secret", handler.Authorization);
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal("COMMENT", json.RootElement.GetProperty("event").GetString());
        var comment = Assert.Single(json.RootElement.GetProperty("comments").EnumerateArray());
        Assert.Equal(6, comment.GetProperty("line").GetInt32());
        Assert.Equal(321, json.RootElement.GetProperty("inputTokens").GetInt32());
        Assert.DoesNotContain("sk-test-secret", stdout, StringComparison.Ordinal);
    }

    private static IEnumerable<string> DiffBodyLines(string diff)
    {
        var inHunk = false;
        foreach (var line in diff.Split('\n'))
        {
            if (line.StartsWith("diff --git ", StringComparison.Ordinal))
            {
                inHunk = false;
            }
            else if (line.StartsWith("@@ ", StringComparison.Ordinal))
            {
                inHunk = true;
            }
            else if (inHunk && line.Length > 0 && line[0] is ' ' or '+' or '-')
            {
                yield return (line[0] == '-' ? "-" : "+") + line[1..];
            }
        }
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string[] args, Dictionary<string, string?>? env = null, HttpMessageHandler? handler = null)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await ReviewCommand.RunAsync(args, stdout, stderr, name => env?.GetValueOrDefault(name), handler, TestContext.Current.CancellationToken);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private sealed class RecordingHandler(string responseJson) : HttpMessageHandler
    {
        public Uri? RequestUri { get; private set; }

        public string? Authorization { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            RequestUri = request.RequestUri;
            Authorization = request.Headers.Authorization?.ToString();
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(responseJson, Encoding.UTF8, "application/json") });
        }
    }
}
