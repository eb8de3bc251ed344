namespace ReviewBot.Review;

// The parsed form of a unified diff, and the exact set of lines a review comment may target.
// GitHub accepts a review comment only on a line that appears in the diff: RIGHT for added and
// context lines (new-file numbering), LEFT for removed lines (old-file numbering); a multi-line
// comment must stay inside one hunk. "Create a review for a pull request", comments[].line/side/
// start_line: https://docs.github.com/en/rest/pulls/reviews#create-a-review-for-a-pull-request
internal enum DiffFileStatus
{
    Added,
    Modified,
    Removed,
    Renamed,
}

internal enum DiffLineKind : byte
{
    Context,
    Added,
    Removed,
}

internal static class DiffSides
{
    public const string Right = "RIGHT";
    public const string Left = "LEFT";
}

internal readonly record struct DiffLine(DiffLineKind Kind, int OldLine, int NewLine, string Text)
{
    // The side and number a comment on this line uses (CONTRACT §6).
    public string Side => Kind == DiffLineKind.Removed ? DiffSides.Left : DiffSides.Right;

    public int Number => Kind == DiffLineKind.Removed ? OldLine : NewLine;
}

internal sealed record DiffHunk(int Index, int OldStart, int OldCount, int NewStart, int NewCount, string Header, IReadOnlyList<DiffLine> Lines);

internal sealed class DiffFile
{
    // Built on first use; one reference assignment so concurrent readers see either nothing or all of it.
    private TargetIndex? targets;

    public required string Path { get; init; }
    public string? PreviousPath { get; init; }
    public required DiffFileStatus Status { get; init; }
    public bool IsBinary { get; init; }

    // The file's mode changed (e.g. 100644 -> 100755); with no hunks that is all that changed.
    public bool ModeChanged { get; init; }

    // True when the diff carried no patch text for a text file (GitHub withholds large patches).
    public bool PatchMissing { get; init; }

    public required IReadOnlyList<DiffHunk> Hunks { get; init; }

    public int LineCount
    {
        get
        {
            var n = 0;
            foreach (var h in Hunks)
            {
                n += h.Lines.Count;
            }

            return n;
        }
    }

    // The hunk index of a commentable target, or -1 when (side, line) is not in this file's diff.
    public int HunkOf(string side, int line)
    {
        var index = targets ??= TargetIndex.Build(Hunks);
        var map = side == DiffSides.Left ? index.Left : index.Right;
        return map.TryGetValue(line, out var hunk) ? hunk : -1;
    }

    // The text of a commentable target, or null when it is not in the diff.
    public DiffLine? Find(string side, int line)
    {
        var hunk = HunkOf(side, line);
        if (hunk < 0)
        {
            return null;
        }

        foreach (var l in Hunks[hunk].Lines)
        {
            if (l.Side == side && l.Number == line)
            {
                return l;
            }
        }

        return null;
    }
}

internal sealed record TargetIndex(Dictionary<int, int> Right, Dictionary<int, int> Left)
{
    public static TargetIndex Build(IReadOnlyList<DiffHunk> hunks)
    {
        var right = new Dictionary<int, int>();
        var left = new Dictionary<int, int>();
        foreach (var hunk in hunks)
        {
            foreach (var l in hunk.Lines)
            {
                if (l.Kind == DiffLineKind.Removed)
                {
                    left[l.OldLine] = hunk.Index;
                }
                else
                {
                    right[l.NewLine] = hunk.Index;
                }
            }
        }

        return new TargetIndex(right, left);
    }
}

internal sealed class DiffFormatException(string message) : Exception(message);
