using System.Diagnostics;
using System.Text;
using ReviewBot.Review;

namespace ReviewBot.Tests.Review;

// The parser against real `git diff` output: a throwaway repository with commits that add, modify,
// delete and rename files, change CRLF files and files without a final newline. Every RIGHT line
// must equal the line with that number in the file at the new commit, every LEFT line the line in
// the old file at the old commit.
public sealed class GitDiffParserTests : IDisposable
{
    private readonly string repo = Path.Combine(Path.GetTempPath(), "reviewbot-git-" + Guid.NewGuid().ToString("N"));

    public GitDiffParserTests()
    {
        Directory.CreateDirectory(repo);
        Git("init", "-q", "-b", "main");
        Git("config", "user.email", "test@example.com");
        Git("config", "user.name", "Test");
        Git("config", "core.autocrlf", "false");
    }

    [Fact]
    public void Every_target_of_git_diff_between_commits_matches_the_files_at_those_commits()
    {
        var commits = BuildHistory();

        var checkedLines = 0;
        var sawStatuses = new HashSet<DiffFileStatus>();
        for (var i = 1; i < commits.Count; i++)
        {
            var diff = Git("diff", "--no-color", "--no-ext-diff", "-M", commits[i - 1], commits[i]);
            var files = DiffParser.Parse(diff);
            Assert.NotEmpty(files);

            foreach (var file in files)
            {
                sawStatuses.Add(file.Status);
                var newLines = file.Status == DiffFileStatus.Removed ? [] : FileLines(commits[i], file.Path);
                var oldLines = file.Status == DiffFileStatus.Added ? [] : FileLines(commits[i - 1], file.PreviousPath ?? file.Path);
                foreach (var line in file.Hunks.SelectMany(h => h.Lines))
                {
                    var expected = line.Side == DiffSides.Right ? newLines : oldLines;
                    Assert.True(line.Number >= 1 && line.Number <= expected.Count, $"{file.Path} {line.Side} {line.Number} is outside the file");
                    Assert.Equal(expected[line.Number - 1], line.Text);
                    checkedLines++;
                }

                // The per-file patch GitHub returns is the same text from the first hunk on.
                var patch = ExtractPatch(diff, file.Path);
                if (patch is not null)
                {
                    var hunks = DiffParser.ParseHunks(patch);
                    Assert.Equal(file.Hunks.SelectMany(h => h.Lines), hunks.SelectMany(h => h.Lines));
                }
            }
        }

        Assert.True(checkedLines > 40, $"only {checkedLines} lines checked");
        Assert.Superset(new HashSet<DiffFileStatus> { DiffFileStatus.Added, DiffFileStatus.Modified, DiffFileStatus.Removed, DiffFileStatus.Renamed }, sawStatuses);
    }

    [Fact]
    public void Whole_history_diff_reports_renamed_file_with_previous_path_and_binary_file()
    {
        var commits = BuildHistory();

        var files = DiffParser.Parse(Git("diff", "--no-color", "-M", commits[1], commits[^1]));

        var renamed = Assert.Single(files, f => f.Status == DiffFileStatus.Renamed);
        Assert.Equal("src/renamed.txt", renamed.Path);
        Assert.Equal("src/to-rename.txt", renamed.PreviousPath);
        Assert.Contains(files, f => f.Path == "assets/logo.bin" && f.IsBinary);
        Assert.Contains(files, f => f.Path == "tool.sh" && f.ModeChanged);
    }

    private List<string> BuildHistory()
    {
        var commits = new List<string>();
        var body = string.Join("\n", Enumerable.Range(1, 40).Select(i => $"line {i}")) + "\n";
        Write("src/main.txt", body);
        Write("src/crlf.txt", "alpha\r\nbeta\r\ngamma\r\ndelta\r\n");
        Write("src/noeol.txt", "first\nsecond\nthird");
        Write("src/to-delete.txt", "doomed 1\ndoomed 2\n");
        Write("src/to-rename.txt", string.Join("\n", Enumerable.Range(1, 20).Select(i => $"keep {i}")) + "\n");
        Write("tool.sh", "#!/bin/sh\necho hi\n");
        commits.Add(Commit("initial"));

        // Modify in two places, lines that look like diff headers, and an empty line.
        Write("src/main.txt", body.Replace("line 3\n", "line 3\n-- not a header\n++ nor this\n\n", StringComparison.Ordinal)
            .Replace("line 30\n", "line thirty\n", StringComparison.Ordinal));
        Write("src/crlf.txt", "alpha\r\nBETA\r\ngamma\r\ndelta\r\nepsilon\r\n");
        Write("src/noeol.txt", "first\nsecond changed\nthird\n");
        commits.Add(Commit("modify"));

        File.Delete(Path.Combine(repo, "src/to-delete.txt"));
        Directory.CreateDirectory(Path.Combine(repo, "assets"));
        File.WriteAllBytes(Path.Combine(repo, "assets/logo.bin"), [0, 1, 2, 0, 255, 0, 7]);
        Write("src/added.txt", "new one\nnew two\n");
        commits.Add(Commit("delete and add"));

        Git("mv", "src/to-rename.txt", "src/renamed.txt");
        Write("src/renamed.txt", string.Join("\n", Enumerable.Range(1, 20).Select(i => i == 10 ? "changed 10" : $"keep {i}")) + "\n");
        Write("src/noeol.txt", "first\nsecond changed\nthird\nfourth");
        if (OperatingSystem.IsWindows())
        {
            Git("update-index", "--chmod=+x", "tool.sh");
        }
        else
        {
            File.SetUnixFileMode(Path.Combine(repo, "tool.sh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        commits.Add(Commit("rename, no newline again, mode"));
        return commits;
    }

    private static string? ExtractPatch(string diff, string path)
    {
        var sections = diff.Split("diff --git ", StringSplitOptions.RemoveEmptyEntries);
        foreach (var section in sections)
        {
            if (!section.Contains("b/" + path + "\n", StringComparison.Ordinal))
            {
                continue;
            }

            var hunk = section.IndexOf("\n@@ ", StringComparison.Ordinal);
            return hunk < 0 ? null : section[(hunk + 1)..];
        }

        return null;
    }

    private List<string> FileLines(string commit, string path)
    {
        var text = Git("show", $"{commit}:{path}");
        var lines = text.Split('\n').Select(l => l.EndsWith('\r') ? l[..^1] : l).ToList();
        if (text.EndsWith('\n'))
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines;
    }

    private void Write(string relative, string content)
    {
        var path = Path.Combine(repo, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content, new UTF8Encoding(false));
    }

    private string Commit(string message)
    {
        Git("add", "-A");
        Git("commit", "-q", "-m", message);
        return Git("rev-parse", "HEAD").Trim();
    }

    private string Git(params string[] args)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = repo, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        start.Environment["HOME"] = repo;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"git {string.Join(' ', args)} failed: {error}");
        return output.Result;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(repo, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
