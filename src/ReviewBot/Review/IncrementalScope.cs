namespace ReviewBot.Review;

// An incremental review shows the model the changes since the last reviewed commit (the compare
// API's files between that commit and head). When the author merged the base branch in between,
// those files also carry the base branch's changes, which are not part of the pull request: only
// hunks that still belong to the pull request's own diff at head are kept.
internal static class IncrementalScope
{
    public static List<DiffFile> Restrict(IReadOnlyList<DiffFile> incremental, IReadOnlyDictionary<string, DiffFile> full)
    {
        var kept = new List<DiffFile>(incremental.Count);
        foreach (var file in incremental)
        {
            if (!full.TryGetValue(file.Path, out var prFile))
            {
                continue;
            }

            if (file.Hunks.Count == 0)
            {
                // Binary, withheld or deleted: keep it so the filter reports it.
                kept.Add(file);
                continue;
            }

            HashSet<string>? removedInPr = null;
            var hunks = new List<DiffHunk>();
            foreach (var hunk in file.Hunks)
            {
                var belongs = false;
                foreach (var line in hunk.Lines)
                {
                    if (line.Kind == DiffLineKind.Added)
                    {
                        // Head numbering is the same in both diffs, and the line must be new in the PR too.
                        belongs = prFile.Find(DiffSides.Right, line.NewLine) is { Kind: DiffLineKind.Added } same && same.Text == line.Text;
                    }
                    else if (line.Kind == DiffLineKind.Removed)
                    {
                        removedInPr ??= prFile.Hunks.SelectMany(h => h.Lines).Where(l => l.Kind == DiffLineKind.Removed).Select(l => l.Text).ToHashSet(StringComparer.Ordinal);
                        belongs = removedInPr.Contains(line.Text);
                    }

                    if (belongs)
                    {
                        break;
                    }
                }

                if (belongs)
                {
                    hunks.Add(hunk with { Index = hunks.Count });
                }
            }

            if (hunks.Count > 0)
            {
                kept.Add(new DiffFile
                {
                    Path = file.Path,
                    PreviousPath = file.PreviousPath,
                    Status = file.Status,
                    IsBinary = file.IsBinary,
                    ModeChanged = file.ModeChanged,
                    PatchMissing = file.PatchMissing,
                    Hunks = hunks,
                });
            }
        }

        return kept;
    }
}
