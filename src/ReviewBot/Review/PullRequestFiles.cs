namespace ReviewBot.Review;

internal static class PullRequestFiles
{
    // GitHub's files API entry -> the parsed diff of that file. GitHub omits `patch` for binary files
    // and for diffs too large to include; with no patch, a known binary extension or a change count
    // of zero on an added/modified file means binary, anything else was withheld for size. A
    // mode-only change has status "changed" and no patch: nothing to review, but not binary.
    // https://docs.github.com/en/rest/pulls/pulls#list-pull-requests-files
    public static DiffFile ToDiffFile(PullRequestFile file)
    {
        var status = file.Status switch
        {
            "added" or "copied" => DiffFileStatus.Added,
            "removed" => DiffFileStatus.Removed,
            "renamed" => DiffFileStatus.Renamed,
            _ => DiffFileStatus.Modified,
        };

        var previous = status == DiffFileStatus.Renamed || file.Status == "copied" ? file.PreviousPath : null;
        if (file.Patch is null)
        {
            var pureRename = status == DiffFileStatus.Renamed && file.Changes == 0;
            var modeOnly = file.Status == "changed" && file.Changes == 0;
            var binary = !pureRename && !modeOnly && file.Status != "unchanged" &&
                (FileFilter.HasBinaryExtension(file.Path) || file.Changes == 0);
            return new DiffFile
            {
                Path = file.Path,
                PreviousPath = previous,
                Status = status,
                IsBinary = binary,
                ModeChanged = modeOnly,
                PatchMissing = !binary && !pureRename && !modeOnly && file.Status != "unchanged" && status != DiffFileStatus.Removed,
                Hunks = [],
            };
        }

        return new DiffFile
        {
            Path = file.Path,
            PreviousPath = previous,
            Status = status,
            Hunks = DiffParser.ParseHunks(file.Patch),
        };
    }
}
