using System.Globalization;
using System.Text;

namespace ReviewBot.Review;

// The review body and the check run summary (CONTRACT §4): the summary, the findings that could
// not be anchored (per file), and what was not reviewed and why. The caller appends the marker.
internal static class ReviewBody
{
    // GitHub rejects a review or comment body over 65,536 characters with 422; the caller still
    // appends its marker, so the body stays well below.
    public const int BodyLimit = 60_000;

    public static string Compose(
        ReviewInput input,
        IReadOnlyList<(ReviewChunk Chunk, string Summary)> summaries,
        int chunkCount,
        IReadOnlyList<UnanchoredNote> unanchored,
        IReadOnlyList<SkippedFile> skipped)
    {
        var body = new StringBuilder();
        body.Append("## ReviewBot review\n\n");
        if (!string.IsNullOrWhiteSpace(input.CoveredCommitsNote))
        {
            body.Append('_').Append(input.CoveredCommitsNote.Trim()).Append("_\n\n");
        }

        if (summaries.Count == 0)
        {
            body.Append("Nothing in this pull request could be reviewed.\n\n");
        }
        else if (summaries.Count == 1 && chunkCount == 1)
        {
            body.Append(summaries[0].Summary.Trim()).Append("\n\n");
        }
        else
        {
            body.Append(CultureInfo.InvariantCulture, $"This pull request was reviewed in {chunkCount} parts.\n\n");
            foreach (var (chunk, summary) in summaries.OrderBy(s => s.Chunk.Index))
            {
                body.Append(CultureInfo.InvariantCulture, $"**Part {chunk.Index + 1}** ({string.Join(", ", chunk.Paths.Select(Code))}): ");
                body.Append(summary.Trim()).Append("\n\n");
            }
        }

        if (unanchored.Count > 0)
        {
            body.Append("### Notes not attached to a line\n\n");
            foreach (var file in unanchored.GroupBy(n => n.Path, StringComparer.Ordinal))
            {
                body.Append(Code(file.Key)).Append("\n\n");
                foreach (var note in file)
                {
                    var where = note.Line > 0 ? $"line {note.Line}{(note.Side == DiffSides.Left ? " (old)" : string.Empty)}" : "file";
                    body.Append("- **").Append(where).Append("**: ").Append(Indent(note.Body.Trim())).Append('\n');
                }

                body.Append('\n');
            }
        }

        if (skipped.Count > 0)
        {
            body.Append("### Not reviewed\n\n");
            AppendSkipped(body, skipped, Math.Max(2_000, BodyLimit - body.Length - 500));
        }

        var text = body.ToString().TrimEnd();
        return (text.Length <= BodyLimit ? text : text[..(BodyLimit - 80)] + "\n\n…(cut here: the review was too long for one GitHub review body)") + "\n";
    }

    public static string CheckRunSummary(ReviewInput input, int reviewedFiles, int chunks, int comments, int unanchored, IReadOnlyList<SkippedFile> skipped, int limit)
    {
        var text = new StringBuilder();
        if (chunks > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"Reviewed {reviewedFiles} file(s)");
            text.Append(chunks > 1 ? $" in {chunks} parts" : string.Empty);
            text.Append(CultureInfo.InvariantCulture, $": {comments} inline comment(s), {unanchored} note(s) in the review body.\n\n");
        }
        else
        {
            text.Append("Nothing to review.\n\n");
        }

        if (!string.IsNullOrWhiteSpace(input.CoveredCommitsNote))
        {
            text.Append(input.CoveredCommitsNote.Trim()).Append("\n\n");
        }

        if (skipped.Count > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"**Not reviewed** ({skipped.Count} file(s)):\n\n");
            // The check run's limit is in UTF-8 bytes (GitHubClient.MaxCheckRunOutputBytes): so is this budget,
            // so that non-ASCII paths end the list with "…and N more" instead of being cut mid-line.
            AppendSkipped(text, skipped, limit - Encoding.UTF8.GetByteCount(text.ToString()) - 200, Encoding.UTF8.GetByteCount);
        }

        return Truncate(text.ToString().TrimEnd(), limit);
    }

    public static string Truncate(string text, int limit) => text.Length <= limit ? text : text[..(limit - 1)] + "…";

    private static void AppendSkipped(StringBuilder text, IReadOnlyList<SkippedFile> skipped, int budget, Func<string, int>? measure = null)
    {
        var used = 0;
        for (var i = 0; i < skipped.Count; i++)
        {
            var line = $"- {Code(skipped[i].Path)}: {skipped[i].Reason.ToWireName()} ({skipped[i].Detail})\n";
            var size = measure?.Invoke(line) ?? line.Length;
            if (used + size > budget)
            {
                text.Append(CultureInfo.InvariantCulture, $"- …and {skipped.Count - i} more\n");
                return;
            }

            used += size;
            text.Append(line);
        }
    }

    private static string Code(string path) => "`" + path.Replace("`", "'", StringComparison.Ordinal) + "`";

    private static string Indent(string text) => text.Replace("\n", "\n  ", StringComparison.Ordinal);
}
