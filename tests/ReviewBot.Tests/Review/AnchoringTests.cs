using ReviewBot.Review;

namespace ReviewBot.Tests.Review;

public sealed class AnchoringTests
{
    // Two hunks: new lines 1-4 (line 2 added, old line 2 removed) and new lines 20-22 (21 added).
    private const string Patch =
        "@@ -1,4 +1,4 @@\n" +
        " one\n" +
        "-two\n" +
        "+TWO\n" +
        " three\n" +
        " four\n" +
        "@@ -20,2 +20,3 @@\n" +
        " twenty\n" +
        "+twenty-one\n" +
        " twenty-two\n";

    private static readonly Dictionary<string, DiffFile> Diff = new()
    {
        ["src/a.cs"] = PullRequestFiles.ToDiffFile(new PullRequestFile("src/a.cs", null, "modified", Patch, 3)),
    };

    [Fact]
    public void Anchor_keeps_comments_on_added_context_and_removed_lines()
    {
        var result = Anchoring.Anchor(
        [
            Finding(2, "RIGHT", "added"),
            Finding(3, "RIGHT", "context"),
            Finding(2, "LEFT", "removed"),
        ], Diff);

        Assert.Empty(result.Unanchored);
        Assert.Equal(
            [("src/a.cs", 2, "RIGHT"), ("src/a.cs", 3, "RIGHT"), ("src/a.cs", 2, "LEFT")],
            result.Comments.Select(c => (c.Path, c.Line, c.Side)));
    }

    [Theory]
    [InlineData(10, "RIGHT")]   // between the hunks
    [InlineData(0, "RIGHT")]
    [InlineData(-3, "RIGHT")]
    [InlineData(99, "RIGHT")]
    [InlineData(1, "LEFT")]     // context lines are RIGHT only
    public void Anchor_moves_comment_outside_the_diff_to_the_body(int line, string side)
    {
        var result = Anchoring.Anchor([Finding(line, side, "look here")], Diff);

        Assert.Empty(result.Comments);
        var note = Assert.Single(result.Unanchored);
        Assert.Equal("src/a.cs", note.Path);
        Assert.Contains("look here", note.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void Anchor_moves_comment_on_a_file_outside_the_diff_to_the_body()
    {
        var result = Anchoring.Anchor([Finding(2, "RIGHT", "elsewhere") with { Path = "src/other.cs" }], Diff);

        Assert.Empty(result.Comments);
        Assert.Equal("src/other.cs", Assert.Single(result.Unanchored).Path);
    }

    [Fact]
    public void Anchor_keeps_range_inside_one_hunk_and_narrows_range_across_hunks_to_its_last_line()
    {
        var result = Anchoring.Anchor(
        [
            Finding(4, "RIGHT", "range", startLine: 2),
            Finding(21, "RIGHT", "across", startLine: 3),
        ], Diff);

        var inside = result.Comments[0];
        Assert.Equal((2, "RIGHT", 4), (inside.StartLine!.Value, inside.StartSide!, inside.Line));
        var across = result.Comments[1];
        Assert.Null(across.StartLine);
        Assert.Null(across.StartSide);
        Assert.Equal(21, across.Line);
    }

    [Fact]
    public void Anchor_turns_suggestion_into_suggestion_block_only_on_a_valid_right_range()
    {
        var result = Anchoring.Anchor(
        [
            Finding(2, "RIGHT", "rename it", suggestion: "Two"),
            Finding(21, "RIGHT", "across hunks", startLine: 3, suggestion: "x\ny"),
            Finding(2, "LEFT", "old side", suggestion: "two"),
        ], Diff);

        Assert.Contains("```suggestion\nTwo\n```", result.Comments[0].Body, StringComparison.Ordinal);
        Assert.DoesNotContain("```suggestion", result.Comments[1].Body, StringComparison.Ordinal);
        Assert.Contains("x\ny", result.Comments[1].Body, StringComparison.Ordinal);
        Assert.DoesNotContain("```suggestion", result.Comments[2].Body, StringComparison.Ordinal);
    }

    [Fact]
    public void Anchor_fences_suggestion_containing_backticks_with_a_longer_fence()
    {
        var result = Anchoring.Anchor([Finding(2, "RIGHT", "doc", suggestion: "```\ncode\n```")], Diff);

        Assert.Contains("````suggestion\n```\ncode\n```\n````", result.Comments[0].Body, StringComparison.Ordinal);
    }

    [Fact]
    public void Anchor_merges_duplicate_findings_on_the_same_line()
    {
        var result = Anchoring.Anchor(
        [
            Finding(2, "RIGHT", "null check missing"),
            Finding(2, "RIGHT", "null check missing"),
            Finding(2, "RIGHT", "also: naming"),
        ], Diff);

        var comment = Assert.Single(result.Comments);
        Assert.Equal(1, CountOf(comment.Body, "null check missing"));
        Assert.Contains("also: naming", comment.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void Anchor_in_incremental_review_places_removed_line_only_when_its_text_matches_the_full_diff()
    {
        // The incremental diff's old side numbers lines of the previously reviewed commit.
        var shown = new Dictionary<string, DiffFile>
        {
            ["src/a.cs"] = PullRequestFiles.ToDiffFile(new PullRequestFile("src/a.cs", null, "modified", "@@ -7,2 +1,1 @@\n-two\n-unknown\n+TWO\n", 3)),
        };

        var result = Anchoring.Anchor([Finding(7, "LEFT", "matched"), Finding(8, "LEFT", "unmatched")], Diff, shown);

        var placed = Assert.Single(result.Comments);
        Assert.Equal((2, "LEFT"), (placed.Line, placed.Side));
        Assert.Equal("unmatched", Assert.Single(result.Unanchored).Body);
    }

    private static int CountOf(string text, string value) => text.Split(value).Length - 1;

    private static ModelComment Finding(int line, string side, string body, int? startLine = null, string? suggestion = null) =>
        new("src/a.cs", line, startLine, side, body, suggestion);
}
