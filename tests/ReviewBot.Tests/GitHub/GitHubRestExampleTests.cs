using System.Text.Json;
using ReviewBot.GitHub;
using ReviewBot.Tests.Infrastructure;

namespace ReviewBot.Tests.GitHub;

// GitHub's published REST examples (fixtures/github/rest) read into ReviewBot's wire types.
public sealed class GitHubRestExampleTests
{
    [Fact]
    public void Pull_request_example_reads_title_state_draft_and_both_refs()
    {
        var pr = JsonSerializer.Deserialize(TestPaths.ReadFixture("github/rest/pulls-get.pull-request.json"), GitHubJsonContext.Default.PullRequest)!;
        Assert.Equal(1347, pr.Number);
        Assert.Equal("Amazing new feature", pr.Title);
        Assert.Equal("open", pr.State);
        Assert.Equal("6dcb09b5b57875f334f61aebed695e2e4193db5e", pr.Head.Sha);
        Assert.Equal("master", pr.Base.Ref);
        Assert.False(string.IsNullOrEmpty(pr.Base.Sha));
        Assert.Equal("octocat/Hello-World", pr.Head.Repo!.FullName);
    }

    [Fact]
    public void Pull_request_files_example_reads_patch_and_status()
    {
        var files = JsonSerializer.Deserialize(TestPaths.ReadFixture("github/rest/pulls-list-files.diff-entry-items.json"), GitHubJsonContext.Default.ListPullRequestFile)!;
        var file = Assert.Single(files);
        Assert.Equal("file1.txt", file.Filename);
        Assert.Equal("added", file.Status);
        Assert.Equal(124, file.Changes);
        Assert.StartsWith("@@", file.Patch, StringComparison.Ordinal);
    }

    [Fact]
    public void Installation_token_example_reads_token_and_expiry()
    {
        var token = JsonSerializer.Deserialize(TestPaths.ReadFixture("github/rest/apps-create-installation-access-token.installation-token.json"), GitHubJsonContext.Default.InstallationToken)!;
        Assert.False(string.IsNullOrEmpty(token.Token));
        Assert.Equal(2016, token.ExpiresAt.Year);
    }

    [Theory]
    [InlineData("github/rest/checks-create.check-run-completed.json", "completed")]
    [InlineData("github/rest/checks-create.check-run-in-progress.json", "in_progress")]
    public void Check_run_examples_read_id_and_status(string fixture, string status)
    {
        var checkRun = JsonSerializer.Deserialize(TestPaths.ReadFixture(fixture), GitHubJsonContext.Default.CheckRun)!;
        Assert.Equal(4, checkRun.Id);
        Assert.Equal(status, checkRun.Status);
        Assert.Equal("ce587453ced02b1526dfb4cb910479d431683101", checkRun.HeadSha);
    }

    [Fact]
    public void Review_examples_read_body_state_and_commit()
    {
        var created = JsonSerializer.Deserialize(TestPaths.ReadFixture("github/rest/pulls-create-review.pull-request-review.json"), GitHubJsonContext.Default.PullRequestReview)!;
        Assert.Equal(80, created.Id);
        Assert.Equal("ecdd80bb57125d7ba9641ffaa4d7d2c19d3f3091", created.CommitId);

        var listed = JsonSerializer.Deserialize(TestPaths.ReadFixture("github/rest/pulls-list-reviews.pull-request-review-items.json"), GitHubJsonContext.Default.ListPullRequestReview)!;
        var review = Assert.Single(listed);
        Assert.Equal("APPROVED", review.State);
        Assert.Equal("octocat", review.User!.Login);
    }
}
