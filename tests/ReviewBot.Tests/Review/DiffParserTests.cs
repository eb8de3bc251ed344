using ReviewBot.Review;
using ReviewBot.Tests.Infrastructure;

namespace ReviewBot.Tests.Review;

public sealed class DiffParserTests
{
    // `review --diff` reads any file: a header whose counts overflow is a bad diff (exit 1), not a crash.
    [Theory]
    [InlineData("@@ -1,2147483647 +1,1 @@")]
    [InlineData("@@ -1,100000000 +1 @@")]
    public void A_hunk_header_claiming_more_lines_than_there_are_is_a_format_error(string header)
    {
        Assert.Throws<DiffFormatException>(() => DiffParser.Parse($"diff --git a/x b/x\n--- a/x\n+++ b/x\n{header}\n+a\n"));
    }

    public static TheoryData<string> FixtureDiffs()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(TestPaths.Fixture("diffs"), "*.diff").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(FixtureDiffs))]
    public void Parse_fixture_gives_every_hunk_exactly_its_promised_lines_numbered_consecutively(string name)
    {
        var text = TestPaths.ReadFixture(Path.Combine("diffs", name));
        var files = DiffParser.Parse(text);

        Assert.NotEmpty(files);
        Assert.Equal(CountOccurrences(text, "\ndiff --git ") + (text.StartsWith("diff --git ", StringComparison.Ordinal) ? 1 : 0), files.Count);
        var hunkHeaders = text.Split('\n').Count(l => l.StartsWith("@@ ", StringComparison.Ordinal));
        Assert.Equal(hunkHeaders, files.Sum(f => f.Hunks.Count));

        foreach (var hunk in files.SelectMany(f => f.Hunks))
        {
            var right = hunk.Lines.Where(l => l.Side == DiffSides.Right).Select(l => l.NewLine).ToList();
            var left = hunk.Lines.Where(l => l.Kind != DiffLineKind.Added).Select(l => l.OldLine).ToList();
            Assert.Equal(hunk.NewCount, right.Count);
            Assert.Equal(hunk.OldCount, left.Count);
            Assert.Equal(Enumerable.Range(hunk.NewStart, hunk.NewCount), right);
            Assert.Equal(Enumerable.Range(hunk.OldStart, hunk.OldCount), left);
        }
    }

    [Theory]
    [MemberData(nameof(FixtureDiffs))]
    public void Parse_fixture_line_texts_rebuild_the_diff_body(string name)
    {
        // Every content line of the fixture, in order, is one parsed line with its prefix removed.
        var text = TestPaths.ReadFixture(Path.Combine("diffs", name));
        var expected = new List<string>();
        var inHunk = false;
        foreach (var line in text.Split('\n'))
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
                expected.Add(line);
            }
        }

        var parsed = DiffParser.Parse(text).SelectMany(f => f.Hunks).SelectMany(h => h.Lines)
            .Select(l => (l.Kind switch { DiffLineKind.Added => "+", DiffLineKind.Removed => "-", _ => " " }) + l.Text)
            .ToList();
        Assert.Equal(expected, parsed);
    }

    [Fact]
    public void Parse_reads_new_text_file_and_binary_file()
    {
        var files = DiffParser.Parse(TestPaths.ReadFixture("diffs/new-files-text-and-binary.diff"));

        var sponsors = Assert.Single(files, f => f.Path == "doc/sponsors.md");
        Assert.Equal(DiffFileStatus.Added, sponsors.Status);
        Assert.Null(sponsors.PreviousPath);
        Assert.Equal("## Sponsors", sponsors.Hunks[0].Lines[0].Text);
        Assert.All(sponsors.Hunks[0].Lines, l => Assert.Equal(DiffLineKind.Added, l.Kind));

        var logo = Assert.Single(files, f => f.Path == "doc/sponsors/warp-logo.png");
        Assert.True(logo.IsBinary);
        Assert.Equal(DiffFileStatus.Added, logo.Status);
        Assert.Empty(logo.Hunks);

        var readme = Assert.Single(files, f => f.Path == "README.md");
        Assert.Equal(DiffFileStatus.Modified, readme.Status);
        Assert.Equal(0, readme.HunkOf(DiffSides.Right, 13));
        Assert.Equal("### Sponsors", readme.Find(DiffSides.Right, 13)?.Text);
    }

    [Fact]
    public void Parse_reads_deleted_file_as_removed_lines_on_the_left()
    {
        var files = DiffParser.Parse(TestPaths.ReadFixture("diffs/deleted-file.diff"));

        var deleted = files[0];
        Assert.Equal("src/timer/internal.rs", deleted.Path);
        Assert.Equal(DiffFileStatus.Removed, deleted.Status);
        Assert.All(deleted.Hunks.SelectMany(h => h.Lines), l => Assert.Equal(DiffSides.Left, l.Side));
        Assert.Equal("use crate::units::Second;", deleted.Find(DiffSides.Left, 1)?.Text);
        Assert.Equal(-1, deleted.HunkOf(DiffSides.Right, 1));
        Assert.Equal(4, files.Count);
    }

    [Fact]
    public void Parse_reads_rename_with_previous_path()
    {
        var files = DiffParser.Parse(TestPaths.ReadFixture("diffs/rename-with-changes.diff"));

        var renamed = Assert.Single(files, f => f.Status == DiffFileStatus.Renamed);
        Assert.Equal("src/min_max.rs", renamed.Path);
        Assert.Equal("src/internal.rs", renamed.PreviousPath);
        Assert.Equal("use crate::units::Second;", renamed.Find(DiffSides.Left, 3)?.Text);
        Assert.Equal("/// A max function for f64's without NaNs", renamed.Find(DiffSides.Right, 3)?.Text);
    }

    [Fact]
    public void Parse_skips_no_newline_marker_and_keeps_numbering()
    {
        var file = Assert.Single(DiffParser.Parse(TestPaths.ReadFixture("diffs/no-newline-at-eof.diff")));

        var last = file.Hunks[1];
        Assert.Equal(4, last.Lines.Count(l => l.Side == DiffSides.Right));
        Assert.Equal("    print(\"The two benchmarks are almost the same.\")", file.Find(DiffSides.Left, 28)?.Text);
        Assert.Equal("    print(\"The two benchmarks are almost the same.\")", file.Find(DiffSides.Right, 33)?.Text);
        Assert.DoesNotContain(file.Hunks.SelectMany(h => h.Lines), l => l.Text.Contains("No newline", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_treats_lines_starting_with_dashes_and_pluses_inside_a_hunk_as_content()
    {
        const string diff =
            "diff --git a/notes.md b/notes.md\n" +
            "index 1111111..2222222 100644\n" +
            "--- a/notes.md\n" +
            "+++ b/notes.md\n" +
            "@@ -1,3 +1,3 @@\n" +
            " title\n" +
            "--- old rule\n" +
            "+++ new rule\n" +
            " end\n" +
            "diff --git a/b.txt b/b.txt\n" +
            "--- a/b.txt\n" +
            "+++ b/b.txt\n" +
            "@@ -1 +1 @@\n" +
            "-x\n" +
            "+y\n";

        var files = DiffParser.Parse(diff);

        Assert.Equal(2, files.Count);
        var notes = files[0];
        Assert.Equal("-- old rule", notes.Find(DiffSides.Left, 2)?.Text);
        Assert.Equal("++ new rule", notes.Find(DiffSides.Right, 2)?.Text);
        Assert.Equal("end", notes.Find(DiffSides.Right, 3)?.Text);
        Assert.Equal("y", files[1].Find(DiffSides.Right, 1)?.Text);
    }

    [Fact]
    public void Parse_reads_crlf_diff_and_empty_context_lines()
    {
        const string diff =
            "diff --git a/w.txt b/w.txt\r\n" +
            "--- a/w.txt\r\n" +
            "+++ b/w.txt\r\n" +
            "@@ -1,4 +1,4 @@\r\n" +
            " one\r\n" +
            "\r\n" +
            "-three\r\n" +
            "+THREE\r\n" +
            "\n" +
            "\\ No newline at end of file\r\n";

        var file = Assert.Single(DiffParser.Parse(diff));

        Assert.Equal(["one", "", "THREE", ""], file.Hunks[0].Lines.Where(l => l.Side == DiffSides.Right).Select(l => l.Text));
        Assert.Equal(4, file.Hunks[0].Lines.Last().NewLine);
        Assert.Equal("three", file.Find(DiffSides.Left, 3)?.Text);
    }

    [Fact]
    public void Parse_reads_mode_only_change_as_modified_without_hunks()
    {
        const string diff =
            "diff --git a/run.sh b/run.sh\n" +
            "old mode 100644\n" +
            "new mode 100755\n" +
            "diff --git \"a/caf\\303\\251 menu.txt\" \"b/caf\\303\\251 menu.txt\"\n" +
            "new file mode 100644\n" +
            "index 0000000..1111111\n" +
            "--- /dev/null\n" +
            "+++ \"b/caf\\303\\251 menu.txt\"\n" +
            "@@ -0,0 +1 @@\n" +
            "+espresso\n";

        var files = DiffParser.Parse(diff);

        Assert.Equal(2, files.Count);
        Assert.Equal("run.sh", files[0].Path);
        Assert.True(files[0].ModeChanged);
        Assert.Empty(files[0].Hunks);
        Assert.Equal(DiffFileStatus.Modified, files[0].Status);
        Assert.Equal("café menu.txt", files[1].Path);
        Assert.Equal(DiffFileStatus.Added, files[1].Status);
    }

    [Fact]
    public void ParseHunks_reads_a_github_patch_without_file_header()
    {
        var hunks = DiffParser.ParseHunks("@@ -1,2 +1,3 @@\n a\n+b\n c\n@@ -10 +11,0 @@ fn main\n-gone");

        Assert.Equal(2, hunks.Count);
        Assert.Equal(1, hunks[1].Index);
        Assert.Equal(DiffLineKind.Removed, Assert.Single(hunks[1].Lines).Kind);
        Assert.Equal(10, hunks[1].Lines[0].OldLine);
    }

    [Theory]
    [InlineData("@@ -1,2 +1,2 @@\n a\n")]                       // hunk shorter than promised
    [InlineData("@@ -1 +1 @@\n+a\n+b\n")]                       // more added lines than promised
    [InlineData("@@ -x +1 @@\n+a\n")]                          // malformed header
    [InlineData("not a patch\n")]
    public void ParseHunks_rejects_malformed_patches(string patch)
    {
        Assert.Throws<DiffFormatException>(() => DiffParser.ParseHunks(patch));
    }

    private static int CountOccurrences(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
