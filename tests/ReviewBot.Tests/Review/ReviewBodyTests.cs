using System.Text;
using ReviewBot.Review;

namespace ReviewBot.Tests.Review;

public sealed class ReviewBodyTests
{
    // GitHub measures a check run's summary in UTF-8 bytes: 2,200 ignored files with CJK names were
    // ~100 KB of UTF-8 under a 60,000-character budget. The list ends with "…and N more" within budget.
    [Fact]
    public void The_check_run_summary_lists_unreviewed_files_within_its_budget_in_utf8_bytes()
    {
        var input = new ReviewInput("o/r", 1, "t", null, "abc", [], null, null);
        var skipped = Enumerable.Range(0, 2_200)
            .Select(i => new SkippedFile($"docs/指南/安装-{i}.md", SkipReason.Ignored, "matches the installation's ignorePaths"))
            .ToList();

        var summary = ReviewBody.CheckRunSummary(input, 0, 0, 0, 0, skipped, 60_000);

        Assert.InRange(Encoding.UTF8.GetByteCount(summary), 50_000, 60_000);
        Assert.Matches(@"- …and \d+ more$", summary);
        Assert.Contains("docs/指南/安装-0.md", summary, StringComparison.Ordinal);
    }
}
