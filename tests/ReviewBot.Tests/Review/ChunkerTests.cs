using ReviewBot.Review;

namespace ReviewBot.Tests.Review;

public sealed class ChunkerTests
{
    [Fact]
    public void Plan_packs_files_into_chunks_under_the_budget_and_keeps_every_file()
    {
        var files = Enumerable.Range(0, 10).Select(i => File($"src/f{i}.cs", hunks: 1, linesPerHunk: 40)).ToList();
        var oneFile = Chunker.EstimateTokens(files[0], files[0].Hunks);

        var plan = Chunker.Plan(files, oneFile * 3, maxChunks: 10);

        Assert.Equal(4, plan.Chunks.Count);
        Assert.All(plan.Chunks, c => Assert.True(c.EstimatedTokens <= oneFile * 3));
        Assert.Equal(files.Select(f => f.Path), plan.Chunks.SelectMany(c => c.Paths));
        Assert.Empty(plan.OverBudget);
    }

    [Fact]
    public void Plan_splits_a_file_larger_than_one_chunk_between_hunks()
    {
        var big = File("src/big.cs", hunks: 6, linesPerHunk: 30);
        var oneHunk = Chunker.EstimateTokens(big, [big.Hunks[0]]);

        var plan = Chunker.Plan([big], oneHunk * 2, maxChunks: 10);

        Assert.True(plan.Chunks.Count >= 3);
        Assert.Equal(big.Hunks, plan.Chunks.SelectMany(c => c.Parts).SelectMany(p => p.Hunks));
        Assert.All(plan.Chunks, c => Assert.True(c.EstimatedTokens <= oneHunk * 2));
    }

    [Fact]
    public void Plan_reports_files_beyond_the_chunk_limit_and_oversized_hunks_as_over_budget()
    {
        var files = Enumerable.Range(0, 5).Select(i => File($"src/f{i}.cs", hunks: 1, linesPerHunk: 40)).ToList();
        var oneFile = Chunker.EstimateTokens(files[0], files[0].Hunks);
        var giant = File("src/giant.cs", hunks: 1, linesPerHunk: 400);

        var plan = Chunker.Plan([.. files, giant], oneFile, maxChunks: 3);

        Assert.Equal(3, plan.Chunks.Count);
        Assert.Equal(["src/f3.cs", "src/f4.cs", "src/giant.cs"], plan.OverBudget.Select(s => s.Path));
        Assert.All(plan.OverBudget, s => Assert.Equal(SkipReason.OverBudget, s.Reason));
    }

    internal static DiffFile File(string path, int hunks, int linesPerHunk)
    {
        var list = new List<DiffHunk>();
        for (var h = 0; h < hunks; h++)
        {
            var start = 1 + (h * (linesPerHunk + 20));
            var lines = Enumerable.Range(0, linesPerHunk)
                .Select(i => new DiffLine(DiffLineKind.Added, 0, start + i, $"    var value{i} = Compute({i}, \"{path}\");"))
                .ToList();
            list.Add(new DiffHunk(h, start, 0, start, linesPerHunk, $"@@ -{start},0 +{start},{linesPerHunk} @@", lines));
        }

        return new DiffFile { Path = path, Status = DiffFileStatus.Modified, Hunks = list };
    }
}
