using System.Text;
using BenchmarkDotNet.Attributes;
using ReviewBot.Review;

namespace ReviewBot.Benchmarks;

// Goal of issue 4: parse a 20,000-line diff (GitHub's maximum for a pull request diff) in <= 20 ms.
// Input: the big hyperfine release diff of ../shared/fixtures/diffs, repeated with renamed paths
// until it has at least 20,000 lines.
[MemoryDiagnoser]
public class DiffParserBenchmarks
{
    private string diff = string.Empty;
    private string[] patches = [];

    public int Lines { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        var fixture = File.ReadAllText(FindFixture("big-release-v1.16.1-to-v1.17.0.diff"));
        var builder = new StringBuilder();
        var copy = 0;
        while (Lines < 20_000)
        {
            var renamed = fixture.Replace(" a/", $" a/copy{copy}/", StringComparison.Ordinal).Replace(" b/", $" b/copy{copy}/", StringComparison.Ordinal);
            builder.Append(renamed);
            Lines += renamed.Count(c => c == '\n');
            copy++;
        }

        diff = builder.ToString();

        // The same content as GitHub's files API delivers it: one hunk-only patch per file.
        patches = diff.Split("diff --git ", StringSplitOptions.RemoveEmptyEntries)
            .Select(section => section.IndexOf("\n@@ ", StringComparison.Ordinal) is var at and >= 0 ? section[(at + 1)..] : string.Empty)
            .ToArray();
        Console.WriteLine($"// diff: {Lines} lines, {diff.Length} characters, {patches.Length} files");
    }

    [Benchmark(Baseline = true)]
    public int ParseGitDiff20kLines() => DiffParser.Parse(diff).Sum(f => f.LineCount);

    [Benchmark]
    public int ParseGitHubPatches20kLines()
    {
        var n = 0;
        foreach (var patch in patches)
        {
            n += DiffParser.ParseHunks(patch).Count;
        }

        return n;
    }

    [Benchmark]
    public int ParseAndIndexTargets20kLines()
    {
        var n = 0;
        foreach (var file in DiffParser.Parse(diff))
        {
            n += file.HunkOf(DiffSides.Right, 1) + file.HunkOf(DiffSides.Left, 1);
        }

        return n;
    }

    private static string FindFixture(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "..", "shared", "fixtures", "diffs", name);
            if (File.Exists(Path.Combine(dir.FullName, "ReviewBot.slnx")) && File.Exists(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        throw new FileNotFoundException("fixture not found above " + AppContext.BaseDirectory, name);
    }
}
