using ReviewBot.Jobs;
using ReviewBot.Review;

namespace ReviewBot.Tests.Jobs;

// GitHub refused the review's inline comments (422): they are posted in the review body instead. That
// body must fit GitHub's 65,536 characters, or the one post carrying the findings is refused as well
// and the review is retried, model call included, until it fails.
public sealed class ReviewFallbackTests
{
    [Fact]
    public void Findings_moved_to_the_body_stop_within_the_budget_and_say_how_many_were_left_out()
    {
        var comments = Enumerable.Range(1, 60)
            .Select(i => new InlineComment($"src/file{i % 7}.cs", i, "RIGHT", null, null, new string('x', 1_000)))
            .ToList();

        var text = ReviewJobHandler.InlineAsText(comments, 20_000);

        Assert.InRange(text.Length, 15_000, 20_000);
        Assert.Matches(@"…and \d+ more finding\(s\), left out", text);
        var shown = text.Split("\n- line ").Length - 1;
        Assert.Contains($"…and {60 - shown} more", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Findings_that_fit_are_all_listed_under_their_file()
    {
        var comments = new List<InlineComment>
        {
            new("a.cs", 3, "RIGHT", null, null, "first"),
            new("a.cs", 9, "RIGHT", null, null, "second"),
            new("b.cs", 1, "RIGHT", null, null, "third"),
        };

        var text = ReviewJobHandler.InlineAsText(comments, 65_536);

        Assert.Equal(1, text.Split("**`a.cs`**").Length - 1);
        Assert.Contains("- line 9: second", text, StringComparison.Ordinal);
        Assert.Contains("**`b.cs`**", text, StringComparison.Ordinal);
        Assert.DoesNotContain("left out", text, StringComparison.Ordinal);
    }
}
