using System.Text;

namespace ReviewBot.Review;

// A finding that could not be placed on a diff line; it goes into the review body under its file.
internal sealed record UnanchoredNote(string Path, int Line, string Side, string Body, string Reason);

internal sealed record AnchorResult(IReadOnlyList<InlineComment> Comments, IReadOnlyList<UnanchoredNote> Unanchored);

// Checks every finding against the commentable targets of the pull request's full diff at head
// before anything is sent: GitHub answers a comment outside the diff, or a range that leaves its
// hunk, with 422 and rejects the whole review ("Pull request review thread line must be part of
// the diff", create-review, https://docs.github.com/en/rest/pulls/reviews#create-a-review-for-a-pull-request).
// Nothing is dropped: a finding that cannot be anchored becomes a note in the review body.
internal static class Anchoring
{
    public static AnchorResult Anchor(
        IEnumerable<ModelComment> findings,
        IReadOnlyDictionary<string, DiffFile> fullDiff,
        IReadOnlyDictionary<string, DiffFile>? shownDiff = null)
    {
        var pending = new Dictionary<(string Path, string Side, int Line), Pending>();
        var order = new List<Pending>();
        var unanchored = new List<UnanchoredNote>();

        foreach (var finding in findings)
        {
            var path = (finding.Path ?? string.Empty).Trim().TrimStart('/');
            var body = (finding.Body ?? string.Empty).Trim();
            var suggestion = finding.Suggestion;
            if (body.Length == 0 && string.IsNullOrEmpty(suggestion))
            {
                continue;
            }

            if (body.Length == 0)
            {
                body = "Suggested change:";
            }

            var side = string.Equals(finding.Side, DiffSides.Left, StringComparison.OrdinalIgnoreCase) ? DiffSides.Left : DiffSides.Right;
            var line = finding.Line;
            var startLine = finding.StartLine;

            if (!fullDiff.TryGetValue(path, out var file))
            {
                unanchored.Add(Note(path, line, side, body, suggestion, "the file is not part of this pull request's diff"));
                continue;
            }

            if (shownDiff is not null && side == DiffSides.Left)
            {
                // In an incremental review the model saw old-side numbers of the previously reviewed
                // commit, not of the pull request's base; a removed line can only be placed when its
                // text identifies one removed line of the full diff.
                var translated = TranslateLeft(shownDiff, file, path, line);
                if (translated is null)
                {
                    unanchored.Add(Note(path, line, side, body, suggestion, "the removed line cannot be matched to the full diff"));
                    continue;
                }

                line = translated.Value;
                startLine = null;
            }

            var hunk = file.HunkOf(side, line);
            if (hunk < 0)
            {
                unanchored.Add(Note(path, line, side, body, suggestion, "the line is not part of the diff"));
                continue;
            }

            var rangeValid = true;
            if (startLine is { } start && start != line)
            {
                rangeValid = start < line && file.HunkOf(side, start) == hunk && (side == DiffSides.Right || AllRemoved(file, hunk, start, line));
                startLine = rangeValid ? start : null;
            }
            else
            {
                startLine = null;
            }

            var key = (path, side, line);
            if (!pending.TryGetValue(key, out var target))
            {
                target = new Pending(path, side, line);
                pending[key] = target;
                order.Add(target);
            }

            target.Add(body, startLine, suggestion, rangeValid && side == DiffSides.Right);
        }

        var comments = order.Select(p => p.ToComment()).ToList();
        return new AnchorResult(comments, unanchored);
    }

    // Suggestion text as a GitHub suggestion block, fenced longer than any backtick run inside it.
    // https://docs.github.com/en/pull-requests/collaborating-with-pull-requests/reviewing-changes-in-pull-requests/commenting-on-a-pull-request#adding-line-comments-to-a-pull-request
    public static string Fence(string info, string text)
    {
        var longest = 0;
        var run = 0;
        foreach (var c in text)
        {
            run = c == '`' ? run + 1 : 0;
            longest = Math.Max(longest, run);
        }

        var fence = new string('`', Math.Max(3, longest + 1));
        var content = text.EndsWith('\n') ? text : text + "\n";
        return $"{fence}{info}\n{content}{fence}";
    }

    private static bool AllRemoved(DiffFile file, int hunk, int start, int end)
    {
        for (var l = start; l <= end; l++)
        {
            if (file.HunkOf(DiffSides.Left, l) != hunk)
            {
                return false;
            }
        }

        return true;
    }

    private static int? TranslateLeft(IReadOnlyDictionary<string, DiffFile> shown, DiffFile full, string path, int line)
    {
        if (!shown.TryGetValue(path, out var shownFile) || shownFile.Find(DiffSides.Left, line) is not { } shownLine)
        {
            return null;
        }

        int? match = null;
        foreach (var hunk in full.Hunks)
        {
            foreach (var l in hunk.Lines)
            {
                if (l.Kind == DiffLineKind.Removed && l.Text == shownLine.Text)
                {
                    if (match is not null)
                    {
                        return null;
                    }

                    match = l.OldLine;
                }
            }
        }

        return match;
    }

    private static UnanchoredNote Note(string path, int line, string side, string body, string? suggestion, string reason)
    {
        if (!string.IsNullOrEmpty(suggestion))
        {
            body += "\n\nSuggested replacement:\n" + Fence(string.Empty, suggestion);
        }

        return new UnanchoredNote(path.Length == 0 ? "(no file)" : path, line, side, body, reason);
    }

    private sealed class Pending(string path, string side, int line)
    {
        private readonly List<string> bodies = [];
        private readonly List<string> extraSuggestions = [];
        private int? startLine;
        private bool first = true;
        private string? suggestion;
        private int? suggestionStart;

        public void Add(string body, int? start, string? newSuggestion, bool suggestionAllowed)
        {
            if (!bodies.Contains(body, StringComparer.Ordinal))
            {
                bodies.Add(body);
            }

            // Merged findings cover the widest range any of them asked for (all in one hunk).
            startLine = first ? start : Min(startLine, start);
            first = false;

            if (string.IsNullOrEmpty(newSuggestion))
            {
                return;
            }

            if (suggestionAllowed && suggestion is null)
            {
                suggestion = newSuggestion;
                suggestionStart = start;
            }
            else if (newSuggestion != suggestion && !extraSuggestions.Contains(newSuggestion, StringComparer.Ordinal))
            {
                extraSuggestions.Add(newSuggestion);
            }
        }

        public InlineComment ToComment()
        {
            var text = new StringBuilder(string.Join("\n\n---\n\n", bodies));
            if (suggestion is not null)
            {
                // A suggestion replaces exactly the commented range; after a merge widened the
                // range it would replace the wrong lines, so it is shown as plain code instead.
                text.Append("\n\n").Append(suggestionStart == startLine ? Fence("suggestion", suggestion) : "Suggested replacement:\n" + Fence(string.Empty, suggestion));
            }

            foreach (var extra in extraSuggestions)
            {
                text.Append("\n\nSuggested replacement:\n").Append(Fence(string.Empty, extra));
            }

            var body = text.Length <= ReviewBody.BodyLimit ? text.ToString() : text.ToString(0, ReviewBody.BodyLimit - 20) + "\n\n…(cut here)";
            return new InlineComment(path, line, side, startLine, startLine is null ? null : side, body);
        }

        private static int? Min(int? a, int? b) => a is null || b is null ? (a ?? b) : Math.Min(a.Value, b.Value);
    }
}
