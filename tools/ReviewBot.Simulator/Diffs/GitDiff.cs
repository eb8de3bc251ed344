using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace ReviewBot.Simulator.Diffs;

// One file of a pull request as GitHub's "List pull requests files" returns it
// (docs.github.com/en/rest/pulls/pulls#list-pull-requests-files): `patch` is the file's hunks
// without the `diff --git`/`index`/`---`/`+++` header lines and without a trailing newline; binary
// files have no patch.
public sealed record DiffFile(
    string Filename,
    string? PreviousFilename,
    string Status,
    string? Patch,
    int Additions,
    int Deletions,
    IReadOnlyDictionary<(string Side, int Line), int> CommentableLines)
{
    public int Changes => Additions + Deletions;

    // GitHub's rule for a review comment (docs.github.com/en/rest/pulls/comments, "line": the line of
    // the blob in the diff; "start_line" for multi-line comments): both ends must be lines of one hunk
    // of this file's diff, on their sides, start before end. Anything else is "Line could not be resolved".
    public string? Validate(int? line, string? side, int? startLine, string? startSide)
    {
        if (line is not { } end)
        {
            return "Line could not be resolved";
        }

        side ??= "RIGHT";
        if (!CommentableLines.TryGetValue((side, end), out var hunk))
        {
            return "Line could not be resolved";
        }

        if (startLine is { } start)
        {
            startSide ??= side;
            if (!CommentableLines.TryGetValue((startSide, start), out var startHunk) || startHunk != hunk)
            {
                return "Start line could not be resolved";
            }

            if (startSide == side && start >= end)
            {
                return "start_line must precede the end line.";
            }
        }

        return null;
    }
}

// Splits the output of `git diff` into per-file entries the way GitHub presents a pull request's
// files. Written independently of ReviewBot's DiffParser on purpose: the simulator is the judge of
// which lines a review comment may target, so it must not share the code it judges.
public static partial class GitDiff
{
    public static IReadOnlyList<DiffFile> Split(string diff)
    {
        var files = new List<DiffFile>();
        var lines = diff.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var i = 0;
        while (i < lines.Length)
        {
            if (!lines[i].StartsWith("diff --git ", StringComparison.Ordinal))
            {
                i++;
                continue;
            }

            var start = i++;
            while (i < lines.Length && !lines[i].StartsWith("diff --git ", StringComparison.Ordinal))
            {
                i++;
            }

            files.Add(ParseFile(lines.AsSpan(start, i - start)));
        }

        return files;
    }

    private static DiffFile ParseFile(ReadOnlySpan<string> section)
    {
        var header = GitHeader().Match(section[0]);
        string? oldPath = header.Success ? header.Groups[1].Value : null;
        string? newPath = header.Success ? header.Groups[2].Value : null;
        var status = "modified";
        string? renameFrom = null;
        var binary = false;
        var hunkStart = -1;

        for (var i = 1; i < section.Length; i++)
        {
            var line = section[i];
            if (line.StartsWith("@@", StringComparison.Ordinal))
            {
                hunkStart = i;
                break;
            }

            if (line.StartsWith("new file mode", StringComparison.Ordinal))
            {
                status = "added";
            }
            else if (line.StartsWith("deleted file mode", StringComparison.Ordinal))
            {
                status = "removed";
            }
            else if (line.StartsWith("rename from ", StringComparison.Ordinal))
            {
                renameFrom = line["rename from ".Length..];
                status = "renamed";
            }
            else if (line.StartsWith("rename to ", StringComparison.Ordinal))
            {
                newPath = line["rename to ".Length..];
            }
            else if (line.StartsWith("--- ", StringComparison.Ordinal) && line != "--- /dev/null")
            {
                oldPath = StripPrefix(line[4..]);
            }
            else if (line.StartsWith("+++ ", StringComparison.Ordinal) && line != "+++ /dev/null")
            {
                newPath = StripPrefix(line[4..]);
            }
            else if (line.StartsWith("Binary files ", StringComparison.Ordinal) || line == "GIT binary patch")
            {
                binary = true;
            }
        }

        var filename = status == "removed" ? oldPath! : newPath ?? oldPath!;
        if (binary || hunkStart < 0)
        {
            return new DiffFile(filename, renameFrom, status, null, 0, 0, new Dictionary<(string, int), int>());
        }

        var patchLines = section[hunkStart..].ToArray().ToList();

        // The section's last element is the empty string after the final newline of the diff.
        while (patchLines.Count > 0 && patchLines[^1].Length == 0)
        {
            patchLines.RemoveAt(patchLines.Count - 1);
        }

        var commentable = new Dictionary<(string, int), int>();
        int additions = 0, deletions = 0, left = 0, right = 0, hunk = -1;
        foreach (var line in patchLines)
        {
            var range = HunkHeader().Match(line);
            if (range.Success)
            {
                hunk++;
                left = int.Parse(range.Groups[1].Value, CultureInfo.InvariantCulture);
                right = int.Parse(range.Groups[2].Value, CultureInfo.InvariantCulture);
                continue;
            }

            switch (line.Length == 0 ? ' ' : line[0])
            {
                case '+':
                    additions++;
                    commentable[("RIGHT", right++)] = hunk;
                    break;
                case '-':
                    deletions++;
                    commentable[("LEFT", left++)] = hunk;
                    break;
                case '\\':
                    break;
                default:
                    // A context line can be commented on from either side; GitHub numbers it on both.
                    commentable[("RIGHT", right++)] = hunk;
                    commentable[("LEFT", left++)] = hunk;
                    break;
            }
        }

        return new DiffFile(filename, renameFrom, status, string.Join('\n', patchLines), additions, deletions, commentable);
    }

    private static string StripPrefix(string path) =>
        path.Length > 2 && path[1] == '/' && path[0] is 'a' or 'b' ? path[2..] : path;

    [GeneratedRegex(@"^diff --git a/(.+) b/(.+)$")]
    private static partial Regex GitHeader();

    [GeneratedRegex(@"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")]
    private static partial Regex HunkHeader();

    // The diffs shipped in Data/ (see Data/SOURCES.md), by file name without extension.
    public static string Load(string name)
    {
        var resource = "diffs/" + (name.EndsWith(".diff", StringComparison.Ordinal) ? name : name + ".diff");
        using var stream = typeof(GitDiff).Assembly.GetManifestResourceStream(resource)
            ?? throw new ArgumentException($"no diff named {name} in Data/diffs", nameof(name));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    public static string LoadData(string name)
    {
        using var stream = typeof(GitDiff).Assembly.GetManifestResourceStream(name)
            ?? throw new ArgumentException($"no data file named {name} in Data/", nameof(name));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    public static IReadOnlyList<string> Names { get; } =
        ["modification-multiple-hunks", "new-files-text-and-binary", "deleted-file", "rename-with-changes", "no-newline-at-eof"];
}
